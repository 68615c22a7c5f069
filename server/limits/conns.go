package limits

import (
	"errors"
	"net/netip"
	"sync"
)

// The refusals of Conns.Admit and Users.Admit; listeners put them in their protocol's
// refusal (421 4.7.0, * BYE, NO [LIMIT]).
var (
	ErrTooManyConnections = errors.New("too many connections")
	ErrTooManyFromNetwork = errors.New("too many connections from your network")
	ErrTooManyForUser     = errors.New("too many connections for this user from your network")
)

// ConnConfig is one listener's connection limits; 0 is unlimited.
type ConnConfig struct {
	Max               int // open connections in total
	PerNetwork        int // open connections from one client network outside Trusted
	PerTrustedNetwork int // open connections from one client network inside Trusted
	Trusted           []netip.Prefix
	Networks          Networks
}

// Conns counts one listener's open connections (a pair of listeners, such as 143 and
// 993, may share one). It is safe for concurrent use.
type Conns struct {
	cfg ConnConfig

	mu    sync.Mutex
	total int
	per   map[netip.Prefix]int
}

// NewConns returns an empty counter with cfg's limits.
func NewConns(cfg ConnConfig) *Conns {
	return &Conns{cfg: cfg, per: map[netip.Prefix]int{}}
}

// Trusted reports whether addr is in the trusted networks.
func (c *Conns) Trusted(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range c.cfg.Trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Admit counts a new connection from addr, or refuses it with ErrTooManyConnections or
// ErrTooManyFromNetwork. release must be called exactly once when the connection ends.
// A unix-socket peer (invalid addr) counts towards Max only.
func (c *Conns) Admit(addr netip.Addr) (release func(), err error) {
	net := c.cfg.Networks.Of(addr)
	per := c.cfg.PerNetwork
	if !addr.IsValid() {
		per = 0
	} else if c.Trusted(addr) {
		per = c.cfg.PerTrustedNetwork
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.cfg.Max > 0 && c.total >= c.cfg.Max:
		return nil, ErrTooManyConnections
	case per > 0 && c.per[net] >= per:
		return nil, ErrTooManyFromNetwork
	}
	c.total++
	if per > 0 {
		c.per[net]++
	}
	var once sync.Once
	return func() { once.Do(func() { c.release(net, per > 0) }) }, nil
}

func (c *Conns) release(net netip.Prefix, counted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if counted {
		if c.per[net]--; c.per[net] <= 0 {
			delete(c.per, net)
		}
	}
}

// Open returns the number of open connections (for tests and metrics).
func (c *Conns) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Users counts logged-in sessions per (user, client network), like Dovecot's
// mail_max_userip_connections.
type Users struct {
	max, trustedMax int
	nets            Networks
	trusted         *Conns // only for its Trusted

	mu   sync.Mutex
	open map[userNet]int
}

type userNet struct {
	user string
	net  netip.Prefix
}

// NewUsers returns a counter allowing max sessions per user and client network, and
// trustedMax from a network in trusted; 0 is unlimited.
func NewUsers(max, trustedMax int, trusted []netip.Prefix, nets Networks) *Users {
	return &Users{max: max, trustedMax: trustedMax, nets: nets, trusted: NewConns(ConnConfig{Trusted: trusted}), open: map[userNet]int{}}
}

// Admit counts a session of user (already normalised by the login) from addr, or
// refuses it with ErrTooManyForUser. release must be called once when it ends.
func (u *Users) Admit(user string, addr netip.Addr) (release func(), err error) {
	k := userNet{user, u.nets.Of(addr)}
	limit := u.max
	if u.trusted.Trusted(addr) {
		limit = u.trustedMax
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if limit > 0 && u.open[k] >= limit {
		return nil, ErrTooManyForUser
	}
	u.open[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			if u.open[k]--; u.open[k] <= 0 {
				delete(u.open, k)
			}
		})
	}, nil
}
