package senderauth

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
)

// Resolver is the DNS a Checker needs; *net.Resolver satisfies it.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// lookupClass says how a lookup ended: found records, no such records, or a
// failure that may go away (a timeout, SERVFAIL, a refused connection).
type lookupClass int

const (
	lookupOK lookupClass = iota
	lookupNotFound
	lookupTemporary
)

// classify sorts a lookup error. Anything that is not a definite "no such
// name / no such record" is temporary: guessing "not found" on an odd error
// would turn a DNS outage into a pass.
func classify(err error) lookupClass {
	if err == nil {
		return lookupOK
	}
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return lookupNotFound
	}
	return lookupTemporary
}

// strictResolver passes lookups to a Resolver and turns every error that is
// not a definite "not found" into a temporary *net.DNSError, the one shape
// the SPF and DKIM libraries recognise as temporary (they test the concrete
// type). Without it, a refused connection to the DNS server could read as a
// permanent error, and a permanent error as no record at all.
type strictResolver struct{ r Resolver }

func strict(name string, err error) error {
	switch classify(err) {
	case lookupOK:
		return nil
	case lookupNotFound:
		return err
	}
	var de *net.DNSError
	if errors.As(err, &de) && de.Temporary() {
		return de
	}
	return &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true}
}

func (s strictResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := s.r.LookupTXT(ctx, name)
	return v, strict(name, err)
}

func (s strictResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := s.r.LookupMX(ctx, name)
	return v, strict(name, err)
}

func (s strictResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	v, err := s.r.LookupIPAddr(ctx, host)
	return v, strict(host, err)
}

func (s strictResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	v, err := s.r.LookupAddr(ctx, addr)
	return v, strict(addr, err)
}

// budgetResolver counts the queries of one message against Options.MaxQueries;
// past it every query fails temporarily, so the message is deferred: a spent
// budget never reads as "no record", which would let a forged From: pass.
type budgetResolver struct {
	r    Resolver
	left *atomic.Int64
}

// withBudget returns a copy of c whose resolver counts one message's queries.
func (c *Checker) withBudget() *Checker {
	left := &atomic.Int64{}
	left.Store(int64(c.opts.MaxQueries))
	run := &Checker{opts: c.opts}
	run.opts.Resolver = budgetResolver{r: c.opts.Resolver, left: left}
	return run
}

func (b budgetResolver) spend(name string) error {
	if b.left.Add(-1) < 0 {
		return &net.DNSError{Err: "the DNS query budget of this message is spent", Name: name, IsTemporary: true}
	}
	return nil
}

func (b budgetResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := b.spend(name); err != nil {
		return nil, err
	}
	return b.r.LookupTXT(ctx, name)
}

func (b budgetResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := b.spend(name); err != nil {
		return nil, err
	}
	return b.r.LookupMX(ctx, name)
}

func (b budgetResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if err := b.spend(host); err != nil {
		return nil, err
	}
	return b.r.LookupIPAddr(ctx, host)
}

func (b budgetResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	if err := b.spend(addr); err != nil {
		return nil, err
	}
	return b.r.LookupAddr(ctx, addr)
}
