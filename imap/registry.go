package imap

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// SessionInfo describes one open IMAP connection, for `postern who`.
type SessionInfo struct {
	User      string    `json:"user"` // "" until the client logged in
	Client    string    `json:"client"`
	TLS       bool      `json:"tls"` // implicit TLS (993); STARTTLS sessions are TLS once logged in
	Connected time.Time `json:"connected"`
	Mailbox   string    `json:"mailbox,omitempty"` // the selected mailbox
}

// sessionRegistry knows every open session, so that the owner can list them and end
// a user's (Kick). Sessions report their login and selection; the registry only reads
// its own copies, never a session's fields, so it needs no session's cooperation.
type sessionRegistry struct {
	mu sync.Mutex
	m  map[*session]*registered
}

type registered struct {
	info SessionInfo
	conn *imapserver.Conn
}

func (r *sessionRegistry) add(ss *session, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[*session]*registered{}
	}
	r.m[ss] = &registered{info: SessionInfo{Client: ss.ip, TLS: ss.implicit, Connected: now}, conn: ss.conn}
}

func (r *sessionRegistry) remove(ss *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, ss)
}

// update changes the registered copy of ss's info.
func (r *sessionRegistry) update(ss *session, fn func(*SessionInfo)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.m[ss]; e != nil {
		fn(&e.info)
	}
}

func (r *sessionRegistry) list() []SessionInfo {
	r.mu.Lock()
	out := make([]SessionInfo, 0, len(r.m))
	for _, e := range r.m {
		out = append(out, e.info)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b SessionInfo) int {
		if c := strings.Compare(a.User, b.User); c != 0 {
			return c
		}
		return a.Connected.Compare(b.Connected)
	})
	return out
}

// connsOf returns the connections logged in as user.
func (r *sessionRegistry) connsOf(user string) []*imapserver.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*imapserver.Conn
	for _, e := range r.m {
		if e.info.User == user && e.conn != nil {
			out = append(out, e.conn)
		}
	}
	return out
}

// Sessions lists the open IMAP connections, logged in or not, by user and age.
func (s *Server) Sessions() []SessionInfo { return s.sessions.list() }

// Kick ends every IMAP session of user with a BYE (the client may log in again) and
// returns how many it ended. Each BYE waits at most for the connection's write timeout.
func (s *Server) Kick(user string) int {
	conns := s.sessions.connsOf(normalizedUser(user))
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { _ = c.Bye("Disconnected by the administrator") })
	}
	wg.Wait()
	return len(conns)
}
