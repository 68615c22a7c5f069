package localsubmit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/postern/postern/store/durable"
)

// The pickup directory (state_dir/pickup) holds messages sendmail could not hand over
// because the daemon was down, and the daemon's own retries of local submissions that
// failed temporarily. Each file is a Request line and the message, written with
// temp file + rename (names starting with "." are temporaries, still being written).
// The daemon delivers them at start and every pickupInterval, one at a time, and
// removes a file only after its delivery succeeded; a crash in between delivers it
// again (at least once, never lost). A file that cannot be read as a submission is
// renamed NAME.bad and left for the operator.

// pickupInterval is how often the directory is scanned.
const pickupInterval = 30 * time.Second

// staleTemp is the age after which a temporary file is a leftover of a crashed
// sendmail and is removed.
const staleTemp = time.Hour

// ensurePickupDir creates state_dir/pickup, mode 2730: the daemon's user and group may
// create files (sendmail run by root or by a member of the group), nobody else may even
// enter; setgid so that files get the daemon's group and it can read them.
func ensurePickupDir(dir string) error {
	if err := os.MkdirAll(dir, 0o730); err != nil {
		return fmt.Errorf("pickup directory: %w", err)
	}
	// Best effort: the setgid bit needs the daemon to be in the directory's group.
	_ = os.Chmod(dir, fs.ModeSetgid|0o730)
	return nil
}

// scanPickup delivers every complete pickup file, oldest first, until stop ends.
func (ls *Server) scanPickup(ctx, stop context.Context) {
	entries, err := os.ReadDir(ls.pickupDir)
	if err != nil {
		ls.log.Error("reading the pickup directory", "dir", ls.pickupDir, "err", err)
		return
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.Type().IsRegular():
		case strings.HasPrefix(name, "."):
			ls.removeStaleTemp(e)
		case strings.HasSuffix(name, ".bad"):
		default:
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if stop.Err() != nil {
			return
		}
		ls.pickupOne(ctx, filepath.Join(ls.pickupDir, name))
	}
}

func (ls *Server) removeStaleTemp(e fs.DirEntry) {
	fi, err := e.Info()
	if err == nil && ls.now().Sub(fi.ModTime()) > staleTemp {
		path := filepath.Join(ls.pickupDir, e.Name())
		ls.log.Warn("removing a pickup file sendmail left half-written", "file", path)
		os.Remove(path)
	}
}

// pickupOne delivers one pickup file and removes it, or leaves it for the next scan.
func (ls *Server) pickupOne(ctx context.Context, path string) {
	log := ls.log.With("file", filepath.Base(path))
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		log.Error("cannot open pickup file", "err", err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		log.Error("cannot stat pickup file", "err", err)
		return
	}
	// The file's owner is the caller: the kernel recorded it, as SO_PEERCRED does for
	// the socket. Only the daemon's own retry files may name another uid.
	uid := uint32(os.Getuid())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		uid = st.Uid
	}
	br := bufio.NewReader(f)
	req, err := readRequest(br)
	if err == nil && (req.Prepared || req.UID != nil) && uid != uint32(os.Getuid()) {
		err = errors.New("a pickup file not written by the daemon claims to be prepared")
	}
	if err != nil {
		ls.setAside(path, log, err)
		return
	}
	if req.UID != nil {
		uid = *req.UID
	}
	msg, err := ls.spool(io.LimitReader(br, req.Size), req.Size)
	if err != nil {
		ls.setAside(path, log, err)
		return
	}
	defer msg.remove()
	rep := ls.submit(ctx, req, uid, msg, true)
	switch {
	case rep.Error != "" && rep.Temporary:
		log.Warn("pickup file not delivered; trying again later", "err", rep.Error)
		return
	case rep.Error != "":
		ls.setAside(path, log, errors.New(rep.Error))
		return
	}
	if err := durable.Remove(path); err != nil {
		log.Error("pickup file delivered but not removed; it will be delivered again", "err", err)
		return
	}
	log.Info("pickup file delivered", "id", rep.ID, "accepted", len(rep.Accepted), "deferred", len(rep.Deferred), "failed", len(rep.Failed))
}

// setAside renames a pickup file that can never be delivered to NAME.bad.
func (ls *Server) setAside(path string, log interface{ Error(string, ...any) }, why error) {
	log.Error("pickup file cannot be delivered; renamed to .bad for the operator", "err", why)
	if err := os.Rename(path, path+".bad"); err != nil {
		log.Error("renaming bad pickup file", "err", err)
	}
}

func (s *Server) scanLoop() {
	defer s.wg.Done()
	t := time.NewTicker(pickupInterval)
	defer t.Stop()
	for {
		s.scanPickup(s.ctx, s.stop)
		select {
		case <-s.stop.Done():
			return
		case <-t.C:
		}
	}
}
