package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
)

// service is one bound listener and the protocol server behind it.
type service struct {
	name     string
	ln       net.Listener
	serve    func(net.Listener) error
	shutdown func(context.Context) error
}

// services owns every listener of the daemon: it binds them up front (so a port conflict
// fails the start), starts them together and stops them together.
type services struct {
	log     *slog.Logger
	wrap    func(name string, ln net.Listener) net.Listener // applied to every listener added
	list    []*service
	wg      sync.WaitGroup
	stopped bool // Shutdown completed: every session has ended
}

// newServices is the empty set; wrap (nil: none) is applied to every listener added (the
// metrics count connections through it).
func newServices(log *slog.Logger, wrap func(name string, ln net.Listener) net.Listener) *services {
	return &services{log: log, wrap: wrap}
}

// listen binds addr, which is "host:port" or "unix:/abs/path". A stale unix socket file
// from a crashed run is removed first (the state-dir lock proves no other daemon owns it).
func listen(addr string, mode os.FileMode) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("removing stale socket %s: %w", path, err)
		}
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(path, mode); err != nil {
			ln.Close()
			return nil, err
		}
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// Add registers a bound listener.
func (s *services) Add(name string, ln net.Listener, serve func(net.Listener) error, shutdown func(context.Context) error) {
	if s.wrap != nil {
		ln = s.wrap(name, ln)
	}
	s.list = append(s.list, &service{name: name, ln: ln, serve: serve, shutdown: shutdown})
}

// Addrs reports what each listener actually bound (ephemeral ports resolved).
func (s *services) Addrs() map[string]string {
	m := make(map[string]string, len(s.list))
	for _, sv := range s.list {
		a := sv.ln.Addr()
		if a.Network() == "unix" {
			m[sv.name] = "unix:" + a.String()
		} else {
			m[sv.name] = a.String()
		}
	}
	return m
}

// Names lists the services in a stable order, for logs.
func (s *services) Names() []string {
	var n []string
	for _, sv := range s.list {
		n = append(n, sv.name)
	}
	sort.Strings(n)
	return n
}

// Start runs every service; the channel receives the first unexpected serve error.
func (s *services) Start() <-chan error {
	errc := make(chan error, len(s.list))
	for _, sv := range s.list {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := sv.serve(sv.ln); err != nil && !isClosedErr(err) {
				errc <- fmt.Errorf("%s: %w", sv.name, err)
			}
		}()
	}
	return errc
}

// Shutdown stops every service in parallel within ctx's deadline.
func (s *services) Shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	for _, sv := range s.list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sv.shutdown(ctx); err != nil && !isClosedErr(err) {
				s.log.Warn("shutdown", "listener", sv.name, "err", err)
			}
		}()
	}
	wg.Wait()
	s.wg.Wait()
	s.stopped = true
}

// CloseListeners closes every bound listener; used when the start fails half way.
func (s *services) CloseListeners() {
	for _, sv := range s.list {
		sv.ln.Close()
	}
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed)
}
