package fileowner

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Of returns the uid and gid that own path (not following a final symlink).
func Of(path string) (uid, gid int, err error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return -1, -1, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1, fmt.Errorf("%s: no owner information", path)
	}
	return int(st.Uid), int(st.Gid), nil
}

// Tree gives root and everything under it that is not owned by uid:gid to uid:gid
// (symlinks themselves, not their targets). A hard-linked file is one inode: its other
// names change owner too. uid < 0 does nothing.
func Tree(root string, uid, gid int) error {
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
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("giving %s to uid %d: %w", root, uid, err)
	}
	return nil
}
