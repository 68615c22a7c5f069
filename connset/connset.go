package connset

import (
	"context"
	"net"
	"sync"
)

// Set is one server's listeners and connections. The zero value is ready to use; a Set
// must not be copied.
type Set[C comparable] struct {
	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[C]struct{}
	wg        sync.WaitGroup
}

// Listen registers ln, or returns false once Shutdown has begun.
func (s *Set[C]) Listen(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	return true
}

// Unlisten forgets ln (Serve returned).
func (s *Set[C]) Unlisten(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

// Add registers a connection, or returns false once Shutdown has begun. Holding the lock
// orders the WaitGroup's Add before Shutdown's Wait, as sync.WaitGroup requires.
func (s *Set[C]) Add(c C) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[C]struct{})
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// Done ends a connection that Add registered.
func (s *Set[C]) Done(c C) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Go runs f as part of the server (a background scanner): Shutdown waits for it as for a
// connection. It returns false, without running f, once Shutdown has begun.
func (s *Set[C]) Go(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// Closing reports whether Shutdown has begun.
func (s *Set[C]) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown stops accepting (every listener is closed), calls wake for each open
// connection (nil: none; e.g. an expired read deadline that ends a wait for the next
// command) and waits until every connection is Done. If ctx ends first, it calls kill for
// each connection still open (nil: none) and waits for them, and returns ctx's error.
// cancel, if not nil, is called once the connections are done, or when ctx ends (before
// kill): it cancels the context their work runs under.
func (s *Set[C]) Shutdown(ctx context.Context, wake, kill func(C), cancel func()) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	s.each(wake)
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		if cancel != nil {
			cancel()
		}
		return nil
	case <-ctx.Done():
		if cancel != nil {
			cancel()
		}
		s.mu.Lock()
		s.each(kill)
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// each calls f for every open connection; callers hold mu.
func (s *Set[C]) each(f func(C)) {
	if f == nil {
		return
	}
	for c := range s.conns {
		f(c)
	}
}
