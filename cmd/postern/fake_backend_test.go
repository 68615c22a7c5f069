package main

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

// memBackend is an in-memory admin.Backend with store-like errors and hints, enough to
// drive every CLI command against a real admin server.
type memBackend struct {
	mu        sync.Mutex
	domains   map[string]admin.Domain
	users     map[string]admin.User
	passwords map[string]string
	apps      map[string][]admin.AppPassword
	aliases   map[string][]string
	created   time.Time
	scripts   map[string][]admin.SieveScript // user -> scripts, lazily made
	queue     []queue.Info                   // lazily made by queueState
}

func newMemBackend() *memBackend {
	return &memBackend{
		domains:   map[string]admin.Domain{},
		users:     map[string]admin.User{},
		passwords: map[string]string{},
		apps:      map[string][]admin.AppPassword{},
		aliases:   map[string][]string{},
		created:   time.Date(2025, 3, 4, 12, 0, 0, 0, time.UTC),
	}
}

func (m *memBackend) password(address string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.passwords[address]
}

func domainPart(a string) string { return a[strings.LastIndexByte(a, '@')+1:] }

func (m *memBackend) Status(context.Context) (admin.Status, error) {
	return admin.Status{Version: "9.9.9", PID: 4242, StartedAt: m.created, Config: "/etc/postern/postern.toml",
		StateDir: "/var/lib/postern", SchemaVersion: 2,
		Listeners: map[string]string{"smtp": "127.0.0.1:2525", "imap": "127.0.0.1:1143"}}, nil
}

func (m *memBackend) AddDomain(_ context.Context, name string) (admin.Domain, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !strings.Contains(name, ".") {
		return admin.Domain{}, admin.Errorf(admin.CodeInvalid, "", "invalid argument: domain %q has no dot", name)
	}
	if _, ok := m.domains[name]; ok {
		return admin.Domain{}, admin.Errorf(admin.CodeExists, "", "domain %s: already exists", name)
	}
	d := admin.Domain{Name: name, CreatedAt: m.created}
	m.domains[name] = d
	return d, nil
}

func (m *memBackend) ListDomains(context.Context) ([]admin.Domain, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []admin.Domain
	for _, d := range m.domains {
		for _, u := range m.users {
			if u.Domain == d.Name {
				d.Users++
			}
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b admin.Domain) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memBackend) RemoveDomain(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.domains[name]; !ok {
		return admin.Errorf(admin.CodeNotFound, "see the local domains: postern domain list", "domain %s: not found", name)
	}
	delete(m.domains, name)
	return nil
}

func (m *memBackend) AddUser(_ context.Context, nu admin.NewUser) (admin.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := domainPart(nu.Address)
	if _, ok := m.domains[d]; !ok {
		return admin.User{}, admin.Errorf(admin.CodeNotFound, "add it first: postern domain add "+d,
			"domain %s of user %s is not local: not found", d, nu.Address)
	}
	u := admin.User{Address: nu.Address, Domain: d, QuotaBytes: nu.QuotaBytes, CreatedAt: m.created}
	m.users[nu.Address] = u
	m.passwords[nu.Address] = nu.Password
	return u, nil
}

func (m *memBackend) ListUsers(_ context.Context, domain string) ([]admin.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []admin.User
	for _, u := range m.users {
		if domain == "" || u.Domain == domain {
			u.AppPasswords = len(m.apps[u.Address])
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b admin.User) int { return strings.Compare(a.Address, b.Address) })
	return out, nil
}

func (m *memBackend) withUser(address string, fn func(u *admin.User)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[address]
	if !ok {
		return admin.Errorf(admin.CodeNotFound, "see the users: postern user list", "user %s: not found", address)
	}
	fn(&u)
	m.users[address] = u
	return nil
}

func (m *memBackend) GetUser(_ context.Context, address string) (admin.User, error) {
	var out admin.User
	err := m.withUser(address, func(u *admin.User) { out = *u })
	return out, err
}

func (m *memBackend) RemoveUser(_ context.Context, address string) error {
	err := m.withUser(address, func(*admin.User) {})
	if err == nil {
		m.mu.Lock()
		delete(m.users, address)
		m.mu.Unlock()
	}
	return err
}

func (m *memBackend) SetPassword(_ context.Context, address, password string) error {
	return m.withUser(address, func(*admin.User) { m.passwords[address] = password })
}

func (m *memBackend) SetDisabled(_ context.Context, address string, disabled bool) error {
	return m.withUser(address, func(u *admin.User) { u.Disabled = disabled })
}

func (m *memBackend) SetQuota(_ context.Context, address string, quota int64) error {
	return m.withUser(address, func(u *admin.User) { u.QuotaBytes = quota })
}

func (m *memBackend) AddAppPassword(_ context.Context, address, name string) (admin.NewAppPassword, error) {
	var ap admin.AppPassword
	err := m.withUser(address, func(*admin.User) {
		ap = admin.AppPassword{Name: name, CreatedAt: m.created}
		m.apps[address] = append(m.apps[address], ap)
	})
	return admin.NewAppPassword{AppPassword: ap, Address: address, Secret: "wxyz-2345-abcd-6789"}, err
}

func (m *memBackend) ListAppPasswords(_ context.Context, address string) ([]admin.AppPassword, error) {
	var out []admin.AppPassword
	err := m.withUser(address, func(*admin.User) { out = slices.Clone(m.apps[address]) })
	return out, err
}

func (m *memBackend) RevokeAppPassword(_ context.Context, address, name string) error {
	return m.withUser(address, func(*admin.User) {
		m.apps[address] = slices.DeleteFunc(m.apps[address], func(ap admin.AppPassword) bool { return ap.Name == name })
	})
}

func (m *memBackend) AddAlias(_ context.Context, source string, targets []string) (admin.Alias, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.aliases[source] = append(m.aliases[source], targets...)
	return admin.Alias{Source: source, Targets: m.aliases[source]}, nil
}

func (m *memBackend) ListAliases(_ context.Context, domain string) ([]admin.Alias, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []admin.Alias
	for s, ts := range m.aliases {
		if domain == "" || domainPart(s) == domain {
			out = append(out, admin.Alias{Source: s, Targets: ts})
		}
	}
	slices.SortFunc(out, func(a, b admin.Alias) int { return strings.Compare(a.Source, b.Source) })
	return out, nil
}

func (m *memBackend) RemoveAlias(_ context.Context, source string, targets []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.aliases[source]; !ok {
		return admin.Errorf(admin.CodeNotFound, "see the aliases: postern alias list", "alias %s: not found", source)
	}
	if len(targets) == 0 {
		delete(m.aliases, source)
		return nil
	}
	m.aliases[source] = slices.DeleteFunc(m.aliases[source], func(t string) bool { return slices.Contains(targets, t) })
	return nil
}

func (m *memBackend) Reindex(_ context.Context, address string) ([]admin.MailboxReindex, error) {
	return []admin.MailboxReindex{{Mailbox: "INBOX", Kept: 2, Added: 1}}, nil
}

func (m *memBackend) sieveUser(address string) error {
	if _, ok := m.users[address]; !ok {
		return admin.Errorf(admin.CodeNotFound, "see the users: postern user list", "user %s: not found", address)
	}
	if m.scripts == nil {
		m.scripts = map[string][]admin.SieveScript{}
	}
	return nil
}

func (m *memBackend) findScript(address, name string) (int, error) {
	if err := m.sieveUser(address); err != nil {
		return -1, err
	}
	for i, s := range m.scripts[address] {
		if s.Name == name {
			return i, nil
		}
	}
	return -1, admin.Errorf(admin.CodeNotFound, "see the scripts: postern sieve list "+address, "sieve script %q: not found", name)
}

func (m *memBackend) ListSieveScripts(_ context.Context, address string) ([]admin.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.sieveUser(address); err != nil {
		return nil, err
	}
	var out []admin.SieveScript
	for _, s := range m.scripts[address] {
		s.Content = ""
		out = append(out, s)
	}
	return out, nil
}

func (m *memBackend) GetSieveScript(_ context.Context, address, name string) (admin.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.findScript(address, name)
	if err != nil {
		return admin.SieveScript{}, err
	}
	return m.scripts[address][i], nil
}

func (m *memBackend) PutSieveScript(_ context.Context, address, name, content string) (admin.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if strings.Contains(content, "frobnicate") {
		return admin.SieveScript{}, admin.Errorf(admin.CodeInvalid, "check it locally: postern sieve check FILE",
			"sieve script %s: line 1, column 1: unknown-command error: unknown command frobnicate", name)
	}
	s := admin.SieveScript{Name: name, Size: int64(len(content)), UpdatedAt: m.created, Content: content}
	i, err := m.findScript(address, name)
	switch {
	case err == nil:
		s.Active = m.scripts[address][i].Active
		m.scripts[address][i] = s
	case admin.ErrorCode(err) == admin.CodeNotFound && m.scripts != nil:
		m.scripts[address] = append(m.scripts[address], s)
	default:
		return admin.SieveScript{}, err
	}
	return s, nil
}

func (m *memBackend) ActivateSieveScript(_ context.Context, address, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.sieveUser(address); err != nil {
		return err
	}
	if name != "" {
		if _, err := m.findScript(address, name); err != nil {
			return err
		}
	}
	for i := range m.scripts[address] {
		m.scripts[address][i].Active = m.scripts[address][i].Name == name
	}
	return nil
}

func (m *memBackend) DeleteSieveScript(_ context.Context, address, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.findScript(address, name)
	if err != nil {
		return err
	}
	if m.scripts[address][i].Active {
		return admin.Errorf(admin.CodeInUse, "deactivate it first: postern sieve activate "+address, "sieve script %q is active", name)
	}
	m.scripts[address] = slices.Delete(m.scripts[address], i, i+1)
	return nil
}

// queued is the fake outbound queue: one deferred message unless a test changes it.
func (m *memBackend) queueState() []queue.Info {
	if m.queue == nil {
		m.queue = []queue.Info{{ID: "LX3K2A9F01AB", Size: 4096, Arrival: m.created, From: "alice@example.com",
			Rcpts: []queue.RcptInfo{{Addr: "bob@example.org", Status: queue.StatusDeferred, Code: 451,
				LastError: "connect to smtp.example.net: connection refused"}}}}
	}
	return m.queue
}

func (m *memBackend) findQueued(id string) (int, error) {
	for i, in := range m.queueState() {
		if in.ID == id {
			return i, nil
		}
	}
	return -1, admin.Errorf(admin.CodeNotFound, "see the queue: postern queue list", "queue: no such message: %s", id)
}

func (m *memBackend) ListQueue(context.Context) ([]queue.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.queueState()), nil
}

func (m *memBackend) ShowQueue(_ context.Context, id string) (admin.QueuedMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.findQueued(id)
	if err != nil {
		return admin.QueuedMessage{}, err
	}
	return admin.QueuedMessage{Info: m.queue[i], Headers: "From: alice@example.com\r\nSubject: hi\r\n"}, nil
}

func (m *memBackend) FlushQueue(context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queueState()), nil
}

func (m *memBackend) queueOp(id string, fn func(i int)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.findQueued(id)
	if err == nil {
		fn(i)
	}
	return err
}

func (m *memBackend) RetryQueued(_ context.Context, id string) error {
	return m.queueOp(id, func(int) {})
}

func (m *memBackend) HoldQueued(_ context.Context, id string) error {
	return m.queueOp(id, func(i int) { m.queue[i].Held = true })
}

func (m *memBackend) ReleaseQueued(_ context.Context, id string) error {
	return m.queueOp(id, func(i int) { m.queue[i].Held = false })
}

func (m *memBackend) DeleteQueued(_ context.Context, id string) error {
	return m.queueOp(id, func(i int) { m.queue = slices.Delete(m.queue, i, i+1) })
}

// TestRelay fails at AUTH for a recipient at fail.example, like a wrong password.
func (m *memBackend) TestRelay(_ context.Context, to, name string) (relay.Report, error) {
	host := "smtp.example.net"
	if name != "" {
		host = name + ".example.net"
	}
	steps := []relay.Step{{Name: "connect", OK: true, Detail: "connected to " + host + ":587"}}
	if strings.HasSuffix(to, "@fail.example") {
		steps = append(steps, relay.Step{Name: "auth", Detail: "535 5.7.8 authentication failed",
			Explain: "The relay refused the username or password."})
		return relay.Report{Steps: steps}, nil
	}
	if to != "" {
		steps = append(steps, relay.Step{Name: "send", OK: true, Detail: "test message to " + to + " accepted"})
	}
	return relay.Report{Steps: steps, OK: true}, nil
}

func (m *memBackend) Backup(_ context.Context, dir string) (admin.BackupResult, error) {
	return admin.BackupResult{Dir: dir, Files: 3, Linked: 2, Bytes: 100}, nil
}
