package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Placement is where one user's copy of a message goes: a mailbox and the flags the
// stored copy gets. The delivery hook (Sieve) decides it.
type Placement struct {
	Mailbox string   // client-visible name; "INBOX" or "" for the inbox
	Flags   []string // IMAP flags and keywords
	Create  bool     // create the mailbox if it does not exist (Sieve's :create)
}

// HookInput is what the delivery hook sees of one user's delivery.
type HookInput struct {
	User      string // the user's address
	Detail    string // the +detail of the recipient address, if any
	Recipient string // the envelope recipient that reached this user
	Envelope  *smtp.Envelope
	Message   smtp.Message
}

// DeliveryHook decides what happens to one user's copy (Sieve). A Decision with no
// placements, redirects or reject discards the message for that user. An error is logged
// and the message kept in INBOX: a failing filter never loses mail.
type DeliveryHook interface {
	Decide(ctx context.Context, in *HookInput) (Decision, error)
}

// inboxOnly is the hook without any filtering: everything into INBOX.
type inboxOnly struct{}

func (inboxOnly) Decide(context.Context, *HookInput) (Decision, error) {
	return inboxDecision(), nil
}

// forwarder sends copies and replies out through the outbound queue (redirects, vacation
// replies, bounces of rejected mail). nil until the queue is wired.
type forwarder interface {
	Redirect(ctx context.Context, env *smtp.Envelope, user string, to []string, msg smtp.Message) error
	Vacation(ctx context.Context, user string, v *sieve.Vacation, env *smtp.Envelope, msg smtp.Message) error
}

// enqueuer takes the copies that leave the server (server/outbound).
type enqueuer interface {
	Enqueue(ctx context.Context, from string, rcpts []string, body io.Reader, origin string) (string, error)
}

// signer DKIM-signs what leaves (server/outbound): Wanted says whether mail from from to
// rcpts is signed at all, Sign prepends the signature to the header a queued copy gets.
type signer interface {
	Wanted(from string, rcpts []string) bool
	Sign(env *smtp.Envelope, msg smtp.Message, header []byte) []byte
}

// mailboxNotifier is told after a message is indexed, so that IMAP IDLE sessions see it.
type mailboxNotifier interface {
	MailboxChanged(user, mailbox string)
}

// deliveryAgent is the local delivery agent: resolve each recipient, run the delivery
// hook per user, write the message once into the Maildirs (hard links for the other
// users), index every copy in one store transaction, and only then report success, which
// smtp turns into the 250. See package smtp for how per-recipient errors become replies.
type deliveryAgent struct {
	store    *store.Store
	resolve  *resolver
	namer    *maildir.Namer
	mailRoot string
	hook     DeliveryHook
	forward  forwarder
	out      enqueuer // nil: nothing can leave the server (tests)
	srs      *srs
	dkim     signer // nil: outgoing mail is not signed
	hostname string
	notify   mailboxNotifier
	index    *indexBatcher
	log      *slog.Logger
	now      func() time.Time

	ensured sync.Map // "root\x00folder" -> struct{}: folders known to exist on disk
}

// userRoot is a user's Maildir root: mail/DOMAIN/LOCAL (DESIGN.md's disk layout).
func userRoot(mailRoot, address string) string {
	local, domain := store.SplitAddress(address)
	return filepath.Join(mailRoot, domain, local)
}

// userCopy is one user's share of a delivery.
type userCopy struct {
	user       string
	detail     string
	rcpts      []int // indexes into env.Recipients
	placements []Placement
}

// Deliver implements smtp.Deliverer.
func (a *deliveryAgent) Deliver(ctx context.Context, env *smtp.Envelope, msg smtp.Message) []error {
	start := a.now()
	errs := make([]error, len(env.Recipients))
	copies, remote := a.plan(ctx, env, errs)
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
		c.placements = a.decide(ctx, env, msg, c, errs)
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
		a.bouncePartial(ctx, env, msg, errs)
	}
	return errs
}

// bouncePartial keeps the promise package smtp makes for one-reply roles: when some
// recipients were delivered and the rest failed for good (a Sieve reject among several
// users), the session answers 250 and we owe the sender a DSN for the failed ones.
func (a *deliveryAgent) bouncePartial(ctx context.Context, env *smtp.Envelope, msg smtp.Message, errs []error) {
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
	if err := a.Bounce(ctx, env.ID, env.From, env.Received, failed, msg); err != nil {
		a.log.Error("bounce failed", smtp.KeySession, env.Session.ID, "id", env.ID, "to", env.From, "err", err)
	}
}

// Bounce sends sender a DSN (RFC 3464) for recipients of msg that failed for good,
// quoting msg's header section; id names the transaction, arrival is when it came.
func (a *deliveryAgent) Bounce(ctx context.Context, id, sender string, arrival time.Time, failed []queue.RcptInfo, msg smtp.Message) error {
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
	return a.send(ctx, "", []string{sender}, dsn, "bounce:"+id)
}

// remoteRcpt is a recipient the message leaves the server for.
type remoteRcpt struct {
	idx       int    // the envelope recipient it came from
	to        string // where it goes
	forwarded bool   // reached through an alias of ours: the sender is SRS-rewritten
	via       string // the local domain that forwards it (for SRS)
}

// plan resolves every recipient and groups them by user: a user reached through several
// recipients (an alias and the address itself) gets one copy. Recipients in other
// domains (relaying, which the Policy allowed at RCPT) and alias targets in other
// domains (forwarding) are returned for the queue.
func (a *deliveryAgent) plan(ctx context.Context, env *smtp.Envelope, errs []error) ([]*userCopy, []remoteRcpt) {
	byUser := map[string]*userCopy{}
	var order []*userCopy
	var remote []remoteRcpt
	for i, rcpt := range env.Recipients {
		res, err := a.resolve.Resolve(ctx, rcpt)
		if errors.Is(err, errNotLocal) && env.Session.Role != smtp.RoleLMTP && (env.Session.Trusted || env.Session.User != "") {
			remote = append(remote, remoteRcpt{idx: i, to: res.Recipient})
			continue
		}
		if err != nil {
			errs[i] = recipientReply(rcpt, err)
			continue
		}
		_, via := store.SplitAddress(res.Recipient)
		for _, t := range res.Targets {
			if t.Kind != TargetLocal {
				remote = append(remote, remoteRcpt{idx: i, to: t.Address, forwarded: true, via: via})
				continue
			}
			c := byUser[t.Address]
			if c == nil {
				c = &userCopy{user: t.Address, detail: t.Detail}
				byUser[t.Address] = c
				order = append(order, c)
			}
			c.rcpts = append(c.rcpts, i)
		}
	}
	return order, remote
}

// enqueue hands the remote recipients to the outbound queue, one queue entry per
// envelope sender: the sender as given for relayed and submitted mail, SRS-rewritten for
// mail we forward (so the relay accepts it and SPF passes at the destination).
func (a *deliveryAgent) enqueue(ctx context.Context, env *smtp.Envelope, msg smtp.Message, remote []remoteRcpt, errs []error) {
	if a.out == nil {
		for _, r := range remote {
			errs[r.idx] = externalUnavailable(env.Recipients[r.idx])
		}
		return
	}
	type group struct {
		rcpts []string
		idx   []int
	}
	groups := map[string]*group{}
	var senders []string
	seen := map[string]bool{}
	for _, r := range remote {
		from := env.From
		if r.forwarded && a.srs != nil {
			from = a.srs.Forward(env.From, r.via)
		}
		g := groups[from]
		if g == nil {
			g = &group{}
			groups[from] = g
			senders = append(senders, from)
		}
		g.idx = append(g.idx, r.idx)
		if !seen[from+"\x00"+r.to] {
			seen[from+"\x00"+r.to] = true
			g.rcpts = append(g.rcpts, r.to)
		}
	}
	header := []byte(smtp.ReceivedHeader(env))
	for _, from := range senders {
		if a.dkim != nil && a.dkim.Wanted(from, groups[from].rcpts) {
			header = a.dkim.Sign(env, msg, header)
			break
		}
	}
	for _, from := range senders {
		g := groups[from]
		body, err := msg.Open()
		if err == nil {
			var id string
			id, err = a.out.Enqueue(ctx, from, g.rcpts, io.MultiReader(bytes.NewReader(header), body), serviceName(env.Session.Role)+" "+env.ID)
			body.Close()
			if err == nil {
				a.log.Info("queued", smtp.KeySession, env.Session.ID, "id", env.ID, "queue_id", id, "from", from,
					"to", strings.Join(g.rcpts, ","), "size", msg.Size(), "status", "queued")
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

// checkQuota refuses the copies of users who are over their storage quota (RFC 3463
// 4.2.2 "mailbox full", temporary: the sender retries and the user may make room).
func (a *deliveryAgent) checkQuota(ctx context.Context, copies []*userCopy, size int64, errs []error) {
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
// comes from the resolver's directory (cached briefly, flushed by every admin change), so
// the common case, a user with no quota, costs no query; the usage is always read fresh.
func (a *deliveryAgent) overQuota(ctx context.Context, user string, size int64) (bool, error) {
	u, err := a.resolve.dir.GetUser(ctx, user)
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
// this user's reply, redirects and a vacation reply go to the outbound side. Any failure
// keeps the message in INBOX: a filter never loses mail.
func (a *deliveryAgent) decide(ctx context.Context, env *smtp.Envelope, msg smtp.Message, c *userCopy, errs []error) []Placement {
	in := &HookInput{User: c.user, Detail: c.detail, Recipient: env.Recipients[c.rcpts[0]], Envelope: env, Message: msg}
	d, err := a.hook.Decide(ctx, in)
	if err != nil {
		a.log.Error("sieve failed; keeping the message in INBOX", "sid", env.Session.ID, "id", env.ID, "user", c.user, "err", err)
		d = inboxDecision()
	}
	if env.Quarantine != "" {
		d = quarantined(d) // trust.go: Junk, no replies
	}
	if err != nil {
		return d.Placements
	}
	if d.Reject != "" {
		for _, i := range c.rcpts {
			errs[i] = smtp.Reply(550, [3]int{5, 7, 1}, "%s", oneLine(d.Reject))
		}
		return nil
	}
	if len(d.Redirects) > 0 {
		if a.forward == nil {
			a.log.Warn("sieve redirect not possible without the outbound queue; keeping a copy in INBOX", "user", c.user, "to", d.Redirects)
			d.Placements = append(d.Placements, Placement{Mailbox: store.InboxName})
		} else if err := a.forward.Redirect(ctx, env, c.user, d.Redirects, msg); err != nil {
			a.log.Error("sieve redirect failed; keeping a copy in INBOX", "user", c.user, "to", d.Redirects, "err", err)
			d.Placements = append(d.Placements, Placement{Mailbox: store.InboxName})
		}
	}
	if d.Vacation != nil && a.forward != nil {
		if err := a.forward.Vacation(ctx, c.user, d.Vacation, env, msg); err != nil {
			a.log.Error("vacation reply failed", "user", c.user, "to", d.Vacation.To, "err", err)
		}
	}
	return dedupePlacements(d.Placements)
}

// dedupePlacements keeps one store per mailbox (INBOX in any case is one), last flags win.
func dedupePlacements(ps []Placement) []Placement {
	idx := map[string]int{}
	var out []Placement
	for _, p := range ps {
		key := p.Mailbox
		if strings.EqualFold(key, store.InboxName) || key == "" {
			key = store.InboxName
		}
		if i, ok := idx[key]; ok {
			out[i].Flags = p.Flags
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
func (a *deliveryAgent) store_(ctx context.Context, env *smtp.Envelope, msg smtp.Message, copies []*userCopy) error {
	var targets []maildir.Target
	var owners []string
	for _, c := range copies {
		root := userRoot(a.mailRoot, c.user)
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
		}
	}
	if len(targets) == 0 {
		return nil // everything discarded or refused
	}
	body, err := msg.Open()
	if err != nil {
		return fmt.Errorf("opening spooled message: %w", err)
	}
	defer body.Close()
	header := deliveryHeader(env, copies)
	done, err := maildir.Deliver(a.namer, targets, header, body)
	if err != nil {
		return err
	}
	recs := make([]store.NewMessage, len(done))
	for i, d := range done {
		base, _ := maildir.SplitInfo(d.Name)
		recs[i] = store.NewMessage{User: owners[i], Mailbox: d.Folder, Filename: base, Size: d.VSize,
			InternalDate: env.Received, Flags: targets[i].Flags}
	}
	if err := a.indexCopies(ctx, recs); err != nil {
		// Not acknowledged, so the sender will try again: take the files back rather
		// than leave copies the index does not know.
		for _, d := range done {
			_ = maildir.Remove(d.Path)
		}
		return fmt.Errorf("indexing: %w", err)
	}
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
func (a *deliveryAgent) indexCopies(ctx context.Context, recs []store.NewMessage) error {
	_, err := a.index.Add(ctx, recs)
	if !errors.Is(err, store.ErrExists) || len(recs) == 0 {
		return err
	}
	for _, r := range recs {
		if _, err := a.index.Add(ctx, []store.NewMessage{r}); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}
	return nil
}

// ensureFolder makes sure a user's Maildir and folder exist, once per process.
func (a *deliveryAgent) ensureFolder(root, folder string) error {
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
func (a *deliveryAgent) logResults(env *smtp.Envelope, msg smtp.Message, copies []*userCopy, errs []error, start time.Time) {
	where := map[int]string{}
	for _, c := range copies {
		var boxes []string
		for _, p := range c.placements {
			boxes = append(boxes, c.user+"/"+p.Mailbox)
		}
		if len(c.placements) == 0 && errs[c.rcpts[0]] == nil {
			boxes = append(boxes, c.user+"/(discarded)")
		}
		for _, i := range c.rcpts {
			if where[i] != "" {
				where[i] += ","
			}
			where[i] += strings.Join(boxes, ",")
		}
	}
	delay := a.now().Sub(env.Session.Start).Seconds()
	client := "unix"
	if env.Session.RemoteAddr.IsValid() {
		client = env.Session.RemoteAddr.Addr().String()
	}
	for i, rcpt := range env.Recipients {
		if errs[i] == nil && where[i] == "" {
			continue // queued for a remote recipient: the "queued" line said so
		}
		attrs := []any{smtp.KeyService, serviceName(env.Session.Role), smtp.KeySession, env.Session.ID, smtp.KeyClient, client, "id", env.ID, "from", env.From, "to", rcpt,
			"size", msg.Size(), "delay", fmt.Sprintf("%.3f", delay), "took", a.now().Sub(start).String()}
		if errs[i] == nil {
			a.log.Info("delivered", append(attrs, "status", "delivered", "mailbox", where[i])...)
			continue
		}
		attrs = append(attrs, "status", "deferred", "reason", errs[i].Error())
		var re *smtp.ReplyError
		if errors.As(errs[i], &re) && !re.Temporary() {
			attrs[len(attrs)-3] = "bounced"
		}
		a.log.Warn("not delivered", attrs...)
	}
}

// serviceName is the listener name in the config for a role, as the session lines say.
func serviceName(r smtp.Role) string {
	if r == smtp.RoleMX {
		return "smtp"
	}
	return r.String()
}

// recipientReply turns a resolution error into the reply for that recipient.
func recipientReply(rcpt string, err error) error {
	switch {
	case errors.Is(err, errUnknownRecipient):
		return smtp.Reply(550, [3]int{5, 1, 1}, "<%s>: Recipient address rejected: User unknown", rcpt)
	case errors.Is(err, errDisabled):
		return smtp.Reply(550, [3]int{5, 2, 1}, "<%s>: Recipient address rejected: Mailbox disabled", rcpt)
	case errors.Is(err, errAliasLoop):
		return smtp.Reply(550, [3]int{5, 4, 6}, "<%s>: Recipient address rejected: Alias loop or nesting too deep", rcpt)
	case errors.Is(err, errNotLocal):
		return smtp.Reply(554, [3]int{5, 7, 1}, "<%s>: Relay access denied", rcpt)
	}
	return smtp.Reply(451, [3]int{4, 3, 0}, "<%s>: Temporary lookup failure", rcpt)
}

// externalUnavailable is the reply for aliases that forward outside until the outbound
// queue exists: temporary, so nothing is lost while the sender retries.
func externalUnavailable(rcpt string) error {
	return smtp.Reply(451, [3]int{4, 3, 0}, "<%s>: Forwarding to other domains is not available yet", rcpt)
}

// send delivers a message the server itself makes (a bounce, a vacation reply, a
// redirect) to rcpts: local ones through local delivery, the rest through the queue.
func (a *deliveryAgent) send(ctx context.Context, from string, rcpts []string, msg []byte, origin string) error {
	env := &smtp.Envelope{
		ID:         origin,
		Session:    &smtp.Session{ID: origin, Role: smtp.RoleMX, Trusted: true, HELO: "localhost", Hostname: a.hostname, Start: a.now()},
		From:       from,
		Recipients: rcpts,
		Received:   a.now(),
	}
	errs := a.Deliver(ctx, env, smtp.BytesMessage(msg))
	return errors.Join(errs...)
}

// ReturnToSender delivers a DSN of the outbound queue (outbound.Bouncer), always with the
// null sender so that a bounce never bounces.
func (a *deliveryAgent) ReturnToSender(ctx context.Context, bn *queue.Bounce) error {
	return a.send(ctx, "", []string{bn.To}, bn.Message, "bounce:"+bn.QueueID)
}
