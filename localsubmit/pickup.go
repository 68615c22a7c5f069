package localsubmit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/postern/postern/store/durable"
	"golang.org/x/sys/unix"
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

// scanBatch is how many directory entries a scan reads at a time: a directory someone
// filled with a million names costs the daemon one batch of memory, not the million.
const scanBatch = 512

// maxRetryDelay bounds the wait between two tries of a retry file.
const maxRetryDelay = 30 * time.Minute

// scan is one pass over pickup and the maildrop.
type scan struct {
	ctx, stop context.Context
	// full tries every retry file written before the scan began, due or not (the scan
	// at start: after a restart that added an owner, what waits goes at once); one
	// written during the scan waits, or a scan could retry its own retries.
	full    bool
	started time.Time // the file system's clock, which a file's mtime is
	// over counts, per uid found over its rate in this scan, the files left for later;
	// the rest of that uid's files are not opened again in this scan.
	over map[uint32]int
}

// scanPickup delivers every complete file of the pickup directory that is due, then of
// the maildrop, oldest first within each batch, until stop ends; a full scan takes every
// retry file written before since.
func (ls *Server) scanPickup(ctx, stop context.Context, full bool, since time.Time) {
	sc := &scan{ctx: ctx, stop: stop, full: full, started: since, over: map[uint32]int{}}
	ls.scanDir(sc, ls.pickupDir, false)
	// What users left while the daemon was down: make the names durable first (they
	// could not fsync a directory they may not read).
	if err := durable.SyncDir(ls.maildropDir); err != nil {
		ls.log.Error("syncing the maildrop directory", "dir", ls.maildropDir, "err", err)
	}
	ls.scanDir(sc, ls.maildropDir, true)
	for uid, n := range sc.over {
		ls.logLimited(ls.log, slog.LevelInfo, uidKey("pickup-rate", uid), "pickup files left for a later scan: their uid is over its rate",
			"uid", uid, "files", n, "limit_per_minute", ls.rate.perMinute)
	}
}

// scanDir reads dir a batch at a time and delivers each batch's files, and in the
// maildrop each user's directory.
func (ls *Server) scanDir(sc *scan, dir string, maildrop bool) {
	d, err := os.Open(dir)
	if err != nil {
		ls.log.Error("reading the pickup directory", "dir", dir, "err", err)
		return
	}
	defer d.Close()
	for sc.stop.Err() == nil {
		entries, err := d.ReadDir(scanBatch)
		ls.scanEntries(sc, dir, maildrop, entries)
		if errors.Is(err, io.EOF) || len(entries) == 0 {
			return
		}
		if err != nil {
			ls.log.Error("reading the pickup directory", "dir", dir, "err", err)
			return
		}
	}
}

// scanEntries delivers one batch of a directory's entries.
func (ls *Server) scanEntries(sc *scan, dir string, maildrop bool, entries []fs.DirEntry) {
	names := make([]string, 0, len(entries))
	var users []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".bad"):
		case strings.HasPrefix(name, "."):
			ls.removeStaleTemp(dir, e)
		case maildrop && e.IsDir():
			users = append(users, name)
		case !e.Type().IsRegular() && !maildrop:
		default:
			// In the maildrop anything else is set aside by pickupOne, with the reason.
			names = append(names, name)
		}
	}
	ls.pickupAll(sc, plainDir{dir: dir, maildrop: maildrop}, names)
	for _, name := range users {
		if sc.stop.Err() != nil {
			return
		}
		ls.scanUserDrop(sc, dir, name)
	}
}

// pickupAll delivers the files names of d, oldest first, until stop ends.
func (ls *Server) pickupAll(sc *scan, d dropDir, names []string) {
	sort.Strings(names)
	for _, name := range names {
		if sc.stop.Err() != nil {
			return
		}
		ls.pickupOne(sc, d, name)
	}
}

// scanUserDrop delivers the files of one user's maildrop directory (userdrop.go); one that
// is not the user's it is named after is set aside, so that the name is free again.
func (ls *Server) scanUserDrop(sc *scan, maildrop, name string) {
	if uid, ok := uidOfName(name); ok && sc.over[uid] > 0 {
		return // over its rate: its files wait for a later scan
	}
	d, err := openUserDrop(maildrop, name)
	if err != nil {
		ls.setAside(plainDir{dir: maildrop, maildrop: true}, name, ls.log.With("dir", name), err)
		return
	}
	defer d.close()
	if !d.writable() {
		ls.logLimited(ls.log, slog.LevelError, "unwritable:"+d.name, "maildrop: a user's directory the daemon cannot remove files from; nothing taken from it",
			"dir", d.name, "uid", d.uid, "hint", "its mode must be 2770 with the daemon's group")
		return
	}
	entries, err := d.names(maxScanned)
	if err != nil {
		ls.log.Error("reading a user's maildrop directory", "dir", d.name, "err", err)
		return
	}
	var names []string
	for _, n := range entries {
		switch {
		case isDropFile(n):
			names = append(names, n)
		case strings.HasPrefix(n, ".tmp-"):
			ls.removeStaleTempAt(d, n)
		}
	}
	ls.pickupAll(sc, d, names)
}

// isDropFile is true for a name that may be a waiting message: not a temporary file
// (".tmp-*") nor one set aside (".bad").
func isDropFile(name string) bool {
	return !strings.HasPrefix(name, ".") && !strings.HasSuffix(name, ".bad")
}

func (ls *Server) removeStaleTemp(dir string, e fs.DirEntry) {
	fi, err := e.Info()
	if err == nil && ls.now().Sub(fi.ModTime()) > staleTemp {
		path := filepath.Join(dir, e.Name())
		ls.log.Warn("removing a pickup file sendmail left half-written", "file", path)
		os.Remove(path)
	}
}

// removeStaleTempAt is removeStaleTemp in a user's maildrop directory (through its
// descriptor: nothing there is followed).
func (ls *Server) removeStaleTempAt(d *userDrop, name string) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return
	}
	if ls.now().Sub(time.Unix(st.Mtim.Unix())) <= staleTemp {
		return
	}
	ls.logLimited(ls.log, slog.LevelWarn, "staletemp:"+d.name, "removing a maildrop file sendmail left half-written", "file", d.path(name))
	if err := d.remove(name); err != nil {
		ls.log.Warn("removing a half-written maildrop file", "err", err)
	}
}

// openPickup opens a pickup file and returns its owner: the caller, recorded by the
// kernel as SO_PEERCRED records it for the socket.
func openPickup(path string, maildrop bool) (*os.File, uint32, error) {
	if maildrop {
		return openDropFile(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	uid := uint32(os.Getuid())
	if fi, err := f.Stat(); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid = st.Uid
		}
	}
	return f, uid, nil
}

// pickupOne delivers one pickup file and removes it, or leaves it for a later scan.
func (ls *Server) pickupOne(sc *scan, d dropDir, name string) {
	maildrop := d.isMaildrop()
	// The lstat only when a uid is over its rate in this scan: the open below checks the
	// owner anyway, and every pickup file is looked at every pickupInterval.
	if maildrop && len(sc.over) > 0 {
		if owner, ok := d.owner(name); ok && sc.over[owner] > 0 {
			sc.over[owner]++ // over its rate: not even opened in this scan
			return
		}
	}
	log := ls.log.With("file", d.path(name), "maildrop", maildrop)
	f, uid, err := d.open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil && !maildrop {
		ls.logLimited(log, slog.LevelError, "open:"+d.path(name), "cannot open pickup file", "err", err)
		return
	}
	if err != nil {
		ls.setAside(d, name, log, err)
		return
	}
	defer f.Close()
	br := bufio.NewReader(f)
	req, err := readRequest(br)
	if err == nil {
		err = ls.checkPickup(req, uid, maildrop)
	}
	if err != nil {
		ls.setAside(d, name, log, err)
		return
	}
	if req.UID != nil {
		uid = *req.UID
	}
	if req.Prepared && !ls.due(sc, f, req) {
		return
	}
	if !req.Prepared && !ls.rate.allow(uid) {
		sc.over[uid]++
		return
	}
	msg, err := ls.spool(io.LimitReader(br, req.Size), req.Size)
	if err != nil {
		ls.setAside(d, name, log, err)
		return
	}
	defer msg.remove()
	rep := ls.submit(sc.ctx, req, uid, msg, true)
	switch {
	case rep.Error != "" && rep.Temporary:
		log.Warn("pickup file not delivered; trying again later", "err", rep.Error)
		return
	case rep.Error != "":
		ls.setAside(d, name, log, errors.New(rep.Error))
		return
	}
	if err := d.remove(name); err != nil {
		log.Error("pickup file delivered but not removed; it will be delivered again", "err", err)
		return
	}
	log.Info("pickup file delivered", "id", rep.ID, "accepted", len(rep.Accepted), "deferred", len(rep.Deferred), "failed", len(rep.Failed))
}

// due says whether the daemon's retry file f is to be tried again now: the wait after a
// try grows with the time the message has waited (half of it, at least pickupInterval,
// at most maxRetryDelay), so that a message waiting days for an owner is tried, and
// logged, a few times an hour rather than every 30 s; once past [queue] lifetime it is
// due for its last try. In the scan at start every file written before it is due.
func (ls *Server) due(sc *scan, f *os.File, req *Request) bool {
	fi, err := f.Stat()
	if err != nil {
		return true
	}
	if sc.full {
		return fi.ModTime().Before(sc.started)
	}
	if req.Arrival <= 0 {
		return true
	}
	now, written, arrival := ls.now(), fi.ModTime(), time.Unix(req.Arrival, 0)
	if ls.lifetime > 0 && now.Sub(arrival) >= ls.lifetime {
		return true
	}
	return now.Sub(written) >= retryDelay(written.Sub(arrival))
}

// retryDelay is the wait after a try made when the message had waited for waited.
func retryDelay(waited time.Duration) time.Duration {
	return min(max(waited/2, pickupInterval), maxRetryDelay)
}

// checkPickup refuses what a pickup file owned by uid may not ask: only the daemon's own
// retry files, in the private pickup directory, may be prepared or name another uid; a
// file holds a message; a maildrop file is within the size limit.
func (ls *Server) checkPickup(req *Request, uid uint32, maildrop bool) error {
	switch {
	case (req.Prepared || req.UID != nil) && (maildrop || uid != uint32(os.Getuid())):
		return errors.New("a pickup file not written by the daemon claims to be prepared")
	case req.Op != OpSubmit:
		return fmt.Errorf("a pickup file holds a %s request, not a message", req.Op)
	case maildrop && req.Size > ls.maxSize:
		return fmt.Errorf("message of %d bytes is larger than the limit of %d bytes (smtp.message_size_limit)", req.Size, ls.maxSize)
	}
	return nil
}

// setAside renames a pickup file that can never be delivered to NAME.bad.
func (ls *Server) setAside(d dropDir, name string, log *slog.Logger, why error) {
	// In the maildrop what a user leaves there is logged once per logEvery per uid,
	// with the count since: a user cannot write the journal full with junk files.
	key := "aside:" + d.path(name)
	if uid, ok := d.owner(name); ok && d.isMaildrop() {
		key = uidKey("aside", uid)
	}
	if err := d.setAside(name); err != nil {
		// Left where it is, it is found again at every scan.
		ls.logLimited(log, slog.LevelError, "aside-failed:"+d.path(name), "pickup file cannot be delivered, nor renamed to .bad",
			"err", why, "rename_err", err)
		return
	}
	ls.logLimited(log, slog.LevelError, key, "pickup file cannot be delivered; renamed to .bad for the operator", "err", why)
}

// scanLoop scans at once, every retry file written before begin (before the socket
// accepted anyone), then every pickupInterval what is due.
func (s *Server) scanLoop(begin time.Time) {
	t := time.NewTicker(pickupInterval)
	defer t.Stop()
	for full := true; ; full = false {
		s.scanPickup(s.ctx, s.stop, full, begin)
		select {
		case <-s.stop.Done():
			return
		case <-t.C:
		}
	}
}
