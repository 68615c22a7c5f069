package imap

import (
	"context"

	"github.com/postern/postern/store"
)

// flagFeed writes the new flags of renamed messages to the index while the next files
// are still being renamed: a store.FlagBatchTx fed in chunks by a goroutine of its
// own, so on a STORE of 1,000 messages the index work overlaps the renames instead of
// following them. Each row is written after its file is renamed and the commit comes
// after the last rename, so the order "file first, then index" of the package doc holds.
// The batch (and so the index's writer) is taken at the first message, not before.
type flagFeed struct {
	ctx   context.Context
	st    *store.Store
	id    int64
	batch *store.FlagBatchTx
	ch    chan []store.FlagUpdate
	errc  chan error
	chunk []store.FlagUpdate
}

// flagFeedChunk is how many rows are handed over at a time.
const flagFeedChunk = 64

func newFlagFeed(ctx context.Context, st *store.Store, mailboxID int64) *flagFeed {
	return &flagFeed{ctx: ctx, st: st, id: mailboxID}
}

// add queues one message's new flags.
func (f *flagFeed) add(u store.FlagUpdate) error {
	if f.batch == nil {
		b, err := f.st.BeginFlagBatch(f.ctx, f.id)
		if err != nil {
			return err
		}
		f.batch = b
		f.ch = make(chan []store.FlagUpdate, 4)
		f.errc = make(chan error, 1)
		go func() {
			var err error
			for ups := range f.ch {
				if err == nil {
					err = b.Add(f.ctx, ups)
				}
			}
			f.errc <- err
		}()
	}
	f.chunk = append(f.chunk, u)
	if len(f.chunk) >= flagFeedChunk {
		f.ch <- f.chunk
		f.chunk = nil
	}
	return nil
}

// wait hands over the last chunk and waits for the writer goroutine.
func (f *flagFeed) wait() error {
	if len(f.chunk) > 0 {
		f.ch <- f.chunk
		f.chunk = nil
	}
	close(f.ch)
	err := <-f.errc
	f.ch = nil
	return err
}

// commit finishes the batch; a zero FlagBatch if nothing was added.
func (f *flagFeed) commit() (store.FlagBatch, error) {
	if f.batch == nil {
		return store.FlagBatch{}, nil
	}
	if err := f.wait(); err != nil {
		return store.FlagBatch{}, err
	}
	return f.batch.Commit(f.ctx)
}

// abort rolls back an unfinished batch; safe to defer after commit.
func (f *flagFeed) abort() {
	if f.batch == nil {
		return
	}
	if f.ch != nil {
		_ = f.wait()
	}
	f.batch.Rollback()
}
