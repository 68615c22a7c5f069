package trace

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Query selects messages; empty fields match anything, but one must be set.
type Query struct {
	MessageID string    `json:"message_id,omitempty"` // with or without <>
	Address   string    `json:"address,omitempty"`    // envelope sender or recipient, or the user it was delivered to
	QueueID   string    `json:"queue_id,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Until     time.Time `json:"until,omitzero"`
}

// Story is the events of one message (or one session's messages), oldest first.
type Story struct {
	Events []Event `json:"events"`
}

// links are the identities of an event: its session, message and queue ids. A record of
// the queue has no session; its "id" is then a queue id.
func links(e Event) []string {
	var out []string
	if s := e.Attrs["sid"]; s != "" {
		out = append(out, "s:"+s)
		if id := e.Attrs["id"]; id != "" {
			out = append(out, "m:"+id)
		}
	} else if id := e.Attrs["id"]; id != "" {
		out = append(out, "q:"+id)
	}
	if q := e.Attrs["queue_id"]; q != "" {
		out = append(out, "q:"+q)
	}
	return out
}

func (q Query) matches(e Event) bool {
	if !q.Since.IsZero() && e.Time.Before(q.Since) || !q.Until.IsZero() && e.Time.After(q.Until) {
		return false
	}
	switch {
	case q.MessageID != "":
		return strings.EqualFold(strings.Trim(e.Attrs["message_id"], "<>"), strings.Trim(q.MessageID, "<> "))
	case q.QueueID != "":
		return e.Attrs["queue_id"] == q.QueueID || e.Attrs["sid"] == "" && e.Attrs["id"] == q.QueueID
	case q.Address != "":
		a := strings.ToLower(q.Address)
		for _, k := range []string{"from", "to", "user", "mailbox"} {
			for _, v := range strings.Split(strings.ToLower(e.Attrs[k]), ",") {
				if user, _, _ := strings.Cut(v, "/"); user == a { // mailbox is user/folder
					return true
				}
			}
		}
		return false
	}
	return !q.Since.IsZero() || !q.Until.IsZero()
}

// Find returns the stories of the events that match q: each match widened to every event
// sharing a link with it, transitively (a session, its messages, their queue entries).
func Find(events []Event, q Query) []Story {
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			r := find(p)
			parent[x] = r
			return r
		}
		parent[x] = x
		return x
	}
	for _, e := range events {
		ls := links(e)
		for _, l := range ls[min(1, len(ls)):] {
			parent[find(l)] = find(ls[0])
		}
	}
	wanted := map[string]bool{}
	for _, e := range events {
		if ls := links(e); len(ls) > 0 && q.matches(e) {
			wanted[find(ls[0])] = true
		}
	}
	byRoot := map[string]*Story{}
	var order []string
	for _, e := range events {
		ls := links(e)
		if len(ls) == 0 || !wanted[find(ls[0])] {
			continue
		}
		root := find(ls[0])
		if byRoot[root] == nil {
			byRoot[root] = &Story{}
			order = append(order, root)
		}
		byRoot[root].Events = append(byRoot[root].Events, e)
	}
	out := make([]Story, 0, len(order))
	for _, r := range order {
		s := byRoot[r]
		sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].Time.Before(s.Events[j].Time) })
		out = append(out, *s)
	}
	return out
}

// Reader reads stored chunks (package store's trace tables).
type Reader interface {
	TraceChunksWith(ctx context.Context, keys []string, limit int) ([]int64, error)
	TraceChunksBetween(ctx context.Context, since, until time.Time, limit int) ([]int64, error)
	TraceEvents(ctx context.Context, seq int64) ([]byte, error)
}

// Bounds of one lookup: the chunks it reads (of up to 256 events each), and the
// widening steps (session -> transaction -> queue entry -> its DSN...). A time window
// over a busy month must not read the whole store.
const (
	maxChunks = 400
	maxRounds = 16
)

// Lookup returns the stories of the stored events that match q. The keys index gives
// the chunks holding a match; Find groups their events into stories; the stories' links
// (session, transaction, queue ids) give the chunks to read next, until a round finds
// no chunk not read yet.
func Lookup(ctx context.Context, rd Reader, q Query) ([]Story, error) {
	var seqs []int64
	var err error
	switch {
	case q.MessageID != "":
		seqs, err = rd.TraceChunksWith(ctx, []string{"i:" + normMessageID(q.MessageID)}, maxChunks)
	case q.QueueID != "":
		seqs, err = rd.TraceChunksWith(ctx, []string{"q:" + q.QueueID}, maxChunks)
	case q.Address != "":
		seqs, err = rd.TraceChunksWith(ctx, []string{"a:" + strings.ToLower(strings.TrimSpace(q.Address))}, maxChunks)
	case !q.Since.IsZero() || !q.Until.IsZero():
		seqs, err = rd.TraceChunksBetween(ctx, q.Since, q.Until, maxChunks)
	}
	read := map[int64]bool{}
	var events []Event
	var stories []Story
	for round := 0; err == nil && len(seqs) > 0 && round < maxRounds; round++ {
		for _, seq := range seqs {
			if read[seq] || len(read) >= maxChunks {
				continue
			}
			read[seq] = true
			var b []byte
			if b, err = rd.TraceEvents(ctx, seq); err != nil {
				return nil, err
			}
			events = append(events, parseChunk(b)...)
		}
		stories = Find(events, q)
		seqs, err = rd.TraceChunksWith(ctx, storyLinks(stories), maxChunks)
		seqs = slices.DeleteFunc(seqs, func(s int64) bool { return read[s] })
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return Find(events, q), nil
}

// storyLinks are the links of every event of the stories, each once.
func storyLinks(stories []Story) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range stories {
		for _, e := range s.Events {
			for _, l := range links(e) {
				if !seen[l] {
					seen[l] = true
					out = append(out, l)
				}
			}
		}
	}
	return out
}

// lineKeys are the attributes a story line shows, in this order, for each event.
var lineKeys = []string{"client", "role", "trusted", "helo", "rdns", "tls", "cipher", "user", "from", "to", "message_id",
	"size", "nrcpt", "spf", "spf_helo", "dkim", "dmarc", "header_from", "policy", "milter", "score", "spam", "action",
	"quarantine", "stage", "status", "code", "enhanced", "dsn", "reason", "resolved", "sieve", "mailbox", "uid",
	"queue_id", "route", "relay", "kind", "rcpts", "attempt", "delay", "next_attempt"}

// Write tells the story in plain lines: the time, the event, its fields.
func (s Story) Write(w io.Writer) error {
	var b strings.Builder
	for _, e := range s.Events {
		fmt.Fprintf(&b, "%s  %-12s", e.Time.Local().Format("2006-01-02 15:04:05.000"), e.What)
		for _, k := range lineKeys {
			if v := e.Attrs[k]; v != "" {
				fmt.Fprintf(&b, " %s=%s", k, quoteIfSpace(v))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteIfSpace(v string) string {
	if strings.ContainsAny(v, " \t\"") {
		return fmt.Sprintf("%q", v)
	}
	return v
}
