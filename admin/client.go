package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Client is a connection to the daemon's admin socket. Its methods may be called from
// several goroutines; requests are sent one at a time.
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
	path string
}

// Dial connects to the admin socket. When nothing listens there it returns an *Error
// with CodeNotRunning that says how to start the daemon.
func Dial(ctx context.Context, socketPath string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return nil, dialError(socketPath, err)
	}
	return &Client{conn: c, r: bufio.NewReader(c), path: socketPath}, nil
}

func dialError(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return &Error{
			Code:    CodeNotRunning,
			Message: fmt.Sprintf("the daemon is not running (nothing listens on %s)", path),
			Hint:    "start it with `postern serve --config FILE` or `systemctl start postern`",
			Err:     err,
		}
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &Error{
			Code:    CodePermissionDenied,
			Message: fmt.Sprintf("permission denied opening %s", path),
			Hint:    "run it as root or as a member of the admin group (default: postern)",
			Err:     err,
		}
	default:
		return fmt.Errorf("connecting to the admin socket %s: %w", path, err)
	}
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// call sends one request and decodes the result into result (which may be nil).
func (c *Client) call(ctx context.Context, cmd string, args, result any) error {
	c.mu.Lock()
	defer c.mu.Unlock()

	req := Request{V: ProtocolVersion, Cmd: cmd}
	if args != nil {
		raw, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("encoding %s arguments: %w", cmd, err)
		}
		req.Args = raw
	}
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", cmd, err)
	}

	deadline, _ := ctx.Deadline() // zero = none
	c.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := c.conn.Write(append(line, '\n')); err != nil {
		return c.ioError(ctx, err)
	}
	respLine, err := readLine(c.r, maxResponseSize)
	if err != nil {
		return c.ioError(ctx, err)
	}
	var resp Response
	if err := json.Unmarshal(respLine, &resp); err != nil {
		return fmt.Errorf("malformed answer from the daemon: %w", err)
	}
	if !resp.OK {
		if resp.Error == nil {
			return errors.New("the daemon reported a failure without an error")
		}
		return resp.Error
	}
	if resp.V != ProtocolVersion {
		return Errorf(CodeUnsupportedVersion,
			"use the postern command from the same release as the running daemon",
			"the daemon answered with admin protocol version %d, this command speaks %d", resp.V, ProtocolVersion)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return fmt.Errorf("malformed %s result from the daemon: %w", cmd, err)
	}
	return nil
}

func (c *Client) ioError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("the daemon closed the admin connection on %s", c.path)
	}
	return fmt.Errorf("admin socket %s: %w", c.path, err)
}
