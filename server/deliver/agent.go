package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/postern/postern/event"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// placement is where one user's copy of a message goes: a mailbox and the flags the
// stored copy gets. The delivery hook (Sieve) decides it.
type placement struct {
	Mailbox string   // client-visible name; "INBOX" or "" for the inbox
	Flags   []string // IMAP flags and keywords
	Create  bool     // create the mailbox if it does not exist (Sieve's :create)
	// Header, when not nil, replaces the message's header in this copy (Sieve's
	// editheader; the engine's Keep/FileInto.Header).
	Header []byte
}

// hookInput is what the delivery hook sees of one user's delivery.
type hookInput struct {
	User      string // the user's address
	Detail    string // the +detail of the recipient address, if any
	Recipient string // the envelope recipient that reached this user
	Envelope  *smtp.Envelope
	Message   smtp.Message
	// Parsed is the message as Sieve reads it, shared by every user of one delivery
	// so that it is read once, not once per recipient; nil: the hook reads Message.
	Parsed *parsedMessage
}

// deliveryHook decides what happens to one user's copy (Sieve). A decision with no
// placements, redirects or reject discards the message for that user. An error is logged
// and the message kept in INBOX: a failing filter never loses mail.
type deliveryHook interface {
	Decide(ctx context.Context, in *hookInput) (decision, error)
}

// inboxOnly is the hook without any filtering: everything into INBOX.
type inboxOnly struct{}

func (inboxOnly) Decide(context.Context, *hookInput) (decision, error) {
	return inboxDecision(), nil
}

// Enqueuer takes the copies that leave the server (server/outbound's Outbound).
type Enqueuer interface {
	Enqueue(ctx context.Context, env queue.Envelope, body io.Reader) (string, error)
}

// Signer DKIM-signs what leaves (server/outbound's Signer): Wanted says whether mail from
// from to rcpts is signed at all, Sign prepends the signature to the header a queued copy
// gets.
type Signer interface {
	Wanted(from string, rcpts []string) bool
	Sign(env *smtp.Envelope, msg smtp.Message, header []byte) []byte
}

// MailboxWatcher is told after a message is indexed, so that IMAP IDLE sessions see it
// (the IMAP server).
type MailboxWatcher interface {
	MailboxChanged(user, mailbox string)
}

// ProbeLimiter counts probes that are not logins against the client's network and says
// when a network has probed too much (server/limits.Logins): a forged SRS recipient is
// one, so RCPT cannot serve as an oracle for guessing SRS hashes.
type ProbeLimiter interface {
	Penalize(ip string)
	NetworkLocked(ip string) bool
}

// EventSink receives the agent's events (package event): one Delivery, stage local, per
// recipient that was delivered or refused here.
type EventSink interface {
	Emit(event.Event)
}

// Options are what the agent is built from; every dependency comes in here.
type Options struct {
	Store     *store.Store
	Directory *Directory     // the cached store lookups resolution uses (NewDirectory)
	Namer     *maildir.Namer // unique Maildir file names, shared with IMAP
	MailRoot  string         // config MailDir(): mail/DOMAIN/LOCAL
	StateDir  string         // where the SRS key is kept
	Hostname  string
	Delimiter string       // [smtp] recipient_delimiter
	Sieve     config.Sieve // the global scripts and the spam rule
	Out       Enqueuer     // nil: nothing can leave the server
	Signer    Signer       // nil: nothing is signed
	Watcher   MailboxWatcher
	Probes    ProbeLimiter // nil: bad SRS recipients are not counted
	Events    EventSink    // nil: none
	Logger    *slog.Logger
	Now       func() time.Time // nil: time.Now
}

// Agent is the local delivery agent: resolve each recipient, run the delivery
// hook per user, write the message once into the Maildirs (hard links for the other
// users), index every copy in one store transaction, and only then report success, which
// smtp turns into the 250. See package smtp for how per-recipient errors become replies.
type Agent struct {
	store      *store.Store
	recipients *expander
	namer      *maildir.Namer
	mailRoot   string
	hook       deliveryHook
	out        Enqueuer // nil: nothing can leave the server
	srs        *srs
	probes     ProbeLimiter // nil: probes are not counted
	dkim       Signer       // nil: outgoing mail is not signed
	hostname   string
	notify     MailboxWatcher // nil: nobody is told
	events     EventSink      // nil: none
	notifyCap  int            // [sieve] notify_max_per_hour; 0: none
	index      *indexBatcher
	log        *slog.Logger
	now        func() time.Time

	ensured sync.Map // "root\x00folder" -> struct{}: folders known to exist on disk
}

// New builds the agent: the Sieve scripts are compiled, the SRS key read (or made) and
// the index batcher started; Close stops it.
func New(o Options) (*Agent, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	hook, err := newSieveHook(o.Sieve, o.Store, o.Logger, o.Delimiter)
	if err != nil {
		return nil, err
	}
	srs, err := loadSRS(o.StateDir, o.Now)
	if err != nil {
		return nil, err
	}
	return &Agent{
		store:      o.Store,
		recipients: &expander{dir: o.Directory, delimiter: o.Delimiter, srs: srs},
		probes:     o.Probes,
		namer:      o.Namer,
		mailRoot:   o.MailRoot,
		hook:       hook,
		out:        o.Out,
		srs:        srs,
		dkim:       o.Signer,
		hostname:   o.Hostname,
		notify:     o.Watcher,
		events:     o.Events,
		notifyCap:  o.Sieve.NotifyMaxPerHour,
		index:      newIndexBatcher(o.Store, o.Logger),
		log:        o.Logger,
		now:        o.Now,
	}, nil
}

// Close stops the index batcher, after every delivery has returned.
func (a *Agent) Close() { a.index.Close() }

// PrepareUser gives a new user a Maildir with the default folders (INBOX, Drafts, Sent,
// Junk, Trash, Archive) and their special-use attributes in the index, so that a client
// that logs in before the first message arrives sees the usual folders.
func PrepareUser(ctx context.Context, st *store.Store, mailRoot, address string) error {
	root := UserRoot(mailRoot, address)
	if err := maildir.Create(root); err != nil {
		return err
	}
	m := &maildir.Maildir{Root: root}
	for _, mb := range store.DefaultMailboxes() {
		if mb.Name == store.InboxName {
			continue
		}
		if _, err := m.EnsureFolder(mb.Name); err != nil {
			return err
		}
	}
	return st.CreateDefaultMailboxes(ctx, address)
}

// UserRoot is a user's Maildir root: mail/DOMAIN/LOCAL (the state directory layout of
// docs/ARCHITECTURE.md).
func UserRoot(mailRoot, address string) string {
	local, domain := store.SplitAddress(address)
	return filepath.Join(mailRoot, domain, local)
}

// userCopy is one user's share of a delivery.
type userCopy struct {
	user       string
	detail     string
	rcpts      []int // indexes into env.Recipients
	placements []placement
	via        string            // how a recipient reached the user (alias, +detail, catch-all), for the log
	rules      []string          // the Sieve rules that decided, for the log
	redirected bool              // a Sieve redirect sent a copy on (nothing stored is not "discarded")
	uids       map[string]uint32 // placement mailbox -> the UID it got
}

// Deliver implements smtp.Deliverer.
func (a *Agent) Deliver(ctx context.Context, env *smtp.Envelope, msg smtp.Message) []error {
	start := a.now()
	errs := make([]error, len(env.Recipients))
	parsed := &parsedMessage{msg: msg}
	onward := &onwardCheck{env: env, parsed: parsed}
	copies, remote := a.plan(ctx, env, errs)
	if len(remote) > 0 {
		remote = a.holdForwards(env, onward, copies, remote, errs)
	}
	if len(remote) > 0 {
		a.enqueue(ctx, env, msg, remote, errs)
	}
	a.checkQuota(ctx, copies, msg.Size(), errs)
	var live []*userCopy
	for _, c := range copies {
		if errs[c.rcpts[0]] == nil {
			live = append(live, c)
		}
	}
	for _, c := range live {
		c.placements = a.decide(ctx, env, msg, parsed, onward, c, errs)
	}
	if err := a.store_(ctx, env, msg, live); err != nil {
		a.log.Error("delivery failed", "sid", env.Session.ID, "id", env.ID, "err", err)
		for _, c := range live {
			for _, i := range c.rcpts {
				errs[i] = smtp.Reply(451, [3]int{4, 3, 0}, "Error: local delivery failed, try again later")
			}
		}
	}
	a.logResults(env, msg, copies, errs, start)
	if env.Session.Role != smtp.RoleLMTP && !env.OwnReports {
		a.bouncePartial(ctx, env, msg, onward, errs)
	}
	return errs
}

// bouncePartial keeps the promise package smtp makes for one-reply roles: when some
// recipients were delivered and the rest failed for good (a Sieve reject among several
// users), the session answers 250 and we owe the sender a DSN for the failed ones.
// A sender who may not be answered (onward.go) gets none; the log says so.
func (a *Agent) bouncePartial(ctx context.Context, env *smtp.Envelope, msg smtp.Message, onward *onwardCheck, errs []error) {
	var failed []queue.RcptInfo
	delivered := false
	for i, err := range errs {
		var re *smtp.ReplyError
		switch {
		case err == nil:
			delivered = true
		case errors.As(err, &re) && !re.Temporary():
			failed = append(failed, queue.RcptInfo{Addr: env.Recipients[i], Status: queue.StatusFailed,
				Code: re.Code, Enhanced: re.EnhancedString(), LastError: re.Message})
		default:
			return // a temporary failure: the whole message is deferred, the sender retries
		}
	}
	if !delivered || len(failed) == 0 || env.From == "" {
		return
	}
	if ok, why := onward.mayAnswer(); !ok {
		a.log.Info("no DSN sent", smtp.KeySession, env.Session.ID, "id", env.ID, "to", env.From, "reason", why)
		return
	}
	if err := a.Bounce(ctx, env.ID, env.From, env.Received, failed, msg); err != nil {
		a.log.Error("bounce failed", smtp.KeySession, env.Session.ID, "id", env.ID, "to", env.From, "err", err)
	}
}

// Bounce sends sender a DSN (RFC 3464) for recipients of msg that failed for good,
// quoting msg's header section; id names the transaction, arrival is when it came.
func (a *Agent) Bounce(ctx context.Context, id, sender string, arrival time.Time, failed []queue.RcptInfo, msg smtp.Message) error {
	body, err := msg.Open()
	if err != nil {
		return err
	}
	orig, err := io.ReadAll(io.LimitReader(body, 256<<10))
	body.Close()
	if err != nil {
		return err
	}
	dsn := queue.BuildDSN(queue.DSN{Hostname: a.hostname, ID: id, Sender: sender, Arrival: arrival,
		Now: a.now(), Rcpts: failed, Original: orig})
	return a.send(ctx, "", []string{sender}, dsn, "bounce:"+id, "")
}

// remoteRcpt is a recipient the message leaves the server for.
type remoteRcpt struct {
	idx       int    // the envelope recipient it came from
	to        string // where it goes
	forwarded bool   // reached through an alias of ours: the sender is SRS-rewritten
	via       string // the local domain that forwards it (for SRS)
	resolved  string // how a forwarded copy was reached, for the log: "alias a@x -> b@y"
}

// plan resolves every recipient and groups them by user: a user reached through several
// recipients (an alias and the address itself) gets one copy. Recipients in other
// domains (relaying, which the Policy allowed at RCPT) and alias targets in other
// domains (forwarding) are returned for the queue.
func (a *Agent) plan(ctx context.Context, env *smtp.Envelope, errs []error) ([]*userCopy, []remoteRcpt) {
	byUser := map[string]*userCopy{}
	var order []*userCopy
	var remote []remoteRcpt
	for i, rcpt := range env.Recipients {
		res, err := a.recipients.Expand(ctx, rcpt)
		if errors.Is(err, errNotLocal) && mayRelay(env.Session) {
			remote = append(remote, remoteRcpt{idx: i, to: res.Recipient})
			continue
		}
		if err != nil {
			errs[i] = recipientReply(rcpt, err)
			continue
		}
		_, via := store.SplitAddress(res.Recipient)
		for _, t := range res.Targets {
			if t.Kind != targetLocal {
				remote = append(remote, remoteRcpt{idx: i, to: t.Address, forwarded: true, via: via, resolved: forwardedHow(t)})
				continue
			}
			c := byUser[t.Address]
			if c == nil {
				c = &userCopy{user: t.Address, detail: t.Detail, via: t.Via}
				byUser[t.Address] = c
				order = append(order, c)
			}
			c.rcpts = append(c.rcpts, i)
		}
	}
	return order, remote
}

// forwardedHow is how an alias target in another domain was reached, as the local
// "resolved" value reads: "alias a@x -> b@y".
func forwardedHow(t target) string {
	if t.Via == "" {
		return t.Address
	}
	return t.Via + " -> " + t.Address
}

// enqueue hands the remote recipients to the outbound queue, one queue entry per
// envelope sender: the sender as given for relayed and submitted mail, SRS-rewritten for
// mail we forward (so the relay accepts it and SPF passes at the destination). A local
// submitter's uid (env.LocalUID) goes with the copies to the addresses they named.
func (a *Agent) enqueue(ctx context.Context, env *smtp.Envelope, msg smtp.Message, remote []remoteRcpt, errs []error) {
	if a.out == nil {
		for _, r := range remote {
			errs[r.idx] = externalUnavailable(env.Recipients[r.idx])
		}
		return
	}
	order := a.queueGroups(env, remote)
	header := []byte(smtp.ReceivedHeader(env))
	for _, g := range order {
		if a.dkim != nil && a.dkim.Wanted(g.from, g.rcpts) {
			header = a.dkim.Sign(env, msg, header)
			break
		}
	}
	for _, g := range order {
		from := g.from
		body, err := msg.Open()
		if err == nil {
			var id string
			qe := queue.Envelope{From: from, Rcpts: g.rcpts, Origin: env.Session.Role.Listener() + " " + env.ID}
			if !g.forwarded {
				// The submitter sees the copies to the addresses they named, not those to an
				// alias's targets (whose owner chose them): see docs/ARCHITECTURE.md, mailq.
				qe.UID = env.LocalUID
			}
			id, err = a.out.Enqueue(ctx, qe, io.MultiReader(bytes.NewReader(header), body))
			body.Close()
			if err == nil {
				a.logQueued(env, id, from, g.rcpts, g.resolved, msg.Size())
			}
		}
		if err != nil {
			a.log.Error("queueing failed", smtp.KeySession, env.Session.ID, "id", env.ID, "err", err)
			for _, i := range g.idx {
				errs[i] = smtp.Reply(451, [3]int{4, 3, 0}, "Error: queue file write error, try again later")
			}
		}
	}
}

// queueGroup is the remote recipients of one message that share a queue entry.
type queueGroup struct {
	from      string
	rcpts     []string
	idx       []int
	resolved  []string
	forwarded bool // the copies to an alias's targets, kept apart from the named ones
}

// queueGroups splits the remote recipients by envelope sender, and the copies to alias
// targets from those to addresses the sender named, in the order of their first
// recipient.
func (a *Agent) queueGroups(env *smtp.Envelope, remote []remoteRcpt) []*queueGroup {
	groups := map[string]*queueGroup{}
	var order []*queueGroup
	seen := map[string]bool{}
	for _, r := range remote {
		from := env.From
		if r.forwarded && a.srs != nil {
			from = a.srs.Forward(env.From, r.via)
		}
		key := fmt.Sprintf("%t\x00%s", r.forwarded, from)
		g := groups[key]
		if g == nil {
			g = &queueGroup{from: from, forwarded: r.forwarded}
			groups[key] = g
			order = append(order, g)
		}
		g.idx = append(g.idx, r.idx)
		if r.resolved != "" {
			g.resolved = append(g.resolved, r.resolved)
		}
		if !seen[key+"\x00"+r.to] {
			seen[key+"\x00"+r.to] = true
			g.rcpts = append(g.rcpts, r.to)
		}
	}
	return order
}

// logQueued writes the "queued" line: the queue entry a copy went into, and for
// forwarded copies how each was reached (the trace follows the entry's attempts).
func (a *Agent) logQueued(env *smtp.Envelope, id, from string, rcpts, resolved []string, size int64) {
	attrs := []any{smtp.KeySession, env.Session.ID, "id", env.ID, "queue_id", id, "from", from,
		"to", strings.Join(rcpts, ","), "size", size, "status", "queued"}
	if len(resolved) > 0 {
		attrs = append(attrs, "resolved", strings.Join(resolved, ", "))
	}
	a.log.Info("queued", attrs...)
}

// checkQuota refuses the copies of users who are over their storage quota (RFC 3463
// 4.2.2 "mailbox full", temporary: the sender retries and the user may make room).
func (a *Agent) checkQuota(ctx context.Context, copies []*userCopy, size int64, errs []error) {
	for _, c := range copies {
		full, err := a.overQuota(ctx, c.user, size)
		if err != nil {
			a.log.Warn("quota check failed; delivering anyway", "user", c.user, "err", err)
			continue
		}
		if full {
			for _, i := range c.rcpts {
				errs[i] = smtp.Reply(452, [3]int{4, 2, 2}, "<%s>: Mailbox full", c.user)
			}
		}
	}
}

// overQuota reports whether size more bytes would take user past their quota. The quota
// comes from the expander's directory (cached briefly, flushed by every admin change), so
// the common case, a user with no quota, costs no query; the usage is always read fresh.
func (a *Agent) overQuota(ctx context.Context, user string, size int64) (bool, error) {
	u, err := a.recipients.dir.GetUser(ctx, user)
	if err != nil || u.QuotaBytes <= 0 {
		return false, err
	}
	used, err := a.store.UserUsage(ctx, user)
	if err != nil {
		return false, err
	}
	return used+size > u.QuotaBytes, nil
}

// decide runs the delivery hook and carries out what is not a store: a reject becomes
// this user's reply, redirects and a vacation reply go to the outbound side unless the
// message is held (onward.go). Any failure keeps the message in INBOX: a filter never
// loses mail.
func (a *Agent) decide(ctx context.Context, env *smtp.Envelope, msg smtp.Message, parsed *parsedMessage, onward *onwardCheck, c *userCopy, errs []error) []placement {
	in := &hookInput{User: c.user, Detail: c.detail, Recipient: env.Recipients[c.rcpts[0]], Envelope: env, Message: msg, Parsed: parsed}
	d, err := a.hook.Decide(ctx, in)
	if err != nil {
		a.log.Error("sieve failed; keeping the message in INBOX", "sid", env.Session.ID, "id", env.ID, "user", c.user, "err", err)
		d = inboxDecision()
		d.Rules = []string{"script failed: " + err.Error()}
	}
	if env.Quarantine != "" {
		d = quarantined(holdBack(d)) // Junk (a redirect's copy too), nothing sent
	}
	c.rules = d.Rules
	if err != nil {
		return d.Placements
	}
	d = a.holdOutgoing(env, onward, c.user, d)
	if d.Reject != "" {
		for _, i := range c.rcpts {
			errs[i] = smtp.Reply(550, [3]int{5, 7, 1}, "%s", oneLine(d.Reject))
		}
		return nil
	}
	if len(d.Redirects) > 0 {
		if err := a.redirect(ctx, env, c.user, d.Redirects, msg); err != nil {
			a.log.Error("sieve redirect failed; keeping a copy in INBOX", "user", c.user, "to", d.Redirects, "err", err)
			d.Placements = append(d.Placements, placement{Mailbox: store.InboxName})
		} else {
			c.redirected = true
			a.log.Info("redirected", smtp.KeySession, env.Session.ID, "id", env.ID, "user", c.user,
				"to", strings.Join(d.Redirects, ","), "resolved", redirectedHow(c.user, d))
		}
	}
	if d.Vacation != nil {
		if err := a.vacation(ctx, c.user, d.Vacation, env, msg); err != nil {
			a.log.Error("vacation reply failed", "user", c.user, "to", d.Vacation.To, "err", err)
		}
	}
	for _, n := range d.Notifies {
		if err := a.sendNotify(ctx, c.user, n, env, msg); err != nil {
			a.log.Error("sieve notification failed", "user", c.user, "to", n.To, "err", err)
		}
	}
	return dedupePlacements(d.Placements)
}

// redirectedHow tells, for the trace, how user's copy left by Sieve redirect: "redirect
// main:3 alice@x -> bob@y", one per address.
func redirectedHow(user string, d decision) string {
	how := make([]string, len(d.Redirects))
	for i, to := range d.Redirects {
		by := "redirect"
		if i < len(d.RedirectBy) && d.RedirectBy[i] != "" {
			by += " " + d.RedirectBy[i]
		}
		how[i] = by + " " + user + " -> " + to
	}
	return strings.Join(how, ", ")
}

// holdOutgoing removes from d what a held message may not make us send, and a
// vacation reply to a sender who may not be answered, saying so in the log.
func (a *Agent) holdOutgoing(env *smtp.Envelope, onward *onwardCheck, user string, d decision) decision {
	if len(d.Redirects) == 0 && len(d.Notifies) == 0 && d.Vacation == nil {
		return d
	}
	if why := onward.held(); why != "" {
		a.log.Warn("sieve: nothing sent on for a held message", smtp.KeySession, env.Session.ID, "id", env.ID, "user", user,
			"redirects", strings.Join(d.Redirects, ","), "notifications", len(d.Notifies), "vacation", d.Vacation != nil, "reason", why)
		return holdBack(d)
	}
	if d.Vacation == nil {
		return d
	}
	if ok, why := onward.mayAnswer(); !ok {
		a.log.Info("vacation reply not sent", smtp.KeySession, env.Session.ID, "id", env.ID, "user", user, "to", d.Vacation.To, "reason", why)
		d.Vacation = nil
	}
	return d
}

// dedupePlacements keeps one store per mailbox (INBOX in any case is one), last flags win.
func dedupePlacements(ps []placement) []placement {
	idx := map[string]int{}
	var out []placement
	for _, p := range ps {
		key := p.Mailbox
		if strings.EqualFold(key, store.InboxName) || key == "" {
			key = store.InboxName
		}
		if i, ok := idx[key]; ok {
			out[i].Flags = p.Flags
			out[i].Header = p.Header
			continue
		}
		idx[key] = len(out)
		out = append(out, p)
	}
	return out
}

// oneLine makes a reason safe for an SMTP reply line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// store_ writes the copies and indexes them.
func (a *Agent) store_(ctx context.Context, env *smtp.Envelope, msg smtp.Message, copies []*userCopy) error {
	var targets []maildir.Target
	var owners []string
	var edited [][]byte // per target: the edited header, nil for the message as it came
	var from []*userCopy
	for _, c := range copies {
		root := UserRoot(a.mailRoot, c.user)
		for _, p := range c.placements {
			folder := p.Mailbox
			if strings.EqualFold(folder, store.InboxName) {
				folder = ""
			}
			if err := a.ensureFolder(root, folder); err != nil {
				return err
			}
			targets = append(targets, maildir.Target{Root: root, Folder: folder, Flags: p.Flags})
			owners = append(owners, c.user)
			edited = append(edited, p.Header)
			from = append(from, c)
		}
	}
	if len(targets) == 0 {
		return nil // everything discarded or refused
	}
	header := deliveryHeader(env, copies)
	done, targets, owners, err := a.writeGroups(msg, header, targets, owners, edited)
	if err != nil {
		return err
	}
	recs := make([]store.NewMessage, len(done))
	for i, d := range done {
		base, _ := maildir.SplitInfo(d.Name)
		recs[i] = store.NewMessage{User: owners[i], Mailbox: d.Folder, Filename: base, Size: d.VSize,
			InternalDate: env.Received, Flags: targets[i].Flags}
	}
	added, err := a.indexCopies(ctx, recs)
	if err != nil {
		// Not acknowledged, so the sender will try again: take the files back rather
		// than leave copies the index does not know.
		for _, d := range done {
			_ = maildir.Remove(d.Path)
		}
		return fmt.Errorf("indexing: %w", err)
	}
	noteUIDs(from, owners, recs, added)
	if a.notify != nil {
		for i, d := range done {
			a.notify.MailboxChanged(owners[i], d.Folder)
		}
	}
	return nil
}

// indexCopies indexes the delivered files. An IMAP rescan may already have indexed one
// of them (a file in new/ whose delivery was slow to index): that copy is indexed, which
// is what counts, so the others are added one by one and ErrExists is success.
func (a *Agent) indexCopies(ctx context.Context, recs []store.NewMessage) ([]store.AddedMessage, error) {
	added, err := a.index.Add(ctx, recs)
	if !errors.Is(err, store.ErrExists) || len(recs) == 0 {
		return added, err
	}
	added = make([]store.AddedMessage, len(recs))
	for i, r := range recs {
		one, err := a.index.Add(ctx, []store.NewMessage{r})
		if err != nil && !errors.Is(err, store.ErrExists) {
			return nil, err
		}
		if len(one) == 1 {
			added[i] = one[0]
		}
	}
	return added, nil
}

// noteUIDs gives each copy the UIDs its mailboxes assigned, for the log (targets were
// regrouped by writeGroups: match them by owner and folder).
func noteUIDs(copies []*userCopy, owners []string, recs []store.NewMessage, added []store.AddedMessage) {
	byUser := map[string]*userCopy{}
	for _, c := range copies {
		byUser[c.user] = c
	}
	for i, r := range recs {
		c := byUser[owners[i]]
		if c == nil || i >= len(added) || added[i].UID == 0 {
			continue
		}
		if c.uids == nil {
			c.uids = map[string]uint32{}
		}
		c.uids[folderKey(r.Mailbox)] = added[i].UID
	}
}

// folderKey is the Maildir folder of a mailbox name: "" for INBOX.
func folderKey(mailbox string) string {
	if strings.EqualFold(mailbox, store.InboxName) {
		return ""
	}
	return mailbox
}

// ensureFolder makes sure a user's Maildir and folder exist, once per process.
func (a *Agent) ensureFolder(root, folder string) error {
	key := root + "\x00" + folder
	if _, ok := a.ensured.Load(key); ok {
		return nil
	}
	if err := maildir.Create(root); err != nil {
		return err
	}
	if folder != "" {
		m := &maildir.Maildir{Root: root, Namer: a.namer}
		if _, err := m.EnsureFolder(folder); err != nil {
			return err
		}
	}
	a.ensured.Store(key, struct{}{})
	return nil
}

// deliveryHeader is what a local delivery prepends (RFC 5321 section 4.4): Return-Path
// with the envelope sender, Delivered-To when the message goes to exactly one user
// (with several, one file is hard-linked into every mailbox, so it cannot name each
// user; Dovecot's LMTP does the same), then our Received line.
func deliveryHeader(env *smtp.Envelope, copies []*userCopy) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", env.From)
	if len(copies) == 1 {
		fmt.Fprintf(&b, "Delivered-To: %s\r\n", copies[0].user)
	}
	b.WriteString(smtp.ReceivedHeader(env))
	return []byte(b.String())
}

// logResults writes one mail-log line per recipient, Postfix-style: to, status, delay.
func (a *Agent) logResults(env *smtp.Envelope, msg smtp.Message, copies []*userCopy, errs []error, start time.Time) {
	where := map[int]string{}
	uids, how, rules := map[int][]string{}, map[int][]string{}, map[int][]string{}
	for _, c := range copies {
		var boxes []string
		for _, p := range c.placements {
			boxes = append(boxes, c.user+"/"+p.Mailbox)
			if u := c.uids[folderKey(p.Mailbox)]; u != 0 {
				for _, i := range c.rcpts {
					uids[i] = append(uids[i], strconv.FormatUint(uint64(u), 10))
				}
			}
		}
		for _, i := range c.rcpts {
			if c.via != "" {
				how[i] = append(how[i], c.via+" -> "+c.user)
			}
			if len(c.rules) > 0 {
				rules[i] = append(rules[i], strings.Join(c.rules, "; "))
			}
		}
		if len(c.placements) == 0 && errs[c.rcpts[0]] == nil {
			gone := "/(discarded)"
			if c.redirected {
				gone = "/(redirected)"
			}
			boxes = append(boxes, c.user+gone)
		}
		for _, i := range c.rcpts {
			if where[i] != "" {
				where[i] += ","
			}
			where[i] += strings.Join(boxes, ",")
		}
	}
	delay := a.now().Sub(env.Session.Start)
	client := "unix"
	if env.Session.RemoteAddr.IsValid() {
		client = env.Session.RemoteAddr.Addr().String()
	}
	for i, rcpt := range env.Recipients {
		if errs[i] == nil && where[i] == "" {
			continue // queued for a remote recipient: the "queued" line said so
		}
		ev := event.Delivery{Stage: event.StageLocal, Status: event.Delivered, ID: env.ID, From: env.From, Rcpt: rcpt,
			Where: where[i], Delay: delay, Service: env.Session.Role.Listener(), Session: env.Session.ID, Client: client,
			Size: msg.Size(), Took: a.now().Sub(start), Resolved: strings.Join(how[i], ", "),
			Sieve: strings.Join(rules[i], " | "), UIDs: strings.Join(uids[i], ",")}
		if errs[i] != nil {
			ev.Status, ev.Reason = event.Deferred, errs[i].Error()
			var re *smtp.ReplyError
			if errors.As(errs[i], &re) && !re.Temporary() {
				ev.Status = event.Bounced
			}
		}
		a.report(ev)
	}
}

// report writes the "delivered" or "not delivered" line of ev (deliveryLine) and emits
// ev: the line and what the metrics count are the one value.
func (a *Agent) report(ev event.Delivery) {
	if ev.Status == event.Delivered {
		a.log.Info("delivered", deliveryLine(ev)...)
	} else {
		a.log.Warn("not delivered", deliveryLine(ev)...)
	}
	a.emit(ev)
}

// deliveryLine is the attributes of one recipient's local delivery line, in their
// documented order: where it came from, the resolution and Sieve rules when there were
// any, then the outcome (the mailboxes and UIDs, or the status and reason).
func deliveryLine(ev event.Delivery) []any {
	attrs := []any{smtp.KeyService, ev.Service, smtp.KeySession, ev.Session, smtp.KeyClient, ev.Client, "id", ev.ID,
		"from", ev.From, "to", ev.Rcpt, "size", ev.Size, "delay", fmt.Sprintf("%.3f", ev.Delay.Seconds()),
		"took", ev.Took.String()}
	if ev.Resolved != "" {
		attrs = append(attrs, "resolved", ev.Resolved)
	}
	if ev.Sieve != "" {
		attrs = append(attrs, "sieve", ev.Sieve)
	}
	if ev.Status == event.Delivered {
		return append(attrs, "status", "delivered", "mailbox", ev.Where, "uid", ev.UIDs)
	}
	return append(attrs, "status", string(ev.Status), "reason", ev.Reason)
}

// emit reports an event, if anyone listens.
func (a *Agent) emit(e event.Event) {
	if a.events != nil {
		a.events.Emit(e)
	}
}
