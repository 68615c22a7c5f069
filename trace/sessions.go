package trace

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// Session is one SMTP connection as its connect and helo lines tell it.
type Session struct {
	Client  netip.Addr // invalid for a local (unix socket) client
	Role    string     // mx, submission, submissions, lmtp
	Trusted bool       // in trusted_networks
	HELO    string     // "" when the client never said HELO
}

// RecentSessions returns the SMTP sessions of the newest limit connect lines since
// since, newest first, each with its HELO name. It reads the day files from the newest
// back, and stops at the first day that gives enough.
func RecentSessions(dir string, since time.Time, limit int) ([]Session, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(files)))
	var out []Session
	for _, f := range files {
		if len(out) >= limit || f < dayFile(dir, since) {
			break
		}
		day, err := daySessions(f, since)
		if err != nil {
			continue // a day file removed under us by pruning
		}
		slices.Reverse(day)
		out = append(out, day[:min(len(day), limit-len(out))]...)
	}
	return out, nil
}

// daySessions reads one day file's sessions, oldest first.
func daySessions(name string, since time.Time) ([]Session, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []Session
	index := map[string]int{} // sid -> its session in out
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Time.Before(since) || e.Attrs["sid"] == "" {
			continue
		}
		sid := e.Attrs["sid"]
		switch {
		case e.What == "connect" && e.Attrs["role"] != "":
			a, _ := netip.ParseAddr(e.Attrs["client"])
			index[sid] = len(out)
			out = append(out, Session{Client: a.Unmap(), Role: e.Attrs["role"], Trusted: e.Attrs["trusted"] == "true"})
		case e.What == "helo":
			if i, ok := index[sid]; ok {
				out[i].HELO = e.Attrs["helo"]
			}
		}
	}
	return out, sc.Err()
}
