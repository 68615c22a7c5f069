package localsubmit

import (
	"bufio"
	"os"
	"path/filepath"
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

// listFor answers OpList for uid.
func (ls *Server) listFor(uid uint32) Reply {
	var list []queue.Info
	if ls.queue != nil {
		list = ls.queue.ListSubmittedBy(uid)
	}
	list = append(list, ls.waiting(ls.pickupDir, uid, false)...)
	list = append(list, ls.waiting(ls.maildropDir, uid, true)...)
	sortInfos(list)
	var more int
	if len(list) > MaxListed {
		more, list = len(list)-MaxListed, list[:MaxListed]
	}
	return Reply{Queue: list, More: more}
}

// waiting describes uid's files in a pickup directory (maildrop: the maildrop).
func (ls *Server) waiting(dir string, uid uint32, maildrop bool) []queue.Info {
	d, err := os.Open(dir)
	if err != nil {
		ls.log.Warn("mailq: reading the pickup directory", "dir", dir, "err", err)
		return nil
	}
	entries, err := d.ReadDir(maxScanned)
	d.Close()
	if err != nil && len(entries) == 0 {
		return nil
	}
	var out []queue.Info
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".bad") {
			continue
		}
		if in, ok := ls.waitingFile(filepath.Join(dir, name), uid, maildrop); ok {
			out = append(out, in)
		}
	}
	return out
}

// waitingFile describes one pickup file when it is uid's.
func (ls *Server) waitingFile(path string, uid uint32, maildrop bool) (queue.Info, bool) {
	f, owner, err := openPickup(path, maildrop)
	if err != nil {
		return queue.Info{}, false
	}
	defer f.Close()
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
	login := ls.loginOf(uid)
	from, err := ls.envelopeSender(req, login)
	if err != nil {
		from = login
	}
	in := DropInfo(filepath.Base(path), req, from, fi.ModTime(), maildrop)
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

// sortInfos orders a listing oldest first, as the queue's own List does.
func sortInfos(list []queue.Info) {
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].Arrival.Equal(list[j].Arrival) {
			return list[i].Arrival.Before(list[j].Arrival)
		}
		return list[i].ID < list[j].ID
	})
}
