package durable

import "sync"

// DirSyncer group-commits directory fsyncs. Concurrent deliveries into one Maildir
// folder each need its directory entry on disk before they acknowledge; one fsync of the
// directory covers every entry made before it started, so callers that arrive while a
// sync of the same directory runs wait for the next one and share it. Nobody is answered
// before a sync that began after their own change has finished.
//
// The zero value is ready to use; share one per process (it holds no file descriptors).
type DirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirGroup
}

type dirGroup struct {
	running bool
	waiting []chan error
}

// Sync fsyncs dir, sharing the work with concurrent callers for the same dir.
func (s *DirSyncer) Sync(dir string) error {
	done := make(chan error, 1)
	s.mu.Lock()
	if s.dirs == nil {
		s.dirs = map[string]*dirGroup{}
	}
	g := s.dirs[dir]
	if g == nil {
		g = &dirGroup{}
		s.dirs[dir] = g
	}
	g.waiting = append(g.waiting, done)
	if !g.running {
		g.running = true
		go s.run(dir, g)
	}
	s.mu.Unlock()
	return <-done
}

// run syncs dir for as long as callers are waiting, each batch after the previous one.
// When no caller arrived during a sync, the group is removed before that sync's callers
// are answered, so a caller that has returned never leaves a group behind.
func (s *DirSyncer) run(dir string, g *dirGroup) {
	s.mu.Lock()
	batch := g.waiting
	g.waiting = nil
	s.mu.Unlock()
	for {
		err := SyncDir(dir)
		s.mu.Lock()
		next := g.waiting
		g.waiting = nil
		if len(next) == 0 {
			g.running = false
			delete(s.dirs, dir)
		}
		s.mu.Unlock()
		for _, c := range batch {
			c <- err
		}
		if len(next) == 0 {
			return
		}
		batch = next
	}
}

// LinkShared is Link with the directory fsync shared through s (nil: a plain fsync).
func LinkShared(s *DirSyncer, oldname, newname string) error {
	if s == nil {
		return Link(oldname, newname)
	}
	if err := linkOnly(oldname, newname); err != nil {
		return err
	}
	return s.Sync(dirOf(newname))
}
