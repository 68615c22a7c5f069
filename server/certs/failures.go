package certs

import (
	"sort"
	"sync"
	"time"
)

// Failure is a certificate that could not be renewed (ACME) or reloaded (files): the
// current certificate keeps serving until it expires. The alerts tell the owner.
type Failure struct {
	Name      string        // the certificate's name (ACME) or its file
	At        time.Time     // the last failed attempt
	Err       string        // why
	Remaining time.Duration // how long the serving certificate is still valid; 0 if unknown
}

// failures are the open failures by name; a success clears its name.
type failures struct {
	mu sync.Mutex
	m  map[string]Failure
}

func (f *failures) set(x Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]Failure{}
	}
	f.m[x.Name] = x
}

func (f *failures) clear(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, name)
}

func (f *failures) list() []Failure {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Failure, 0, len(f.m))
	for _, x := range f.m {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Failures lists the certificates whose last renewal (ACME) or reload (the [tls] files)
// failed, and that have not succeeded since.
func (m *Manager) Failures() []Failure {
	out := m.failed.list()
	if m.acme != nil {
		out = append(out, m.acme.failed.list()...)
	}
	return out
}
