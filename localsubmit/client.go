package localsubmit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/postern/postern/store/durable"
)

// ErrNotRunning is returned by Submit when no daemon listens on the socket: the
// caller keeps the message in the pickup directory instead.
var ErrNotRunning = errors.New("the postern daemon is not running")

// ErrNoReply is returned by Submit when the connection broke after the message was
// sent: the daemon may or may not have it. Keeping it in pickup may deliver it twice,
// which is better than losing it.
var ErrNoReply = errors.New("the daemon did not answer")

// Submit hands a message to the daemon over the local submission socket and returns
// its reply, which comes only once the message is on disk.
func Submit(ctx context.Context, socket string, req *Request, msg []byte) (Reply, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return Reply{}, fmt.Errorf("%w (nothing listens on %s)", ErrNotRunning, socket)
		}
		return Reply{}, fmt.Errorf("connecting to %s: %w", socket, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(connTimeout))
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	r := *req
	r.V, r.Size = Version, int64(len(msg))
	line, err := json.Marshal(&r)
	if err != nil {
		return Reply{}, err
	}
	w := bufio.NewWriter(c)
	w.Write(line)
	w.WriteByte('\n')
	w.Write(msg)
	werr := w.Flush()
	// Even when sending failed, the daemon may have answered first (a message over the
	// size limit is refused before it is read): its reply says why.
	answer, err := readBoundedLine(bufio.NewReader(c), maxReplyLine)
	if err != nil {
		if werr != nil {
			err = werr
		}
		return Reply{}, fmt.Errorf("%w: %v", ErrNoReply, err)
	}
	var rep Reply
	if err := json.Unmarshal([]byte(answer), &rep); err != nil {
		return Reply{}, fmt.Errorf("%w: malformed answer: %v", ErrNoReply, err)
	}
	return rep, nil
}

// List asks the daemon for the caller's own messages (OpList: what mailq shows a user
// outside group postern), in the queue and still waiting in pickup or the maildrop.
func List(ctx context.Context, socket string) (Reply, error) {
	return Submit(ctx, socket, &Request{Op: OpList}, nil)
}

// Verify asks the daemon how each of rcpts would be delivered (OpVerify, sendmail -bv);
// nothing is sent.
func Verify(ctx context.Context, socket string, rcpts []string) (Reply, error) {
	return Submit(ctx, socket, &Request{Op: OpVerify, Rcpts: rcpts}, nil)
}

// WritePickup writes a message into the pickup directory durably (a temporary file,
// fsync, rename, fsync of the directory), so that the daemon sees either nothing or the
// whole file. It returns the file's path. The file is made group-readable: the
// directory is the daemon's and its group's, and nobody else can enter it.
func WritePickup(dir string, req *Request, body io.Reader) (string, error) {
	return writeDrop(dir, req, body, durable.SyncDir)
}

// writeDrop writes the request line and the message to a temporary file in dir, mode
// 0640, and renames it into place once it is fsynced; syncDir makes the name durable.
func writeDrop(dir string, req *Request, body io.Reader, syncDir func(string) error) (string, error) {
	f, err := durable.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	defer f.Abort()
	r := *req
	r.V = Version
	line, err := json.Marshal(&r)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		return "", err
	}
	n, err := io.Copy(f, body)
	if err != nil {
		return "", err
	}
	if n != r.Size {
		return "", fmt.Errorf("pickup: message of %d bytes, header says %d", n, r.Size)
	}
	if err := f.Chmod(0o640); err != nil {
		return "", err
	}
	if err := f.Seal(); err != nil {
		return "", err
	}
	path := filepath.Join(dir, pickupName(time.Now()))
	if err := os.Rename(f.Name(), path); err != nil {
		return "", fmt.Errorf("pickup: %w", err)
	}
	return path, syncDir(dir)
}

// pickupName is the final name of a pickup file: time first, so that a directory
// listing is in arrival order.
func pickupName(now time.Time) string {
	var b [12]byte
	rand.Read(b[:])
	return fmt.Sprintf("%016x-%x", now.UnixNano(), b)
}
