package store

import (
	"context"
	"sync"
)

// verifyFlights lets concurrent logins with the same credentials share one argon2id
// verification: a client that opens five IMAP connections at once costs one hash, not
// five (and not five times the memory). Keyed by the auth cache's HMAC of the stored hash
// and the password, so only identical attempts share.
type verifyFlights struct {
	mu   sync.Mutex
	m    map[[32]byte]*verifyCall
	runs int // verifications actually run, for tests
}

type verifyCall struct {
	done    chan struct{}
	waiters int // logins that joined this verification
	ok      bool
	err     error
}

// verifyShared verifies password against h, joining an identical verification already
// running.
func (s *Store) verifyShared(ctx context.Context, phcString string, h phc, password string) (bool, error) {
	key := s.auth.mac(phcString, password)
	f := s.flights
	f.mu.Lock()
	if c := f.m[key]; c != nil {
		c.waiters++
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.ok, c.err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	c := &verifyCall{done: make(chan struct{})}
	f.m[key] = c
	f.runs++
	f.mu.Unlock()
	c.ok, c.err = s.verify(ctx, h, password)
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(c.done)
	return c.ok, c.err
}
