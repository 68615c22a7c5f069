package localsubmit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/postern/postern/connset"
	"io"
	"log/slog"
	"net"
	"os"
	"os/user"
	"slices"
	"strconv"
	"time"

	"github.com/postern/postern/peercred"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
)

// Deliverer is what local submission needs of the delivery agent: delivery, and
// bounces for the pickup directory, where no caller waits to be told of a refusal.
type Deliverer interface {
	Deliver(ctx context.Context, env *smtp.Envelope, msg smtp.Message) []error
	Bounce(ctx context.Context, id, sender string, arrival time.Time, failed []queue.RcptInfo, msg smtp.Message) error
}

// Queue is what mailq for one user needs of the outbound queue (smtp/queue's Queue).
type Queue interface {
	// ListSubmittedBy lists the oldest max entries uid submitted, and how many more.
	ListSubmittedBy(uid uint32, max int) ([]queue.Info, int)
}

// Options configure a Server.
type Options struct {
	Deliverer Deliverer
	// Names places recipients that are names of this machine (rewrite.go); nil: every
	// recipient is delivered as qualified.
	Names Names
	// MachineNames are this machine's own names besides Hostname (the kernel's host
	// name, its FQDN): name@ one of them is rewritten like a bare name.
	MachineNames    []string
	Queue           Queue    // nil: no outbound queue, mailq lists only pickup and the maildrop
	Verifier        Verifier // nil: sendmail -bv cannot verify
	Hostname        string
	LocalSender     string        // [smtp] local_sender; "" = login@hostname
	MaxSize         int64         // [smtp] message_size_limit
	MaxRcpts        int           // [smtp] max_recipients
	Lifetime        time.Duration // [queue] lifetime: how long a deferred pickup retry is tried
	PickupDir       string        // created (mode 2730) if missing: the daemon's own retries
	MaildropDir     string        // created (mode 3733) if missing: sendmail of any user, daemon down
	PerUIDPerMinute int           // messages one uid (not root) may submit per minute; 0: no limit
	SpoolDir        string        // where messages wait while they are delivered
	Logger          *slog.Logger
	Now             func() time.Time // nil: time.Now
	// UserName maps a uid to a login name, "" when unknown; nil: the user database.
	UserName func(uid uint32) string
	// Privileged says whether uid may see what the admin socket shows (an alias's
	// targets in sendmail -bv); nil: root, the daemon's user and its group's members.
	Privileged func(uid uint32) bool
}

// Server takes messages from the submission socket and the pickup directory: one
// service, started by Serve and stopped by Shutdown.
type Server struct {
	deliver     Deliverer
	rewrite     *rewriter
	queue       Queue
	verifier    Verifier
	hostname    string
	localSender string
	maxSize     int64
	maxRcpts    int
	lifetime    time.Duration
	pickupDir   string
	maildropDir string
	rate        *uidRate  // submissions, socket and maildrop together
	queries     *uidRate  // list and verify, a window of their own: mailq in a loop delays no mail
	slots       *uidSlots // connections open per uid
	gate        *logGate  // what a user can repeat is logged at most every logEvery
	spoolDir    string
	log         *slog.Logger
	now         func() time.Time
	userName    func(uid uint32) string
	privileged  func(uid uint32) bool

	ctx    context.Context // cancelled by Shutdown once connections are done or time is up
	cancel context.CancelFunc
	stop   context.Context // cancelled as Shutdown begins: no new pickup file is started
	halt   context.CancelFunc
	conns  connset.Set[net.Conn] // the socket, its connections and the pickup scanner
}

// New makes the pickup directory if needed and returns the server.
func New(o Options) (*Server, error) {
	if err := ensurePickupDir(o.PickupDir); err != nil {
		return nil, err
	}
	if err := ensureMaildropDir(o.MaildropDir); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserName == nil {
		o.UserName = loginName
	}
	if o.Privileged == nil {
		o.Privileged = inDaemonGroup
	}
	s := &Server{deliver: o.Deliverer, rewrite: newRewriter(o.Names, o.Hostname, o.MachineNames), queue: o.Queue,
		verifier: o.Verifier, privileged: o.Privileged, hostname: o.Hostname, localSender: o.LocalSender, maxSize: o.MaxSize,
		maxRcpts: o.MaxRcpts, lifetime: o.Lifetime, pickupDir: o.PickupDir, maildropDir: o.MaildropDir, spoolDir: o.SpoolDir,
		log: o.Logger, now: o.Now, userName: o.UserName, rate: newUIDRate(o.PerUIDPerMinute, o.Now),
		queries: newUIDRate(o.PerUIDPerMinute, o.Now), slots: newUIDSlots(maxConnsPerUID), gate: newLogGate(o.Now)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.stop, s.halt = context.WithCancel(context.Background())
	return s, nil
}

// loginName looks a uid up in the user database.
func loginName(uid uint32) string {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}

// inDaemonGroup is true for root, the daemon's own uid, and the members of its group.
func inDaemonGroup(uid uint32) bool {
	if uid == 0 || uid == uint32(os.Getuid()) {
		return true
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return false
	}
	gids, err := u.GroupIds()
	if err != nil {
		return false
	}
	return slices.Contains(gids, strconv.Itoa(os.Getgid()))
}

// Serve scans pickup now and periodically, and accepts sendmail connections on ln.
func (s *Server) Serve(ln net.Listener) error {
	begin := time.Now()
	if !s.conns.Listen(ln) || !s.conns.Go(func() { s.scanLoop(begin) }) {
		return net.ErrClosed
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		if !s.conns.Add(c) {
			c.Close()
			return net.ErrClosed
		}
		go s.conn(c)
	}
}

func (s *Server) conn(c net.Conn) {
	defer s.conns.Done(c)
	cred, err := peercred.Of(c)
	if err != nil {
		// Without the uid the message could not be traced to its sender.
		s.log.Warn("local submission refused: peer credentials unavailable", "err", err)
		c.Close()
		return
	}
	s.admit(c, cred.UID, cred.PID)
}

// admit serves c when its uid holds fewer than maxConnsPerUID connections, and refuses
// it at once otherwise (temporary: sendmail keeps the message in the maildrop).
func (s *Server) admit(c net.Conn, uid uint32, pid int32) {
	if !s.slots.acquire(uid) {
		s.logLimited(s.log, slog.LevelWarn, uidKey("conns", uid), "local submission refused: this uid holds too many connections",
			"uid", uid, "pid", pid, "limit", maxConnsPerUID)
		c.SetDeadline(time.Now().Add(time.Second))
		writeReply(c, Reply{Error: fmt.Sprintf("uid %d already holds %d connections to the daemon; try again later", uid, maxConnsPerUID), Temporary: true})
		c.Close()
		return
	}
	defer s.slots.release(uid)
	s.serveConn(s.ctx, c, uid, pid)
}

// writeReply writes the reply line.
func writeReply(c net.Conn, r Reply) error {
	r.V = Version
	b, _ := json.Marshal(r)
	_, err := c.Write(append(b, '\n'))
	return err
}

// Shutdown stops accepting, waits for messages being submitted (their senders are
// waiting for the reply) until ctx ends, then cancels what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.halt()
	return s.conns.Shutdown(ctx, nil, nil, s.cancel)
}

// serveConn answers one client of the submission socket.
func (ls *Server) serveConn(ctx context.Context, c net.Conn, uid uint32, pid int32) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(connTimeout))
	log := ls.log.With("uid", uid, "pid", pid)
	br := bufio.NewReader(c)
	reply := func(r Reply) {
		if err := writeReply(c, r); err != nil {
			ls.logLimited(log, slog.LevelWarn, uidKey("gone", uid), "sendmail went away before the reply", "id", r.ID, "err", err)
		}
	}
	req, err := readRequest(br)
	if err != nil {
		ls.logLimited(log, slog.LevelWarn, uidKey("malformed", uid), "local submission refused", "err", err)
		reply(Reply{Error: err.Error()})
		return
	}
	if req.Prepared || req.UID != nil {
		reply(Reply{Error: "prepared and uid are for the daemon's own pickup files"})
		return
	}
	if req.Op != OpSubmit && !ls.queries.allow(uid) {
		ls.logLimited(log, slog.LevelWarn, uidKey("queries", uid), "local submission: list or verify refused: this uid is over its rate",
			"op", req.Op, "limit_per_minute", ls.queries.perMinute)
		reply(Reply{Error: fmt.Sprintf("more than %d list or verify requests a minute from uid %d; try again later", ls.queries.perMinute, uid), Temporary: true})
		return
	}
	switch req.Op {
	case OpList:
		reply(ls.listFor(uid))
		return
	case OpVerify:
		reply(ls.verify(ctx, uid, req.Rcpts))
		return
	}
	if !ls.rate.allow(uid) {
		ls.logLimited(log, slog.LevelWarn, uidKey("rate", uid), "local submission deferred: this uid is over its rate",
			"limit_per_minute", ls.rate.perMinute)
		reply(Reply{Error: fmt.Sprintf("more than %d messages a minute from uid %d; kept for later", ls.rate.perMinute, uid), Temporary: true})
		return
	}
	if req.Size > ls.maxSize {
		reply(Reply{Error: fmt.Sprintf("message of %d bytes is larger than the limit of %d bytes (smtp.message_size_limit)", req.Size, ls.maxSize)})
		return
	}
	msg, err := ls.spool(io.LimitReader(br, req.Size), req.Size)
	if err != nil {
		ls.logLimited(log, slog.LevelWarn, uidKey("short", uid), "local submission: reading the message failed", "err", err)
		reply(Reply{Error: err.Error(), Temporary: true})
		return
	}
	defer msg.remove()
	reply(ls.submit(ctx, req, uid, msg, false))
}
