package server

import (
	"context"
	"errors"
	"fmt"
	"github.com/postern/postern/server/outbound"
	"github.com/postern/postern/smtp/relay"
	"log/slog"
	"net"
	"strings"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/backup"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/store"
)

// bindAdmin creates the admin socket (group and mode from cfg.Admin, peer credentials
// checked on every connection) and returns it with the serve and shutdown functions of
// the admin server behind it, in the shape services.Add takes.
func bindAdmin(cfg *config.Config, log *slog.Logger, d adminDeps) (
	ln net.Listener, serve func(net.Listener) error, shutdown func(context.Context) error, err error) {
	log = log.With("service", "admin")
	access := admin.ResolveAccess(cfg.Admin.Group, log)
	ln, err = admin.Listen(cfg.AdminSocket(), access, log)
	if err != nil {
		return nil, nil, nil, err
	}
	b := newAdminBackend(d)
	srv := admin.NewServer(b, admin.ServerOptions{Logger: log, Authorizer: access, AfterCommand: b.afterCommand})
	serve = func(l net.Listener) error {
		if err := srv.Serve(l); !errors.Is(err, admin.ErrServerClosed) {
			return err
		}
		return nil
	}
	return ln, serve, srv.Shutdown, nil
}

// adminDeps is everything the admin backend is built from.
type adminDeps struct {
	st *store.Store
	// status reports what the store cannot know (version, pid, bound listeners); it is
	// called for every "postern status", from the admin goroutines.
	status func() admin.Status
	// userAdded runs after a user is created: the server creates the user's Maildir and
	// default mailboxes there. nil does nothing.
	userAdded func(ctx context.Context, u admin.User) error
	// mailRoot is state_dir/mail, for reindex.
	mailRoot string
	// stateDir is state_dir, for backup.
	stateDir string
	// namedFiles lists the files the config names outside stateDir (and the config
	// file), which a backup takes too.
	namedFiles func() []backup.Named
	// compileSieve checks an uploaded script as delivery will compile it
	// (deliver.SieveCompiler: includes, the vacation :from rule).
	compileSieve func(ctx context.Context, user, name string, src []byte) error
	// afterCommand runs after every successful admin command (cache invalidation).
	afterCommand func(cmd string)

	queueAdmin  // postern queue and postern relay test (admin_queue.go)
	folderAdmin // postern mailbox, who and kick (admin_folders.go)
	doctorAdmin // postern doctor (doctor_bind.go)
	traceAdmin  // postern trace (trace_bind.go)
}

// adminDeps is what the admin backend works on.
func (s *Server) adminDeps() adminDeps {
	cfg := s.cfg
	return adminDeps{
		st:           s.store,
		status:       s.status,
		userAdded:    s.prepareUser,
		mailRoot:     cfg.MailDir(),
		stateDir:     cfg.StateDir,
		namedFiles:   s.namedFiles,
		compileSieve: deliver.SieveCompiler(s.store, cfg.Sieve.GlobalDir, cfg.SMTP.RecipientDelimiter),
		afterCommand: func(string) { s.dir.Flush() },
		queueAdmin:   queueAdmin{q: s.out.Queue(), relayOptions: s.relayOptions},
		folderAdmin:  folderAdmin{st: s.store, boxes: s.imap},
		doctorAdmin:  doctorAdmin{run: s.runDoctor},
		traceAdmin:   s.traceAdmin(),
	}
}

// relayOptions builds a relay client's options from the current config, for `postern
// relay test`.
func (s *Server) relayOptions(name string) (relay.Options, error) {
	cfg := s.currentConfig()
	if name == "" {
		name = config.ViaRelay
	}
	return outbound.RelayOptions(cfg, name, s.opts.Getenv, s.log, newResolver(cfg.DNS.Addrs()))
}

// adminBackend answers the admin protocol from the store. It owns no state of its own:
// every method is one store transaction plus the translation of store errors into admin
// error codes with a hint that tells the operator the next command to run.
type adminBackend struct {
	adminDeps
}

// newAdminBackend returns the admin.Backend of a running daemon. The schema version of
// the status is filled in from the store when d.status leaves it zero.
func newAdminBackend(d adminDeps) *adminBackend {
	return &adminBackend{adminDeps: d}
}

func (b *adminBackend) Status(context.Context) (admin.Status, error) {
	s := b.status()
	if s.SchemaVersion == 0 {
		s.SchemaVersion = b.st.SchemaVersion()
	}
	if s.Listeners == nil {
		s.Listeners = map[string]string{}
	}
	return s, nil
}

// hints names the suggestion shown for each kind of store failure of one operation.
type hints struct {
	notFound, exists, inUse string
}

// adminError maps the store's sentinel errors to admin codes; anything else stays an
// internal error (logged by the admin server, shown as is).
func adminError(err error, h hints) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return admin.NewError(admin.CodeNotFound, h.notFound, err)
	case errors.Is(err, store.ErrExists):
		return admin.NewError(admin.CodeExists, h.exists, err)
	case errors.Is(err, store.ErrInUse):
		return admin.NewError(admin.CodeInUse, h.inUse, err)
	case errors.Is(err, store.ErrInvalid):
		return admin.NewError(admin.CodeInvalid, "", err)
	default:
		return err
	}
}

// domainOf returns the part after the last '@' (the store validates the whole address).
func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return address
}

func addDomainFirst(address string) string {
	if d := domainOf(address); d != "" {
		return "add it first: postern domain add " + d
	}
	return "add the domain first: postern domain add DOMAIN"
}

const (
	hintListDomains = "see the local domains: postern domain list"
	hintListUsers   = "see the users: postern user list"
	hintListAliases = "see the aliases: postern alias list"
)

func (b *adminBackend) AddDomain(ctx context.Context, name string) (admin.Domain, error) {
	d, err := b.st.AddDomain(ctx, name)
	if err != nil {
		return admin.Domain{}, adminError(err, hints{exists: hintListDomains})
	}
	return toAdminDomain(d), nil
}

func (b *adminBackend) ListDomains(ctx context.Context) ([]admin.Domain, error) {
	ds, err := b.st.ListDomains(ctx)
	if err != nil {
		return nil, adminError(err, hints{})
	}
	out := make([]admin.Domain, len(ds))
	for i, d := range ds {
		out[i] = toAdminDomain(d)
	}
	return out, nil
}

func (b *adminBackend) RemoveDomain(ctx context.Context, name string) error {
	return adminError(b.st.RemoveDomain(ctx, name), hints{
		notFound: hintListDomains,
		inUse: fmt.Sprintf("remove its users and aliases first (postern user list %s; postern alias list %s)",
			name, name),
	})
}

func toAdminDomain(d store.Domain) admin.Domain {
	return admin.Domain{Name: d.Name, CreatedAt: d.CreatedAt, Users: d.Users, Aliases: d.Aliases}
}

func (b *adminBackend) AddUser(ctx context.Context, nu admin.NewUser) (admin.User, error) {
	u, err := b.st.AddUser(ctx, nu.Address, nu.Password, store.UserOptions{QuotaBytes: nu.QuotaBytes})
	if err != nil {
		return admin.User{}, adminError(err, hints{
			notFound: addDomainFirst(nu.Address),
			exists:   "to change its password: postern user passwd " + nu.Address,
		})
	}
	au := toAdminUser(u)
	if b.userAdded != nil {
		if err := b.userAdded(ctx, au); err != nil {
			return au, fmt.Errorf("user %s created, but preparing its mailbox failed: %w", au.Address, err)
		}
	}
	return au, nil
}

func (b *adminBackend) ListUsers(ctx context.Context, domain string) ([]admin.User, error) {
	us, err := b.st.ListUsers(ctx, domain)
	if err != nil {
		return nil, adminError(err, hints{notFound: hintListDomains})
	}
	out := make([]admin.User, len(us))
	for i, u := range us {
		out[i] = toAdminUser(u)
		if out[i].UsedBytes, err = b.st.UserUsage(ctx, u.Address); err != nil {
			return nil, adminError(err, hints{})
		}
	}
	return out, nil
}

func (b *adminBackend) GetUser(ctx context.Context, address string) (admin.User, error) {
	u, err := b.st.GetUser(ctx, address)
	if err != nil {
		return admin.User{}, adminError(err, hints{notFound: hintListUsers})
	}
	out := toAdminUser(u)
	if out.UsedBytes, err = b.st.UserUsage(ctx, u.Address); err != nil {
		return admin.User{}, adminError(err, hints{})
	}
	return out, nil
}

func (b *adminBackend) RemoveUser(ctx context.Context, address string) error {
	return adminError(b.st.RemoveUser(ctx, address), hints{notFound: hintListUsers})
}

func (b *adminBackend) SetPassword(ctx context.Context, address, password string) error {
	return adminError(b.st.SetPassword(ctx, address, password), hints{notFound: hintListUsers})
}

func (b *adminBackend) SetDisabled(ctx context.Context, address string, disabled bool) error {
	return adminError(b.st.SetDisabled(ctx, address, disabled), hints{notFound: hintListUsers})
}

func (b *adminBackend) SetQuota(ctx context.Context, address string, quotaBytes int64) error {
	return adminError(b.st.SetQuota(ctx, address, quotaBytes), hints{notFound: hintListUsers})
}

func toAdminUser(u store.User) admin.User {
	return admin.User{
		Address: u.Address, Domain: u.Domain, Disabled: u.Disabled, QuotaBytes: u.QuotaBytes,
		CreatedAt: u.CreatedAt, AppPasswords: u.AppPasswords,
	}
}

func (b *adminBackend) AddAppPassword(ctx context.Context, address, name string) (admin.NewAppPassword, error) {
	secret, ap, err := b.st.AddAppPassword(ctx, address, name)
	if err != nil {
		return admin.NewAppPassword{}, adminError(err, hints{
			notFound: hintListUsers,
			exists: fmt.Sprintf("pick another name, or revoke it first: postern user app-password revoke %s %s",
				address, name),
		})
	}
	return admin.NewAppPassword{AppPassword: toAdminAppPassword(ap), Address: address, Secret: secret}, nil
}

func (b *adminBackend) ListAppPasswords(ctx context.Context, address string) ([]admin.AppPassword, error) {
	aps, err := b.st.ListAppPasswords(ctx, address)
	if err != nil {
		return nil, adminError(err, hints{notFound: hintListUsers})
	}
	out := make([]admin.AppPassword, len(aps))
	for i, ap := range aps {
		out[i] = toAdminAppPassword(ap)
	}
	return out, nil
}

func (b *adminBackend) RevokeAppPassword(ctx context.Context, address, name string) error {
	return adminError(b.st.RevokeAppPassword(ctx, address, name), hints{
		notFound: "see its app passwords: postern user app-password list " + address,
	})
}

func toAdminAppPassword(ap store.AppPassword) admin.AppPassword {
	return admin.AppPassword{Name: ap.Name, CreatedAt: ap.CreatedAt, LastUsed: ap.LastUsed}
}

func (b *adminBackend) AddAlias(ctx context.Context, source string, targets []string) (admin.Alias, error) {
	if err := b.st.AddAlias(ctx, source, targets); err != nil {
		return admin.Alias{}, adminError(err, hints{notFound: addDomainFirst(source)})
	}
	// Report the alias as it now stands, normalised and with targets added earlier.
	src, _, err := store.NormalizeAliasSource(source)
	if err != nil {
		return admin.Alias{}, adminError(err, hints{})
	}
	all, err := b.st.AliasTargets(ctx, src)
	if err != nil {
		return admin.Alias{}, adminError(err, hints{})
	}
	return admin.Alias{Source: src, Targets: all}, nil
}

func (b *adminBackend) ListAliases(ctx context.Context, domain string) ([]admin.Alias, error) {
	as, err := b.st.ListAliases(ctx, domain)
	if err != nil {
		return nil, adminError(err, hints{notFound: hintListDomains})
	}
	out := make([]admin.Alias, len(as))
	for i, a := range as {
		out[i] = admin.Alias{Source: a.Source, Targets: a.Targets}
	}
	return out, nil
}

func (b *adminBackend) RemoveAlias(ctx context.Context, source string, targets []string) error {
	return adminError(b.st.RemoveAlias(ctx, source, targets), hints{notFound: hintListAliases})
}

func (b *adminBackend) Reindex(ctx context.Context, address string) ([]admin.MailboxReindex, error) {
	u, err := b.st.GetUser(ctx, address)
	if err != nil {
		return nil, adminError(err, hints{notFound: "see the users: postern user list"})
	}
	rs, err := reindexUser(ctx, b.st, b.mailRoot, u.Address)
	if err != nil {
		return nil, err
	}
	out := make([]admin.MailboxReindex, len(rs))
	for i, r := range rs {
		out[i] = admin.MailboxReindex{Mailbox: r.Mailbox, UIDValidity: r.UIDValidity, Kept: r.Kept, Updated: r.Updated,
			Added: r.Added, Removed: r.Removed, UIDValidityChanged: r.UIDValidityChanged}
	}
	return out, nil
}
