package dovecot

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// chownTree gives everything under root that is not owned by uid:gid to uid:gid, so
// the daemon's service user can rename and remove what a root import created. Note that
// a hard-linked message file is one inode: the Dovecot tree's name for it changes
// owner too. uid < 0 does nothing.
func chownTree(root string, uid, gid int) error {
	if uid < 0 {
		return nil
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != uid || int(st.Gid) != gid) {
			return os.Lchown(p, uid, gid)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("giving the imported files to uid %d: %w", uid, err)
	}
	return nil
}
