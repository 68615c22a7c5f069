package localsubmit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/postern/postern/store/durable"
	"golang.org/x/sys/unix"
)

// Each user's maildrop files go into a directory of their own, state_dir/maildrop/UID,
// which sendmail makes the first time (mode 2770: the user's, the daemon's group by the
// parent's setgid bit). The user may list and read it, which is how mailq shows them
// their waiting messages while the daemon is down; nobody else may enter it except the
// daemon and its group. The sticky maildrop lets only its owner or the daemon rename or
// remove it, so nobody can take another's away; a directory someone made under
// another's uid is theirs, not that uid's: sendmail of the real uid then writes into the
// maildrop itself as before (delivered, just not listed), and the daemon sets the squat
// aside as NAME.bad so that the name is free again. The daemon opens the directory
// without following symlinks, takes from it only regular files of the directory's owner
// with one link, and delivers nothing from a directory it could not remove them from
// (that would deliver them again at every scan).

// dropDir is a directory pickup files are taken from.
type dropDir interface {
	// open opens a file for reading and returns its owner's uid.
	open(name string) (*os.File, uint32, error)
	remove(name string) error   // durably
	setAside(name string) error // to NAME.bad, never replacing (aside.go)
	path(name string) string
	// isMaildrop is true for files any user may have written.
	isMaildrop() bool
	// owner is the uid that owns name itself (a symlink not followed).
	owner(name string) (uint32, bool)
}

// plainDir is the pickup directory, or the maildrop's own files.
type plainDir struct {
	dir      string
	maildrop bool
}

func (d plainDir) open(name string) (*os.File, uint32, error) {
	return openPickup(d.path(name), d.maildrop)
}
func (d plainDir) remove(name string) error   { return durable.Remove(d.path(name)) }
func (d plainDir) setAside(name string) error { return setAsideAt(unix.AT_FDCWD, d.path(name)) }
func (d plainDir) path(name string) string    { return filepath.Join(d.dir, name) }
func (d plainDir) isMaildrop() bool           { return d.maildrop }
func (d plainDir) owner(name string) (uint32, bool) {
	var st unix.Stat_t
	if unix.Lstat(d.path(name), &st) != nil {
		return 0, false
	}
	return st.Uid, true
}

// userDrop is one user's directory of the maildrop, held open.
type userDrop struct {
	dir  *os.File
	name string
	uid  uint32
}

// errNotTheirs is a maildrop directory that does not belong to the uid it is named after.
var errNotTheirs = errors.New("the directory does not belong to the uid it is named after")

// userDropName is the directory name of uid's maildrop files.
func userDropName(uid uint32) string { return strconv.FormatUint(uint64(uid), 10) }

// uidOfName is the uid a maildrop directory is named after; ok is false for any other
// name (a uid is written without leading zeros).
func uidOfName(name string) (uint32, bool) {
	n, err := strconv.ParseUint(name, 10, 32)
	if err != nil || strconv.FormatUint(n, 10) != name {
		return 0, false
	}
	return uint32(n), true
}

// openUserDrop opens maildrop/NAME, a user's directory, without following a symlink, and
// checks that it belongs to the uid it is named after.
func openUserDrop(maildrop, name string) (*userDrop, error) {
	uid, ok := uidOfName(name)
	if !ok {
		return nil, fmt.Errorf("%s: not a uid", name)
	}
	path := filepath.Join(maildrop, name)
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	d := &userDrop{dir: os.NewFile(uintptr(fd), path), name: path, uid: uid}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		d.close()
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Uid != uid {
		d.close()
		return nil, fmt.Errorf("%s: %w (owner %d)", path, errNotTheirs, st.Uid)
	}
	return d, nil
}

func (d *userDrop) close()  { d.dir.Close() }
func (d *userDrop) fd() int { return int(d.dir.Fd()) }

// names lists at most max entries.
func (d *userDrop) names(max int) ([]string, error) {
	if _, err := d.dir.Seek(0, 0); err != nil {
		return nil, err
	}
	names, err := d.dir.Readdirnames(max)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return names, err
}

// writable says whether the daemon may remove files from the directory.
func (d *userDrop) writable() bool {
	return syscall.Faccessat(d.fd(), ".", 0o3, 0) == nil // W_OK|X_OK
}

func (d *userDrop) open(name string) (*os.File, uint32, error) {
	fd, err := syscall.Openat(d.fd(), name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, &os.PathError{Op: "open", Path: d.path(name), Err: err}
	}
	f, owner, err := checkDropFile(fd, d.path(name))
	if err == nil && owner != d.uid {
		f.Close()
		return nil, 0, fmt.Errorf("the file belongs to uid %d, the directory to %d", owner, d.uid)
	}
	return f, owner, err
}

func (d *userDrop) remove(name string) error {
	if err := syscall.Unlinkat(d.fd(), name); err != nil {
		return &os.PathError{Op: "unlink", Path: d.path(name), Err: err}
	}
	return d.dir.Sync()
}

func (d *userDrop) setAside(name string) error { return setAsideAt(d.fd(), name) }

func (d *userDrop) path(name string) string     { return filepath.Join(d.name, name) }
func (d *userDrop) isMaildrop() bool            { return true }
func (d *userDrop) owner(string) (uint32, bool) { return d.uid, true }

// ownDropDir is the caller's directory in the maildrop, made if missing (mode 2770, the
// maildrop's group); an error when it is not theirs or cannot be made.
func ownDropDir(maildrop string) (string, error) {
	uid := uint32(os.Getuid())
	path := filepath.Join(maildrop, userDropName(uid))
	// The mode must survive the umask: the daemon's group removes what it delivered. A
	// chmod would not do, as it clears the setgid bit for a user outside the group.
	old := syscall.Umask(0)
	err := os.Mkdir(path, 0o770)
	syscall.Umask(old)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	made := err == nil
	if err := checkOwnDropDir(maildrop, uid); err != nil {
		if made {
			os.Remove(path) // a maildrop without its setgid bit: leave nothing behind
		}
		return "", err
	}
	return path, nil
}

// checkOwnDropDir checks that uid's directory of the maildrop is theirs, setgid (its
// files get the daemon's group) and open to the group.
func checkOwnDropDir(maildrop string, uid uint32) error {
	d, err := openUserDrop(maildrop, userDropName(uid))
	if err != nil {
		return err
	}
	defer d.close()
	fi, err := d.dir.Stat()
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSetgid == 0 || fi.Mode().Perm()&0o070 != 0o070 {
		return fmt.Errorf("%s: mode %v, want setgid and 0770", d.name, fi.Mode())
	}
	return nil
}
