package imap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/postern/postern/store"
)

// loadCachedSummaries fills the cells of msgs that lack what is wanted from the
// index's message cache, asking the database at most once per message over the
// snapshot's life: after that a missing entry means "compute it from the file".
func (s *Server) loadCachedSummaries(ctx context.Context, snap *mailboxSnap, msgs []snapMsg, wantEnv, wantBS bool) error {
	var ask []snapMsg
	for _, m := range msgs {
		if lacks(m.cell, wantEnv, wantBS) && !m.cell.dbTried.Load() {
			ask = append(ask, m)
		}
	}
	if len(ask) == 0 {
		return nil
	}
	var entries map[string]store.CacheEntry
	var err error
	if v := snap.loaded(); v != nil && len(ask) > len(v.msgs)/4 {
		entries, err = s.opts.Store.MailboxCacheEntries(ctx, snap.id)
	} else {
		names := make([]string, len(ask))
		for i, m := range ask {
			names[i] = m.Filename
		}
		entries, err = s.opts.Store.MessageCacheEntries(ctx, snap.id, names)
	}
	if err != nil {
		return err
	}
	for _, m := range ask {
		e, ok := entries[m.Filename]
		if ok {
			var env *goimap.Envelope
			var bs goimap.BodyStructure
			if e.Envelope != nil {
				env, _ = decodeEnvelope(e.Envelope) // undecodable: recomputed from the file
			}
			if e.Structure != nil {
				bs, _ = decodeStructure(e.Structure)
			}
			if env != nil || bs != nil {
				m.cell.merge(env, bs)
			}
		}
		m.cell.dbTried.Store(true)
	}
	return nil
}

func lacks(c *summaryCell, wantEnv, wantBS bool) bool {
	d := c.load()
	return wantEnv && d.env == nil || wantBS && d.bs == nil
}

// computeSummaries computes from the files what the cells of msgs lack, on up to
// maxWorkers goroutines when there are many, and returns the cache entries to store and
// the UIDs of messages whose file is gone (the next poll reports their expunge).
func (s *Server) computeSummaries(f *folder, msgs []snapMsg, wantEnv, wantBS bool, maxWorkers int) ([]store.CacheEntry, map[uint32]bool, error) {
	var todo []snapMsg
	for _, m := range msgs {
		if lacks(m.cell, wantEnv, wantBS) {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		return nil, nil, nil
	}
	workers := max(1, min(maxWorkers, (len(todo)+63)/64))
	fills := make([]store.CacheEntry, len(todo))
	ok := make([]bool, len(todo))
	gone := make([]bool, len(todo))
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wf := &folder{dir: f.dir, kw: f.kw}
		if workers == 1 {
			wf = f
		}
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				e, err := summarize(wf, todo[i], wantEnv, wantBS)
				if errors.Is(err, errGone) {
					gone[i] = true
					continue
				}
				if err != nil {
					errs[w] = err
					return
				}
				fills[i], ok[i] = e, true
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	out := fills[:0]
	var missing map[uint32]bool
	for i, e := range fills {
		if ok[i] {
			out = append(out, e)
		}
		if gone[i] {
			if missing == nil {
				missing = map[uint32]bool{}
			}
			missing[todo[i].UID] = true
		}
	}
	return out, missing, nil
}

// summarize reads what m's cell lacks from its file, stores it in the cell, and returns
// it as a cache entry. The envelope needs only the header; the structure the whole file,
// in one pass that yields the envelope as well.
func summarize(f *folder, m snapMsg, wantEnv, wantBS bool) (store.CacheEntry, error) {
	e := store.CacheEntry{Filename: m.Filename}
	d := m.cell.load()
	file, r, err := f.open(m)
	if err != nil {
		return e, err
	}
	defer file.Close()
	var env *goimap.Envelope
	var bs goimap.BodyStructure
	switch {
	case wantBS && d.bs == nil:
		if env, bs, err = parseStructure(r); err != nil {
			return e, fmt.Errorf("imap: parsing %s: %w", m.Filename, err)
		}
		e.Structure = encodeStructure(bs)
		if wantEnv && d.env == nil {
			e.Envelope = encodeEnvelope(env)
		} else {
			env = nil
		}
	case wantEnv && d.env == nil:
		if env, err = parseEnvelope(r); err != nil {
			return e, fmt.Errorf("imap: parsing %s: %w", m.Filename, err)
		}
		e.Envelope = encodeEnvelope(env)
	}
	m.cell.merge(env, bs)
	return e, nil
}

// summarizeFile computes both cache entries of a message file just written (APPEND),
// so that even its first FETCH reads no file.
func summarizeFile(filename, path string) (store.CacheEntry, error) {
	e := store.CacheEntry{Filename: filename}
	f, err := os.Open(path)
	if err != nil {
		return e, fmt.Errorf("imap: %w", err)
	}
	defer f.Close()
	env, bs, err := parseStructure(newFileReader(f))
	if err != nil {
		return e, fmt.Errorf("imap: parsing %s: %w", filename, err)
	}
	e.Envelope, e.Structure = encodeEnvelope(env), encodeStructure(bs)
	return e, nil
}

// saveSummaries stores, in the background, cache entries computed while answering a
// command: the client does not wait for the write. The cache is derived data, so a
// failure is logged and the entries are computed again next time. Shutdown waits for
// pending saves.
func (s *Server) saveSummaries(mailboxID int64, fill []store.CacheEntry) {
	if len(fill) == 0 {
		return
	}
	s.goBackground(func() { s.putSummaries(mailboxID, fill) })
}

func (s *Server) putSummaries(mailboxID int64, fill []store.CacheEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.opts.Store.PutMessageCache(ctx, mailboxID, fill); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("imap: storing message summaries", "mailbox_id", mailboxID, "count", len(fill), "err", err)
	}
}
