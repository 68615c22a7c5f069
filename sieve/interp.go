package sieve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Envelope is the SMTP envelope of the message being delivered.
type Envelope struct {
	From   string // envelope sender (reverse-path); "" for the null sender
	To     string // the original recipient (forward-path)
	User   string // the address of the user whose script runs
	Detail string // the +detail of To if the caller split it; "" to let the engine split
}

// VacationLog remembers auto-replies (RFC 5230 section 4.2).
type VacationLog interface {
	// Replied reports whether a reply with this handle was sent to
	// sender within period.
	Replied(ctx context.Context, handle, sender string, period time.Duration) (bool, error)
}

// DuplicateTracker backs the duplicate test (RFC 7352).
type DuplicateTracker interface {
	// Seen reports whether id was recorded within period, and records it
	// (the record takes effect only if the delivery succeeds, which the
	// caller controls through its own transaction).
	Seen(ctx context.Context, handle, id string, period time.Duration) (bool, error)
}

// ExecOptions are the per-run settings and hooks.
type ExecOptions struct {
	Now      func() time.Time // clock for currentdate and date's default zone; nil = time.Now
	Location *time.Location   // the server's zone for date tests; nil = UTC
	// MailboxExists answers mailboxexists and nothing else; nil: only INBOX exists.
	MailboxExists func(ctx context.Context, name string) bool
	Vacation      VacationLog      // nil: no reply was ever sent
	Duplicate     DuplicateTracker // nil: nothing is a duplicate
	// UserAddresses are more addresses of the user, for vacation's
	// "is the user a direct recipient" check (besides Envelope.To/User).
	UserAddresses []string
	// RecipientDelimiter for subaddress; "" means "+".
	RecipientDelimiter string
	MaxActions         int           // 0 means 32
	MaxRedirects       int           // 0 means 4
	MaxSteps           int           // commands+tests+match operations; 0 means 1,000,000
	MaxVariableSize    int           // 0 means 4096 bytes
	Timeout            time.Duration // CPU budget per message; 0 means 2s
	// SpamTest and VirusTest say where spamtest and virustest read the
	// scanner's verdict (the first source present wins). Nil: Rspamd's
	// headers for spamtest (DefaultSpamSources), none for virustest.
	SpamTest  []ScoreSource
	VirusTest []ScoreSource
	// Environment items (RFC 5183: "domain", "host", "remote-ip", ...;
	// RFC 6785's "imap.*" for IMAP events); name, location and phase
	// have defaults.
	Environment map[string]string
	// SpecialUseExists answers whether mailbox (any mailbox when "") has
	// the special-use attribute; nil: none has.
	SpecialUseExists func(ctx context.Context, mailbox, attr string) bool
	// Flags starts imap4flags' internal variable: an IMAP event's message
	// has its current flags there (RFC 6785 section 3.6); nil at delivery.
	Flags []string
}

func (o ExecOptions) withDefaults() ExecOptions {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.RecipientDelimiter == "" {
		o.RecipientDelimiter = "+"
	}
	if o.MaxActions <= 0 {
		o.MaxActions = 32
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = 4
	}
	if o.MaxSteps <= 0 {
		o.MaxSteps = 1000000
	}
	if o.MaxVariableSize <= 0 {
		o.MaxVariableSize = 4096
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.SpamTest == nil {
		o.SpamTest = DefaultSpamSources()
	}
	return o
}

type cmd interface{ exec(*runState) error }
type test interface {
	eval(*runState) (bool, error)
}

var (
	errStop   = errors.New("stop")
	errReturn = errors.New("return")
)

// located attaches a script line to runtime errors of a command.
type located struct {
	line int
	c    cmd
}

func (l *located) exec(st *runState) error {
	if err := st.step(); err != nil {
		return err
	}
	st.at = Origin{Script: st.frame.unit.name, Line: l.line}
	err := l.c.exec(st)
	if _, brk := err.(breakErr); brk {
		return err
	}
	if err != nil && err != errStop && err != errReturn {
		var re *RuntimeError
		if !errors.As(err, &re) {
			return &RuntimeError{Script: st.frame.unit.name, Line: l.line, Msg: err.Error()}
		}
	}
	return err
}

type frame struct {
	unit      *unit
	vars      map[string]string
	matchVars []string
}

type runState struct {
	ctx          context.Context
	opts         ExecOptions
	msg          Message
	env          Envelope
	steps        int
	actions      []Action
	origins      []Origin // where each of actions was decided
	at           Origin   // the command running now
	vacationAt   Origin
	notifyAt     []Origin
	implicitKeep bool
	flags        []string
	globals      map[string]string
	frame        *frame
	included     map[string]bool
	vacation     *vacationAction
	redirects    int
	hdrCache     map[string][]string
	bodyCache    map[string][]string
	header       []byte // the edited header block; nil while unedited
	notifies     []Notify
	mimeRoot     *mimePart
	partStack    []*mimePart // foreverypart's current parts
}

// Execute runs the script on one message. On error (a *RuntimeError, or
// the context's error) the caller must store the message in INBOX without
// flags: that is what Pigeonhole does, and a failing script never loses
// mail.
func (s *Script) Execute(ctx context.Context, msg Message, env Envelope, opts ExecOptions) (*Result, error) {
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	st := &runState{
		ctx: ctx, opts: opts, msg: msg, env: env, implicitKeep: true,
		globals: map[string]string{}, included: map[string]bool{},
		hdrCache: map[string][]string{}, flags: validFlags(opts.Flags),
	}
	st.frame = &frame{unit: s.unit, vars: map[string]string{}}
	err := st.run(s.unit.cmds)
	if err != nil && err != errStop && err != errReturn {
		return nil, err
	}
	if st.vacation != nil {
		v, err := st.vacation.decide(st)
		if err != nil {
			return nil, err
		}
		if v != nil {
			st.actions = append(st.actions, *v)
			st.origins = append(st.origins, st.vacationAt)
		}
	}
	for i, n := range st.decideNotifies() {
		st.actions = append(st.actions, n)
		st.origins = append(st.origins, st.notifyAt[i])
	}
	res := &Result{Actions: st.actions, Origins: st.origins, ImplicitKeep: st.implicitKeep}
	if st.implicitKeep {
		res.ImplicitKeepFlags = append([]string(nil), st.flags...)
		res.ImplicitKeepHeader = st.header
	}
	return res, nil
}

func (st *runState) run(cmds []cmd) error {
	for _, c := range cmds {
		if err := c.exec(st); err != nil {
			return err
		}
	}
	return nil
}

// step counts work and enforces the CPU budget.
func (st *runState) step() error {
	st.steps++
	if st.steps > st.opts.MaxSteps {
		return &RuntimeError{Script: st.frame.unit.name, Msg: "execution step limit exceeded"}
	}
	if st.steps&255 == 0 {
		if err := st.ctx.Err(); err != nil {
			return &RuntimeError{Script: st.frame.unit.name, Msg: fmt.Sprintf("execution time limit exceeded: %v", err)}
		}
	}
	return nil
}

// expand returns the run-time value of v (RFC 5229 section 3).
func (st *runState) expand(v value) string {
	if v.parts == nil {
		return v.lit
	}
	var b strings.Builder
	for _, p := range v.parts {
		if !p.isVar {
			b.WriteString(p.lit)
			continue
		}
		switch {
		case p.num >= 0:
			if p.num < len(st.frame.matchVars) {
				b.WriteString(st.frame.matchVars[p.num])
			}
		case p.global:
			b.WriteString(st.globals[p.name])
		default:
			b.WriteString(st.frame.vars[p.name])
		}
	}
	return b.String()
}

func (st *runState) expandAll(vs []value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = st.expand(v)
	}
	return out
}

func (st *runState) setVar(name string, global bool, val string) {
	val = truncateUTF8(val, st.opts.MaxVariableSize)
	if global {
		st.globals[name] = val
		return
	}
	st.frame.vars[name] = val
}

func (st *runState) getVar(name string, global bool) string {
	if global {
		return st.globals[name]
	}
	return st.frame.vars[name]
}

// addAction records an action, deduplicating and checking the conflicts
// and limits Pigeonhole enforces (sieve_max_actions, sieve_max_redirects,
// reject versus delivering actions).
func (st *runState) addAction(a Action) error {
	for _, prev := range st.actions {
		if conflict := conflicts(prev, a); conflict != "" {
			return errors.New(conflict)
		}
	}
	for i, prev := range st.actions {
		if sameTarget(prev, a) {
			st.actions[i] = mergeDuplicate(prev, a)
			st.origins[i] = st.at // the later command decided the merged action
			return nil
		}
	}
	if len(st.actions) >= st.opts.MaxActions {
		return fmt.Errorf("too many actions (limit %d)", st.opts.MaxActions)
	}
	if _, ok := a.(Redirect); ok {
		st.redirects++
		if st.redirects > st.opts.MaxRedirects {
			return fmt.Errorf("too many redirects (limit %d)", st.opts.MaxRedirects)
		}
	}
	st.actions = append(st.actions, a)
	st.origins = append(st.origins, st.at)
	return nil
}

func isStore(a Action) bool {
	switch a.(type) {
	case Keep, FileInto:
		return true
	}
	return false
}

func conflicts(prev, next Action) string {
	_, pr := prev.(Reject)
	_, nr := next.(Reject)
	switch {
	case pr && nr:
		return "duplicate reject/ereject action not allowed"
	case pr && (isStore(next) || isRedirect(next)):
		return "action conflicts with the earlier reject/ereject"
	case nr && (isStore(prev) || isRedirect(prev)):
		return "reject/ereject action conflicts with an earlier action that delivers the message"
	}
	return ""
}

func isRedirect(a Action) bool { _, ok := a.(Redirect); return ok }

func storeName(a Action) (string, bool) {
	switch x := a.(type) {
	case Keep:
		return "INBOX", true
	case FileInto:
		if strings.EqualFold(x.Mailbox, "INBOX") {
			return "INBOX", true
		}
		return x.Mailbox, true
	}
	return "", false
}

func sameTarget(a, b Action) bool {
	if na, ok := storeName(a); ok {
		nb, ok := storeName(b)
		return ok && na == nb
	}
	switch x := a.(type) {
	case Redirect:
		y, ok := b.(Redirect)
		return ok && x.Address == y.Address
	case Discard:
		_, ok := b.(Discard)
		return ok
	}
	return false
}

// mergeDuplicate combines two stores into one mailbox: the later flags
// win, as Pigeonhole's store action does; :create sticks.
func mergeDuplicate(prev, next Action) Action {
	switch p := prev.(type) {
	case FileInto:
		if n, ok := next.(FileInto); ok {
			n.Create = n.Create || p.Create
			return n
		}
	case Redirect:
		n := next.(Redirect)
		n.Copy = n.Copy && p.Copy
		return n
	}
	return next
}
