package deliver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/sieve"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store"
)

// spamToJunkScript is the built-in global rule of [sieve] spam_to_junk, the rule of the
// classic Postfix + Rspamd + Pigeonhole setup.
const spamToJunkScript = `require ["fileinto", "mailbox"];
if header :is "X-Spam" "Yes" {
    fileinto :create "Junk";
    stop;
}
`

// decision is what the delivery hook decides for one user's copy of a message.
type decision struct {
	Placements []placement     // where copies are stored; none and no Reject = discarded
	Redirects  []string        // forward a copy to each address
	RedirectBy []string        // the script:line of each redirect, for the log ("" unknown)
	Reject     string          // refuse the message for this user, with this reason
	Vacation   *sieve.Vacation // send this auto-reply
	Notifies   []sieve.Notify  // enotify (mailto) notifications to send
	Rules      []string        // what decided, for the mail log: "script:line action", "implicit keep"
}

// sieveHook runs the Sieve scripts at delivery: the built-in spam rule, the global
// "before" script, the user's active script and the global "after" script, in that
// order, as Pigeonhole's sieve_before/sieve_after do. Each script runs to its end (stop
// ends only that script); their actions add up; the implicit keep is applied once, at
// the end, unless a script cancelled it. A script that fails to compile or run never
// loses mail: the caller keeps the message in INBOX and logs the error.
//
// Compiled user scripts are cached by the hash of their source, so editing a script
// takes effect at the next delivery while unchanged scripts compile once.
type sieveHook struct {
	store     *store.Store
	log       *slog.Logger
	delimiter string
	globalDir string
	now       func() time.Time

	before []*sieve.Script
	after  []*sieve.Script

	spamTest, virusTest []sieve.ScoreSource // [sieve] spamtest, virustest

	mu    sync.Mutex
	cache map[string]cachedScript // user -> compiled active script (nil: none)
}

// cachedScript is a user's compiled active script as of one store sieve generation.
type cachedScript struct {
	gen    uint64
	script *sieve.Script
}

func newSieveHook(cfg config.Sieve, st *store.Store, log *slog.Logger, delimiter string) (*sieveHook, error) {
	h := &sieveHook{store: st, log: log, delimiter: delimiter, globalDir: cfg.GlobalDir, now: time.Now,
		cache: map[string]cachedScript{}}
	var err error
	if h.spamTest, err = cfg.SpamSources(); err != nil {
		return nil, fmt.Errorf("sieve spamtest: %w", err)
	}
	if h.virusTest, err = cfg.VirusSources(); err != nil {
		return nil, fmt.Errorf("sieve virustest: %w", err)
	}
	if cfg.SpamToJunk {
		sc, err := sieve.Compile("spam_to_junk", []byte(spamToJunkScript), sieve.CompileOptions{})
		if err != nil {
			return nil, fmt.Errorf("built-in spam rule: %w", err)
		}
		h.before = append(h.before, sc)
	}
	for _, g := range []struct {
		path string
		dst  *[]*sieve.Script
	}{{cfg.Before, &h.before}, {cfg.After, &h.after}} {
		if g.path == "" {
			continue
		}
		src, err := os.ReadFile(g.path)
		if err != nil {
			return nil, fmt.Errorf("sieve: %w", err)
		}
		sc, err := sieve.Compile(filepath.Base(g.path), src, sieve.CompileOptions{Loader: h.loader(context.Background(), "")})
		if err != nil {
			return nil, fmt.Errorf("sieve: %s: %w", g.path, err)
		}
		*g.dst = append(*g.dst, sc)
	}
	return h, nil
}

// globalDirLoader resolves include :global from [sieve] global_dir as NAME.sieve.
type globalDirLoader string

func (dir globalDirLoader) LoadScript(_ context.Context, _ sieve.ScriptLocation, name string) ([]byte, error) {
	if dir == "" || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Errorf("global sieve script %q: %w", name, fs.ErrNotExist)
	}
	return os.ReadFile(filepath.Join(string(dir), name+".sieve"))
}

// loader resolves includes for user's scripts (user "" for the global scripts, which may
// include only global ones).
func (h *sieveHook) loader(ctx context.Context, user string) sieve.ScriptLoader {
	if user == "" {
		return userScriptLoader{ctx: ctx, st: h.store, global: globalDirLoader(h.globalDir)}
	}
	return userScriptLoader{ctx: ctx, st: h.store, user: user, global: globalDirLoader(h.globalDir)}
}

// userScript returns the user's compiled active script, or nil when there is none. The
// answer is kept until the store's sieve generation moves (any script of anyone stored,
// activated, renamed or deleted), so a delivery asks the database only after a change;
// included scripts are compiled in, and a change to one of them moves the generation too.
func (h *sieveHook) userScript(ctx context.Context, user string) (*sieve.Script, error) {
	gen := h.store.SieveGeneration() // before the read: a change after it shows as a new generation
	h.mu.Lock()
	if c, ok := h.cache[user]; ok && c.gen == gen {
		h.mu.Unlock()
		return c.script, nil
	}
	h.mu.Unlock()
	name, content, ok, err := h.store.ActiveScript(ctx, user)
	if err != nil {
		return nil, err
	}
	var sc *sieve.Script
	if ok {
		if sc, err = sieve.Compile(name, []byte(content), sieve.CompileOptions{Loader: h.loader(ctx, user)}); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	h.cache[user] = cachedScript{gen: gen, script: sc}
	h.mu.Unlock()
	return sc, nil
}

// Decide runs the scripts for one user's copy.
func (h *sieveHook) Decide(ctx context.Context, in *hookInput) (decision, error) {
	user, err := h.userScript(ctx, in.User)
	if err != nil {
		return decision{}, fmt.Errorf("user script: %w", err)
	}
	scripts := append(append(append([]*sieve.Script{}, h.before...), nonNilScript(user)...), h.after...)
	if len(scripts) == 0 {
		return inboxDecision(), nil
	}
	parsed := in.Parsed
	if parsed == nil {
		parsed = &parsedMessage{msg: in.Message}
	}
	msg, err := parsed.get()
	if err != nil {
		return decision{}, err
	}
	env := sieve.Envelope{From: in.Envelope.From, To: in.Recipient, User: in.User, Detail: in.Detail}
	opts := sieve.ExecOptions{
		Now:                h.now,
		Location:           time.Local,
		RecipientDelimiter: h.delimiter,
		Vacation:           userVacationLog{store: h.store, user: in.User},
		MailboxExists: func(ctx context.Context, name string) bool {
			_, err := h.store.GetMailbox(ctx, in.User, name)
			return err == nil
		},
		SpecialUseExists: specialUseExists(h.store, in.User),
		SpamTest:         h.spamTest,
		VirusTest:        h.virusTest,
	}
	return h.combine(ctx, scripts, msg, env, opts, in.User)
}

func nonNilScript(s *sieve.Script) []*sieve.Script {
	if s == nil {
		return nil
	}
	return []*sieve.Script{s}
}

func inboxDecision() decision { return decision{Placements: []placement{{Mailbox: store.InboxName}}} }

// combine runs every script and merges their results.
func (h *sieveHook) combine(ctx context.Context, scripts []*sieve.Script, msg sieve.Message, env sieve.Envelope, opts sieve.ExecOptions, user string) (decision, error) {
	var d decision
	keep := true
	var keepFlags []string
	var keepHeader []byte
	stores := map[string]int{} // mailbox key -> index in d.Placements
	addStore := func(p placement) {
		key := p.Mailbox
		if strings.EqualFold(key, store.InboxName) {
			key, p.Mailbox = store.InboxName, store.InboxName
		}
		if i, ok := stores[key]; ok {
			d.Placements[i].Flags = p.Flags // the later store's flags win, as in Pigeonhole
			d.Placements[i].Create = d.Placements[i].Create || p.Create
			d.Placements[i].Header = p.Header
			return
		}
		stores[key] = len(d.Placements)
		d.Placements = append(d.Placements, p)
	}
	for _, sc := range scripts {
		res, err := sc.Execute(ctx, msg, env, opts)
		if err != nil {
			return decision{}, fmt.Errorf("script %s: %w", sc.Name(), err)
		}
		keep = keep && res.ImplicitKeep
		keepFlags = res.ImplicitKeepFlags
		keepHeader = res.ImplicitKeepHeader
		for i, a := range res.Actions {
			if i < len(res.Origins) {
				d.Rules = append(d.Rules, res.Origins[i].String()+" "+DescribeAction(a))
			}
			switch a := a.(type) {
			case sieve.Keep:
				addStore(placement{Mailbox: store.InboxName, Flags: a.Flags, Header: a.Header})
			case sieve.FileInto:
				a.Mailbox = ResolveFileInto(ctx, h.store, user, a)
				if !a.Create && !opts.MailboxExists(ctx, a.Mailbox) && !strings.EqualFold(a.Mailbox, store.InboxName) {
					// Pigeonhole refuses fileinto a missing mailbox without :create and
					// keeps the message in INBOX; so do we, and say why.
					h.log.Warn("sieve: fileinto a mailbox that does not exist; keeping in INBOX", "user", user, "mailbox", a.Mailbox, "script", sc.Name())
					addStore(placement{Mailbox: store.InboxName, Flags: a.Flags, Header: a.Header})
					d.Rules[len(d.Rules)-1] += " (no such mailbox: kept in INBOX)"
					continue
				}
				addStore(placement{Mailbox: a.Mailbox, Flags: a.Flags, Create: a.Create, Header: a.Header})
			case sieve.Redirect:
				d.Redirects = append(d.Redirects, a.Address)
				d.RedirectBy = append(d.RedirectBy, originAt(res.Origins, i))
			case sieve.Reject:
				d.Reject = a.Reason
			case sieve.Notify:
				d.Notifies = append(d.Notifies, a)
			case sieve.Vacation:
				v := a
				d.Vacation = &v
			case sieve.Discard:
			}
		}
	}
	if _, stored := stores[store.InboxName]; keep && !stored {
		// An explicit keep (or fileinto "INBOX") already stored the one INBOX copy, with
		// its own flags; the implicit keep adds nothing then.
		addStore(placement{Mailbox: store.InboxName, Flags: keepFlags, Header: keepHeader})
		d.Rules = append(d.Rules, "implicit keep")
	}
	return d, nil
}

// originAt is the script:line of the i-th action, "" when the engine did not say.
func originAt(origins []sieve.Origin, i int) string {
	if i < len(origins) {
		return origins[i].String()
	}
	return ""
}

// DescribeAction names a Sieve action and its target for the mail log (also imapsieve's).
func DescribeAction(a sieve.Action) string {
	switch a := a.(type) {
	case sieve.Keep:
		return "keep"
	case sieve.FileInto:
		return "fileinto " + a.Mailbox
	case sieve.Redirect:
		return "redirect " + a.Address
	case sieve.Reject:
		return "reject"
	case sieve.Discard:
		return "discard"
	case sieve.Vacation:
		return "vacation to " + a.To
	case sieve.Notify:
		return "notify " + a.Method
	}
	return fmt.Sprintf("%T", a)
}

// SieveCompiler returns the compile check for scripts users upload (through the
// admin socket, ManageSieve or an import; it has the shape of managesieve.CompileFunc):
// include :personal resolves from the user's own stored scripts, :global from global
// ("": no global scripts), and a constant vacation :from must be one of the user's own
// addresses (MaySend's rule; delimiter is [smtp] recipient_delimiter), so that nobody
// can make their auto-reply speak as another user.
func SieveCompiler(st *store.Store, globalDir, delimiter string) func(ctx context.Context, user, name string, src []byte) error {
	senders := &expander{dir: st, delimiter: delimiter}
	return func(ctx context.Context, user, name string, src []byte) error {
		_, err := sieve.Compile(name, src, sieve.CompileOptions{
			Loader:       userScriptLoader{ctx: ctx, st: st, user: user, global: globalDirLoader(globalDir)},
			VacationFrom: func(addr string) error { return ownAddress(ctx, senders, user, addr) },
		})
		return err
	}
}

// ownAddress refuses an address that is not user's (see MaySend).
func ownAddress(ctx context.Context, senders *expander, user, addr string) error {
	ok, err := senders.maySend(ctx, user, addr)
	switch {
	case err != nil:
		return fmt.Errorf("cannot check the address: %w", err)
	case !ok:
		return fmt.Errorf("not an address of %s (only the user's own address, its +detail forms and aliases that deliver to it may be used)", user)
	}
	return nil
}

// userScriptLoader resolves includes for one user's scripts.
type userScriptLoader struct {
	ctx    context.Context
	st     *store.Store
	user   string
	global sieve.ScriptLoader
}

func (l userScriptLoader) LoadScript(ctx context.Context, loc sieve.ScriptLocation, name string) ([]byte, error) {
	if loc == sieve.Global {
		if l.global == nil {
			return nil, fmt.Errorf("global sieve script %q: %w", name, fs.ErrNotExist)
		}
		return l.global.LoadScript(ctx, loc, name)
	}
	sc, err := l.st.GetScript(l.ctx, l.user, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("sieve script %q: %w", name, fs.ErrNotExist)
	}
	return []byte(sc.Content), err
}

// parsedMessage is one delivery's message as Sieve reads it: its header, and its body
// prefix when a test needs it (sieve.StreamMessage, bounded whatever the message's
// size), read at most once and shared by the runs of every recipient.
type parsedMessage struct {
	msg  smtp.Message
	once sync.Once
	m    *sieve.StreamMessage
	err  error
}

func (p *parsedMessage) get() (*sieve.StreamMessage, error) {
	p.once.Do(func() { p.m, p.err = sieve.ReadMessage(p.msg.Open, p.msg.Size()) })
	return p.m, p.err
}
