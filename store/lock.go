package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DirLock is the exclusive lock on a state directory: at most one postern daemon works on
// one set of databases, Maildirs and queue.
//
// It is an flock(2) on DIR/postern.lock, held through an open file descriptor, so the
// kernel releases it when the process dies however it dies; a stale file left behind
// never blocks a restart. The holder writes its pid into the file for the error message
// of the next one. flock locks belong to the open file description, so a second LockDir
// in the same process fails too.
type DirLock struct {
	f    *os.File
	path string
}

// LockFileName is the lock file inside the state directory.
const LockFileName = "postern.lock"

// LockDir takes the state-dir lock without waiting. If another process (or another
// LockDir in this one) holds it, the error says so and names the holder's pid.
func LockDir(dir string) (*DirLock, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := "unknown"
			if b, rerr := os.ReadFile(path); rerr == nil && strings.TrimSpace(string(b)) != "" {
				pid = strings.TrimSpace(string(b))
			}
			return nil, fmt.Errorf("another postern is already running on state dir %s (pid %s)", dir, pid)
		}
		return nil, fmt.Errorf("lock state dir %s: %w", dir, err)
	}
	// Only the holder writes, so truncate-then-write cannot clobber another's pid.
	if err := writePid(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock state dir %s: write pid: %w", dir, err)
	}
	return &DirLock{f: f, path: path}, nil
}

func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// Path is the lock file's path.
func (l *DirLock) Path() string { return l.path }

// Close releases the lock. The file stays (removing it would race with a new holder
// that has it open already).
func (l *DirLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
