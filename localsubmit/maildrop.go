package localsubmit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/postern/postern/store/durable"
)

// The maildrop directory (state_dir/maildrop) is where sendmail run by any local user
// leaves a message while the daemon is down: Postfix's maildrop, without a setgid
// helper. The directory is the daemon's, mode 3733 (setgid, sticky, rwx-wx-wx):
//
//   - anyone may create a file in it (w and x for others), but nobody except the
//     daemon may list it (no r), so a user cannot learn the names of others' files;
//   - names carry 96 random bits, so they cannot be guessed either;
//   - sticky: only a file's owner (and the daemon, the directory's owner) may rename or
//     remove it, so nobody can take away or replace another user's message;
//   - setgid: every file gets the daemon's group whoever creates it, and sendmail
//     makes it 0640, so the daemon can read it and no other user can;
//   - the file's owner is the sender's uid, recorded by the kernel as SO_PEERCRED
//     records it for the socket; a user can only ever write, and change, her own mail;
//   - sendmail puts its files into the caller's own directory of it (userdrop.go),
//     which she may list, and into the maildrop itself only when that is not hers.
//
// The daemon opens each file without following symlinks and without blocking (a FIFO
// cannot hang it), accepts only a regular file with one link (a hard link to a file
// someone else owns is refused), and never takes a prepared retry or a uid claim from
// here: its own retries go to the private pickup directory. state_dir must be
// searchable by others (mode 0711: enter, not list) for users to reach the directory.

// ensureMaildropDir creates dir (mode 3733) or corrects its mode.
func ensureMaildropDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("maildrop directory: %w", err)
	}
	if err := os.Chmod(dir, fs.ModeSetgid|fs.ModeSticky|0o733); err != nil {
		return fmt.Errorf("maildrop directory: %w", err)
	}
	return nil
}

// WriteMaildrop writes a message into the maildrop directory as the calling user: a
// temporary file (mode 0640, the directory's group), fsynced, renamed into place, in the
// caller's own directory maildrop/UID (see userdrop.go), or in the maildrop itself when
// that is not theirs. The maildrop cannot be fsynced by a caller who may not read it
// (the name of a new own directory, of a file left in the maildrop itself); the daemon
// fsyncs it at its next scan.
func WriteMaildrop(dir string, req *Request, body io.Reader) (string, error) {
	if own, err := ownDropDir(dir); err == nil {
		return writeDrop(own, req, body, durable.SyncDir)
	}
	return writeDrop(dir, req, body, func(dir string) error {
		if err := durable.SyncDir(dir); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
		return nil
	})
}

// openDropFile opens a maildrop file for the daemon and returns it with its owner's uid,
// refusing anything but a regular file with one link.
func openDropFile(path string) (*os.File, uint32, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return checkDropFile(fd, path)
}

// checkDropFile takes fd, a maildrop file opened without following a symlink or
// blocking, when it is a regular file with one link, and returns its owner's uid.
func checkDropFile(fd int, path string) (*os.File, uint32, error) {
	f := os.NewFile(uintptr(fd), path)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, 0, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		f.Close()
		return nil, 0, errors.New("not a regular file")
	case st.Nlink != 1:
		f.Close()
		return nil, 0, fmt.Errorf("the file has %d links; a maildrop file has one", st.Nlink)
	}
	return f, st.Uid, nil
}
