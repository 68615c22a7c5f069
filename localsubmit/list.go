package localsubmit

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/postern/postern/smtp/queue"
)

// mailq for a user outside group postern (OpList) shows the messages that user
// submitted, identified by the kernel's uid of the caller and never by anything the
// caller says: the queue entries whose Envelope.UID is theirs, the daemon's retry files
// in pickup made for them, and their files still waiting in the maildrop. Root and the
// group postern see the whole queue on the admin socket instead.

// maxScanned bounds the files one listing reads per directory: a user who floods the
// maildrop makes only their own listing incomplete, and not for long (the daemon
// drains it).
const maxScanned = 10000

// maxListBytes bounds what one OpList reply describes (well under the client's
// maxReplyLine): a user whose messages each name a thousand long addresses gets the
// oldest that fit and a count of the rest, and costs the daemon no more.
const maxListBytes = 4 << 20

// listing collects one OpList reply within MaxListed entries and maxListBytes.
type listing struct {
	list  []queue.Info
	bytes int
	more  int
}

// add takes in when it fits, else counts it in more; false once the listing is full.
func (l *listing) add(in queue.Info) bool {
	n := infoBytes(in)
	if len(l.list) >= MaxListed || l.bytes+n > maxListBytes {
		l.more++
		return false
	}
	l.list, l.bytes = append(l.list, in), l.bytes+n
	return true
}

func (l *listing) full() bool { return len(l.list) >= MaxListed || l.bytes >= maxListBytes }

// infoBytes is about what in takes in the reply.
func infoBytes(in queue.Info) int {
	n := 160 + len(in.ID) + len(in.From) + len(in.Origin)
	for _, r := range in.Rcpts {
		n += 64 + len(r.Addr) + len(r.Enhanced) + len(r.LastError) + len(r.RemoteMTA)
	}
	return n
}

// listFor answers OpList for uid: the queue's entries first, then pickup and the
// maildrop, each oldest first, as many as fit.
func (ls *Server) listFor(uid uint32) Reply {
	var l listing
	if ls.queue != nil {
		entries, more := ls.queue.ListSubmittedBy(uid, MaxListed)
		for _, in := range entries {
			l.add(in)
		}
		l.more += more
	}
	login := ls.loginOf(uid) // once: a user database lookup
	from := func(req *Request) string {
		if f, err := ls.envelopeSender(req, login); err == nil {
			return f
		}
		return login
	}
	waitingIn(&l, plainDir{dir: ls.pickupDir}, dirNames(ls.pickupDir), uid, from)
	waitingIn(&l, plainDir{dir: ls.maildropDir, maildrop: true}, dirNames(ls.maildropDir), uid, from)
	if d, err := openUserDrop(ls.maildropDir, userDropName(uid)); err == nil {
		names, _ := d.names(maxScanned)
		waitingIn(&l, d, names, uid, from)
		d.close()
	}
	queue.SortInfos(l.list)
	return Reply{Queue: l.list, More: l.more}
}

// ListMaildrop is mailq while the daemon is down: the caller's own messages waiting in
// their directory of the maildrop (userdrop.go), described with DropInfo; defaultFrom is
// the envelope sender of a message sent without -f. None when there is no directory.
func ListMaildrop(maildrop, defaultFrom string) ([]queue.Info, error) {
	uid := uint32(os.Getuid())
	d, err := openUserDrop(maildrop, userDropName(uid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer d.close()
	names, err := d.names(maxScanned)
	if err != nil {
		return nil, err
	}
	from := func(req *Request) string {
		if req.Sender != nil {
			return *req.Sender
		}
		return defaultFrom
	}
	var l listing
	waitingIn(&l, d, names, uid, from)
	queue.SortInfos(l.list)
	return l.list, nil
}

// dirNames lists at most maxScanned names of dir, "" on error.
func dirNames(dir string) []string {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(maxScanned)
	return names
}

// waitingIn adds the files of d that are uid's to l, oldest first (a name begins with
// its time), until l is full; the rest of uid's files are counted without being read
// where their owner says whose they are (the maildrop), not counted in pickup.
func waitingIn(l *listing, d dropDir, names []string, uid uint32, from func(*Request) string) {
	sort.Strings(names)
	for _, name := range names {
		if !isDropFile(name) {
			continue
		}
		if l.full() {
			if !d.isMaildrop() {
				return // pickup's files are the daemon's: the rest are not counted
			}
			if owner, ok := d.owner(name); ok && owner == uid {
				l.more++
			}
			continue
		}
		if in, ok := waitingFile(d, name, uid, from); ok {
			l.add(in)
		}
	}
}

// waitingFile describes one pickup file when it is uid's.
func waitingFile(d dropDir, name string, uid uint32, from func(*Request) string) (queue.Info, bool) {
	f, owner, err := d.open(name)
	if err != nil {
		return queue.Info{}, false
	}
	defer f.Close()
	maildrop := d.isMaildrop()
	if maildrop && owner != uid {
		// Someone else's: not read at all (a user cannot make another's listing read
		// her files' request lines).
		return queue.Info{}, false
	}
	fi, err := f.Stat()
	if err != nil {
		return queue.Info{}, false
	}
	req, err := readRequest(bufio.NewReader(f))
	if err != nil || req.Op != OpSubmit {
		return queue.Info{}, false
	}
	if req.UID != nil && !maildrop {
		owner = *req.UID // a retry the daemon keeps for its submitter
	}
	if owner != uid {
		return queue.Info{}, false
	}
	in := DropInfo(name, req, from(req), fi.ModTime(), maildrop)
	in.UID = &owner
	return in, true
}

// DropInfo describes a message waiting in pickup or the maildrop the way mailq lists a
// queued one; from is its envelope sender as the daemon will make it, and mtime the
// file's modification time (when it was written).
func DropInfo(name string, req *Request, from string, mtime time.Time, maildrop bool) queue.Info {
	id, why := "P", "deferred; the daemon tries again from pickup"
	if maildrop {
		id, why = "M", "waiting in the maildrop until the daemon picks it up"
	}
	// A file name is 16 hex digits of time, "-", 24 random ones: the id is ten of those.
	if _, rnd, ok := strings.Cut(name, "-"); ok && len(rnd) >= 10 {
		id += strings.ToUpper(rnd[:10])
	}
	arrival := mtime
	if req.Arrival > 0 {
		arrival = time.Unix(req.Arrival, 0)
	}
	in := queue.Info{ID: id, Size: req.Size, Arrival: arrival, From: from, Origin: "sendmail"}
	for _, r := range req.Rcpts {
		in.Rcpts = append(in.Rcpts, queue.RcptInfo{Addr: r, Status: queue.StatusPending, LastError: why})
	}
	if req.ExtractRecipients {
		in.Rcpts = append(in.Rcpts, queue.RcptInfo{Addr: "(and those in To:, Cc: and Bcc:, sendmail -t)",
			Status: queue.StatusPending, LastError: why})
	}
	return in
}
