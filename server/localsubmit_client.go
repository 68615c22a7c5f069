package server

import (
	"bufio"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/postern/postern/store/durable"
)

// ErrNotRunning is returned by SubmitLocal when no daemon listens on the socket: the
// caller keeps the message in the pickup directory instead.
var ErrNotRunning = errors.New("the postern daemon is not running")

// ErrNoReply is returned by SubmitLocal when the connection broke after the message was
// sent: the daemon may or may not have it. Keeping it in pickup may deliver it twice,
// which is better than losing it.
var ErrNoReply = errors.New("the daemon did not answer")

// SubmitLocal hands a message to the daemon over the local submission socket and returns
// its reply, which comes only once the message is on disk.
func SubmitLocal(ctx context.Context, socket string, req *LocalSubmission, msg []byte) (LocalSubmitReply, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return LocalSubmitReply{}, fmt.Errorf("%w (nothing listens on %s)", ErrNotRunning, socket)
		}
		return LocalSubmitReply{}, fmt.Errorf("connecting to %s: %w", socket, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(localSubmitTimeout))
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	r := *req
	r.V, r.Size = LocalSubmitVersion, int64(len(msg))
	line, err := json.Marshal(&r)
	if err != nil {
		return LocalSubmitReply{}, err
	}
	w := bufio.NewWriter(c)
	w.Write(line)
	w.WriteByte('\n')
	w.Write(msg)
	werr := w.Flush()
	// Even when sending failed, the daemon may have answered first (a message over the
	// size limit is refused before it is read): its reply says why.
	answer, err := readBoundedLine(bufio.NewReader(c), MaxLocalSubmissionLine)
	if err != nil {
		if werr != nil {
			err = werr
		}
		return LocalSubmitReply{}, fmt.Errorf("%w: %v", ErrNoReply, err)
	}
	var rep LocalSubmitReply
	if err := json.Unmarshal([]byte(answer), &rep); err != nil {
		return LocalSubmitReply{}, fmt.Errorf("%w: malformed answer: %v", ErrNoReply, err)
	}
	return rep, nil
}

// WritePickup writes a message into the pickup directory durably (a temporary file,
// fsync, rename, fsync of the directory), so that the daemon sees either nothing or the
// whole file. It returns the file's path. The file is made group-readable: the
// directory is the daemon's and its group's, and nobody else can enter it.
func WritePickup(dir string, req *LocalSubmission, body io.Reader) (string, error) {
	f, err := durable.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	defer f.Abort()
	r := *req
	r.V = LocalSubmitVersion
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
	path := pickupPath(dir, time.Now())
	if err := f.Commit(path); err != nil {
		return "", err
	}
	return path, nil
}
