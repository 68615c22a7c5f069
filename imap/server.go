package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/postern/postern/connset"
	"github.com/postern/postern/event"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// AuthLimiter slows down and locks out password guessing. The server shares one with
// SMTP AUTH. Allow is asked before a password is checked and returns an error while the
// client IP or the account is locked out; Record reports each outcome. May be nil.
type AuthLimiter interface {
	Allow(ctx context.Context, ip, user string) error
	Record(ip, user string, ok bool)
}

// EventSink receives the server's events (package event): Login.
type EventSink interface {
	Emit(event.Event)
}

// Options configure a Server.
type Options struct {
	Store       *store.Store
	MaildirRoot func(user string) string // a user's Maildir root, <state>/mail/<domain>/<local>
	Namer       *maildir.Namer
	TLSConfig   *tls.Config // for STARTTLS; nil disables STARTTLS
	Logger      *slog.Logger
	Events      EventSink // logins (package event); nil: none
	Hostname    string
	AuthLimiter AuthLimiter
	// AppendLimit is the largest message APPEND accepts (APPENDLIMIT, RFC 7889).
	// Default 50 MiB.
	AppendLimit uint32
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// RescanGrace is how young a file in new/ that the index does not know yet must be
	// for a rescan to leave it to the delivery that is indexing it. Default 5s.
	RescanGrace time.Duration
	// RescanInterval is how often, at most, the poll after a command that read
	// messages (FETCH, STORE, SEARCH) stats the folder for changes made by other
	// programs; NOOP, SELECT, STATUS and IDLE always look. Default 1s.
	RescanInterval time.Duration
	// KeptSnapshots is how many in-memory mailbox snapshots no session has selected
	// are kept for the next SELECT (see snapshot.go). Default 4; negative keeps none.
	KeptSnapshots int
	// SummaryDelay is how long after a delivery's MailboxChanged the background
	// summariser waits, gathering further deliveries, before it computes the new
	// messages' cache entries. Default 200ms.
	SummaryDelay time.Duration
	// ConnLimiter admits or refuses each connection; nil admits all.
	ConnLimiter ConnLimiter
	// UserLimiter limits logged-in sessions per user and client network; nil is none.
	UserLimiter UserLimiter
	// LoginTimeout closes a connection that has not logged in this long after it was
	// accepted; 0 is none.
	LoginTimeout time.Duration
	// IdleTimeout bounds every wait for the client (the library's own are 30 s before
	// login and 35 min after); 0 keeps the library's.
	IdleTimeout time.Duration
	// SpamLearner, if set, is told about messages moved into and out of Junk
	// and appended to it (see learn.go); nil learns nothing.
	SpamLearner SpamLearner
	// SieveEvents, if set, hears of APPEND, COPY/MOVE and STORE on messages, the
	// events imapsieve scripts run on (imapsieve.go); nil: none.
	SieveEvents SieveEvents
	// Debug, if set, receives the raw protocol (with passwords!); tests only.
	Debug io.Writer
}

// Server is the IMAP service of one postern process.
type Server struct {
	opts     Options
	log      *slog.Logger
	plain    *imapserver.Server // port 143: STARTTLS before LOGIN
	implicit *imapserver.Server // port 993: the listener is already TLS
	hub      *hub
	locks    userLocks
	dirs     dirStamps
	snaps    snapshots
	keywords keywordCache
	recent   recentFloors
	sums     summarizer
	sessions sessionRegistry
	// refuser writes the BYE of refused connections (guard.go): a fixed number of
	// writers with a short deadline.
	refuser *connset.Refuser

	// bg counts background work (cache writes, the summariser) that Shutdown waits
	// for; closing, under bgMu, refuses new work once Shutdown has begun.
	bgMu    sync.Mutex
	bg      sync.WaitGroup
	closing bool

	// queries are the store's prepared hot statements, made on first use.
	qMu     sync.Mutex
	queries *store.IMAPQueries
}

// NewServer builds the server; it listens only when Serve is called.
func NewServer(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.AppendLimit == 0 {
		o.AppendLimit = 50 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RescanGrace == 0 {
		o.RescanGrace = 5 * time.Second
	}
	if o.Namer == nil {
		o.Namer = maildir.NewNamer(o.Hostname, o.Now)
	}
	if o.RescanInterval == 0 {
		o.RescanInterval = time.Second
	}
	if o.KeptSnapshots == 0 {
		o.KeptSnapshots = 4
	}
	if o.SummaryDelay == 0 {
		o.SummaryDelay = 200 * time.Millisecond
	}
	s := &Server{opts: o, log: o.Logger, hub: newHub(),
		refuser: connset.NewRefuser(connset.DefaultRefusers, connset.DefaultRefuseTimeout)}
	s.snaps = snapshots{st: o.Store, state: s.mailboxState, maxIdle: max(o.KeptSnapshots, 0)}
	s.sums = summarizer{srv: s, started: time.Now()}
	s.plain = s.newIMAPServer(o.TLSConfig, false)
	s.implicit = s.newIMAPServer(nil, true)
	return s
}

func (s *Server) newIMAPServer(tlsConfig *tls.Config, implicit bool) *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.newSession(c, implicit), nil, nil
		},
		Caps:        capabilities(),
		Logger:      slogAdapter{s.log},
		TLSConfig:   tlsConfig,
		IsTLS:       isTLS, // connections are wrapped in a batchConn
		DebugWriter: s.opts.Debug,
	})
}

// capabilities are what we advertise (filtered by connection state by the library).
func capabilities() goimap.CapSet {
	caps := goimap.CapSet{}
	for _, c := range []goimap.Cap{
		goimap.CapIMAP4rev1, goimap.CapIMAP4rev2, goimap.CapIdle, goimap.CapNamespace,
		goimap.CapUIDPlus, goimap.CapMove, goimap.CapSpecialUse, goimap.CapCreateSpecialUse,
		goimap.CapListExtended, goimap.CapListStatus, goimap.CapESearch, goimap.CapSearchRes,
		goimap.CapLiteralPlus, goimap.CapBinary, goimap.CapStatusSize, goimap.CapChildren,
		goimap.CapCondStore, goimap.CapSort, goimap.CapESort, goimap.CapID, goimap.CapAppendLimit,
		goimap.CapQResync, "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", // qresync.go, thread.go
	} {
		caps[c] = struct{}{}
	}
	return caps
}

// Serve accepts IMAP connections on ln until Shutdown. implicitTLS says ln is a TLS
// listener (port 993); otherwise clients must STARTTLS before they may log in.
func (s *Server) Serve(ln net.Listener, implicitTLS bool) error {
	srv := s.plain
	if implicitTLS {
		srv = s.implicit
	}
	err := srv.Serve(batchListener{Listener: ln, srv: s})
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, closes idle connections and waits for the others until ctx
// ends, then closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, srv := range []*imapserver.Server{s.plain, s.implicit} {
		wg.Go(func() { errs[i] = srv.Shutdown(ctx) })
	}
	wg.Wait()
	s.refuser.Wait()
	s.bgMu.Lock()
	s.closing = true
	s.bgMu.Unlock()
	s.sums.stop()
	s.qMu.Lock()
	if s.queries != nil {
		s.queries.Close()
		s.queries = nil
	}
	s.qMu.Unlock()
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs[2] = fmt.Errorf("imap: background work still running: %w", ctx.Err())
	}
	return errors.Join(errs...)
}

// mailboxState reads a mailbox's counters through the prepared statement, falling back
// to the store's plain query if it cannot be prepared.
func (s *Server) mailboxState(ctx context.Context, mailboxID int64) (store.MailboxState, error) {
	s.qMu.Lock()
	q := s.queries
	if q == nil {
		s.bgMu.Lock()
		closing := s.closing
		s.bgMu.Unlock()
		if !closing {
			var err error
			if q, err = s.opts.Store.PrepareIMAPQueries(ctx); err != nil {
				s.log.Warn("imap: preparing queries", "err", err)
			}
			s.queries = q
		}
	}
	s.qMu.Unlock()
	if q == nil {
		return s.opts.Store.GetMailboxState(ctx, mailboxID)
	}
	return q.MailboxState(ctx, mailboxID)
}

// goBackground runs fn as background work Shutdown waits for; false if the server is
// shutting down (fn is not run).
func (s *Server) goBackground(fn func()) bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.closing {
		return false
	}
	s.bg.Go(fn)
	return true
}

// MailboxChanged tells the IMAP sessions of user that have mailbox selected that it has
// changed (a delivery indexed a new message), so IDLE clients hear of it at once. The
// delivery agent calls it after AddMessages; it never blocks.
func (s *Server) MailboxChanged(user, mailbox string) {
	addr, err := store.NormalizeAddress(user)
	if err != nil {
		return
	}
	if mailbox == "" {
		mailbox = store.InboxName
	}
	name, err := store.NormalizeMailboxName(mailbox)
	if err != nil {
		return
	}
	s.hub.notify(addr, name, nil)
	s.sums.kick(addr, name)
}

// slogAdapter gives go-imap's Logger interface a slog.Logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, args ...any) {
	a.l.Warn("imap: " + fmt.Sprintf(format, args...))
}
