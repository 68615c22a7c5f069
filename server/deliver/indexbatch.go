package deliver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/postern/postern/store"
)

// maxIndexBatch bounds how many deliveries share one index transaction.
const maxIndexBatch = 128

// indexBatcher is group commit for the message index. SQLite has one writer, and each
// commit waits for an fsync of the WAL; with ten SMTP sessions delivering at once, one
// transaction per message would make them queue behind each other's fsyncs. Instead one
// goroutine takes every request that is waiting, indexes them in one transaction and
// answers each: the same durability (nobody is answered before the commit is on disk),
// one fsync for the batch. If a batch fails, its requests are retried one by one, so one
// bad request never fails the others.
type indexBatcher struct {
	st   *store.Store
	log  *slog.Logger
	reqs chan *indexReq
	wg   sync.WaitGroup
	once sync.Once
}

type indexReq struct {
	ctx  context.Context
	msgs []store.NewMessage
	done chan indexResult
}

type indexResult struct {
	added []store.AddedMessage
	err   error
}

func newIndexBatcher(st *store.Store, log *slog.Logger) *indexBatcher {
	b := &indexBatcher{st: st, log: log, reqs: make(chan *indexReq, maxIndexBatch)}
	b.wg.Add(1)
	go b.run()
	return b
}

// errIndexClosed is returned after Close.
var errIndexClosed = errors.New("index writer stopped")

// Add indexes msgs and returns when they are committed.
func (b *indexBatcher) Add(ctx context.Context, msgs []store.NewMessage) (added []store.AddedMessage, err error) {
	req := &indexReq{ctx: ctx, msgs: msgs, done: make(chan indexResult, 1)}
	defer func() {
		if recover() != nil { // send on a closed channel: we are stopping
			added, err = nil, errIndexClosed
		}
	}()
	select {
	case b.reqs <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued, wait for the answer even if ctx ends: the commit may already be under
	// way, and the caller must know whether the message was indexed.
	r := <-req.done
	return r.added, r.err
}

// Close stops the writer after the queued requests are done. Call it after every
// producer (the SMTP and LMTP servers) has stopped.
func (b *indexBatcher) Close() {
	b.once.Do(func() { close(b.reqs) })
	b.wg.Wait()
}

func (b *indexBatcher) run() {
	defer b.wg.Done()
	for req := range b.reqs {
		batch := []*indexReq{req}
	drain:
		for len(batch) < maxIndexBatch {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		b.commit(batch)
	}
}

func (b *indexBatcher) commit(batch []*indexReq) {
	if len(batch) == 1 {
		b.one(batch[0])
		return
	}
	var all []store.NewMessage
	for _, r := range batch {
		all = append(all, r.msgs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	added, err := b.st.IndexDeliveries(ctx, all)
	cancel()
	if err != nil {
		b.log.Debug("index batch failed; retrying one by one", "n", len(batch), "err", err)
		for _, r := range batch {
			b.one(r)
		}
		return
	}
	for _, r := range batch {
		n := len(r.msgs)
		r.done <- indexResult{added: added[:n:n]}
		added = added[n:]
	}
}

func (b *indexBatcher) one(r *indexReq) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), time.Minute)
	defer cancel()
	added, err := b.st.IndexDeliveries(ctx, r.msgs)
	r.done <- indexResult{added: added, err: err}
}
