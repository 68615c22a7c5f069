package queue

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/postern/postern/store/durable"
)

// recover rebuilds the index from the directory. A message file that does
// not validate was being written when the process died (Enqueue had not
// returned, so nobody was told it was queued): it is removed with its status
// file. A status file without a message is the tail of a removal: removed.
// A torn status record is cut off. Messages whose every recipient is final
// are removed (the crash came between the last record and the removal).
func (q *Queue) recover() error {
	if err := durable.MkdirAll(q.dir, 0o700); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	des, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("queue: scan: %w", err)
	}
	statuses := make(map[string]bool)
	var ids []string
	for _, de := range des {
		name := de.Name()
		switch {
		case !de.Type().IsRegular():
			continue
		case strings.HasPrefix(name, ".tmp-"):
			os.Remove(q.path(name))
		case strings.HasSuffix(name, statusSuffix) && validID(strings.TrimSuffix(name, statusSuffix)):
			statuses[strings.TrimSuffix(name, statusSuffix)] = true
		case validID(name):
			ids = append(ids, name)
		}
	}
	now := q.opts.Clock.Now()
	changed := false
	for _, id := range ids {
		hadStatus := statuses[id]
		delete(statuses, id)
		e, err := q.load(id, hadStatus, now)
		if errors.Is(err, errCorrupt) {
			q.log.Warn("removing partial message file", slog.String("id", id), slog.Any("error", err))
			os.Remove(q.msgPath(id))
			os.Remove(q.statusPath(id))
			changed = true
			continue
		}
		if err != nil {
			return err
		}
		if e.finished() {
			os.Remove(q.msgPath(id))
			os.Remove(q.statusPath(id))
			changed = true
			continue
		}
		if e.attempts > 0 {
			e.next = e.lastAttempt.Add(q.backoff(e.attempts))
		} else {
			e.next = now
		}
		q.add(e)
	}
	for id := range statuses {
		os.Remove(q.statusPath(id))
		changed = true
	}
	if changed {
		return q.syncer.sync()
	}
	return nil
}

func (q *Queue) path(name string) string { return q.dir + string(os.PathSeparator) + name }

// load reads and validates one message, applies the mark of its first
// attempt (mark.go) and replays its status file.
func (q *Queue) load(id string, hasStatus bool, now time.Time) (*entry, error) {
	meta, off, n, err := readMessage(q.msgPath(id))
	if err != nil {
		return nil, err
	}
	e := newEntry(id, meta, off, n)
	if err := q.readMark(e, now); err != nil {
		return nil, err
	}
	if !hasStatus {
		return e, nil
	}
	data, err := os.ReadFile(q.statusPath(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("queue: read status: %w", err)
	}
	recs, good := parseStatus(data)
	if good < len(data) {
		q.log.Warn("truncating torn status record", slog.String("id", id), slog.Int("offset", good))
		if err := os.Truncate(q.statusPath(id), int64(good)); err != nil {
			return nil, fmt.Errorf("queue: truncate status: %w", err)
		}
	}
	for i := range recs {
		e.apply(&recs[i])
	}
	return e, nil
}
