package admin

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/postern/postern/smtp/queue"
	"github.com/postern/postern/smtp/relay"
)

// fakeBackend records every call as a string and answers from canned values; fail, when
// set, makes every call return that error; hook, when set, runs first (to block or panic).
type fakeBackend struct {
	mu    sync.Mutex
	calls []string
	fail  error
	hook  func(ctx context.Context, method string)
}

var fakeTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func (f *fakeBackend) record(ctx context.Context, format string, args ...any) error {
	call := fmt.Sprintf(format, args...)
	f.mu.Lock()
	f.calls = append(f.calls, call)
	hook, fail := f.hook, f.fail
	f.mu.Unlock()
	if hook != nil {
		hook(ctx, call)
	}
	return fail
}

func (f *fakeBackend) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeBackend) Status(ctx context.Context) (Status, error) {
	return Status{
		Version: "1.2.3", PID: 42, StartedAt: fakeTime, Config: "/etc/postern/postern.toml",
		StateDir: "/var/lib/postern", SchemaVersion: 3,
		Listeners: map[string]string{"smtp": "127.0.0.1:2525"},
	}, f.record(ctx, "Status")
}

func (f *fakeBackend) AddDomain(ctx context.Context, name string) (Domain, error) {
	return Domain{Name: name, CreatedAt: fakeTime}, f.record(ctx, "AddDomain %s", name)
}

func (f *fakeBackend) ListDomains(ctx context.Context) ([]Domain, error) {
	return []Domain{{Name: "example.org", CreatedAt: fakeTime, Users: 2, Aliases: 1}}, f.record(ctx, "ListDomains")
}

func (f *fakeBackend) RemoveDomain(ctx context.Context, name string) error {
	return f.record(ctx, "RemoveDomain %s", name)
}

func (f *fakeBackend) AddUser(ctx context.Context, u NewUser) (User, error) {
	return User{Address: u.Address, Domain: "example.org", QuotaBytes: u.QuotaBytes, CreatedAt: fakeTime},
		f.record(ctx, "AddUser %s %s %d", u.Address, u.Password, u.QuotaBytes)
}

func (f *fakeBackend) ListUsers(ctx context.Context, domain string) ([]User, error) {
	return []User{
		{Address: "alice@example.org", Domain: "example.org", CreatedAt: fakeTime, AppPasswords: 1},
		{Address: "bob@example.org", Domain: "example.org", Disabled: true, QuotaBytes: 2 << 30, CreatedAt: fakeTime},
	}, f.record(ctx, "ListUsers %s", domain)
}

func (f *fakeBackend) GetUser(ctx context.Context, address string) (User, error) {
	return User{Address: address, Domain: "example.org", QuotaBytes: 10 << 20, UsedBytes: 1 << 20, CreatedAt: fakeTime},
		f.record(ctx, "GetUser %s", address)
}

func (f *fakeBackend) RemoveUser(ctx context.Context, address string) error {
	return f.record(ctx, "RemoveUser %s", address)
}

func (f *fakeBackend) SetPassword(ctx context.Context, address, password string) error {
	return f.record(ctx, "SetPassword %s %s", address, password)
}

func (f *fakeBackend) SetDisabled(ctx context.Context, address string, disabled bool) error {
	return f.record(ctx, "SetDisabled %s %t", address, disabled)
}

func (f *fakeBackend) SetQuota(ctx context.Context, address string, quota int64) error {
	return f.record(ctx, "SetQuota %s %d", address, quota)
}

func (f *fakeBackend) AddAppPassword(ctx context.Context, address, name string) (NewAppPassword, error) {
	return NewAppPassword{
		AppPassword: AppPassword{Name: name, CreatedAt: fakeTime},
		Address:     address, Secret: "abcd-efgh-ijkl-mnop",
	}, f.record(ctx, "AddAppPassword %s %s", address, name)
}

func (f *fakeBackend) ListAppPasswords(ctx context.Context, address string) ([]AppPassword, error) {
	return []AppPassword{{Name: "phone", CreatedAt: fakeTime, LastUsed: fakeTime}, {Name: "laptop", CreatedAt: fakeTime}},
		f.record(ctx, "ListAppPasswords %s", address)
}

func (f *fakeBackend) RevokeAppPassword(ctx context.Context, address, name string) error {
	return f.record(ctx, "RevokeAppPassword %s %s", address, name)
}

func (f *fakeBackend) AddAlias(ctx context.Context, source string, targets []string) (Alias, error) {
	return Alias{Source: source, Targets: targets}, f.record(ctx, "AddAlias %s %v", source, targets)
}

func (f *fakeBackend) ListAliases(ctx context.Context, domain string) ([]Alias, error) {
	return []Alias{{Source: "@example.org", Targets: []string{"alice@example.org"}}},
		f.record(ctx, "ListAliases %s", domain)
}

func (f *fakeBackend) RemoveAlias(ctx context.Context, source string, targets []string) error {
	return f.record(ctx, "RemoveAlias %s %v", source, targets)
}

func (f *fakeBackend) Reindex(ctx context.Context, address string) ([]MailboxReindex, error) {
	return []MailboxReindex{{Mailbox: "INBOX", Added: 1}}, f.record(ctx, "Reindex %s", address)
}

func (f *fakeBackend) ListSieveScripts(ctx context.Context, address string) ([]SieveScript, error) {
	return []SieveScript{{Name: "main", Active: true, Size: 5, UpdatedAt: fakeTime}},
		f.record(ctx, "ListSieveScripts %s", address)
}

func (f *fakeBackend) GetSieveScript(ctx context.Context, address, name string) (SieveScript, error) {
	return SieveScript{Name: name, Size: 5, Content: "keep;"}, f.record(ctx, "GetSieveScript %s %s", address, name)
}

func (f *fakeBackend) PutSieveScript(ctx context.Context, address, name, content string) (SieveScript, error) {
	return SieveScript{Name: name, Size: int64(len(content))}, f.record(ctx, "PutSieveScript %s %s %q", address, name, content)
}

func (f *fakeBackend) ActivateSieveScript(ctx context.Context, address, name string) error {
	return f.record(ctx, "ActivateSieveScript %s %q", address, name)
}

func (f *fakeBackend) DeleteSieveScript(ctx context.Context, address, name string) error {
	return f.record(ctx, "DeleteSieveScript %s %s", address, name)
}

var fakeQueued = queue.Info{ID: "LX3K2A9F01AB", Size: 4096, Arrival: fakeTime, From: "alice@example.org",
	Rcpts: []queue.RcptInfo{{Addr: "bob@example.net", Status: queue.StatusDeferred, Code: 451, LastError: "try later"}}}

func (f *fakeBackend) ListQueue(ctx context.Context) ([]queue.Info, error) {
	return []queue.Info{fakeQueued}, f.record(ctx, "ListQueue")
}

func (f *fakeBackend) ShowQueue(ctx context.Context, id string) (QueuedMessage, error) {
	return QueuedMessage{Info: fakeQueued, Headers: "Subject: hi\r\n"}, f.record(ctx, "ShowQueue %s", id)
}

func (f *fakeBackend) FlushQueue(ctx context.Context) (int, error) {
	return 3, f.record(ctx, "FlushQueue")
}

func (f *fakeBackend) RetryQueued(ctx context.Context, id string) error {
	return f.record(ctx, "RetryQueued %s", id)
}

func (f *fakeBackend) HoldQueued(ctx context.Context, id string) error {
	return f.record(ctx, "HoldQueued %s", id)
}

func (f *fakeBackend) ReleaseQueued(ctx context.Context, id string) error {
	return f.record(ctx, "ReleaseQueued %s", id)
}

func (f *fakeBackend) DeleteQueued(ctx context.Context, id string) error {
	return f.record(ctx, "DeleteQueued %s", id)
}

func (f *fakeBackend) TestRelay(ctx context.Context, to, name string) (relay.Report, error) {
	return relay.Report{Steps: []relay.Step{{Name: "connect", OK: true, Detail: "connected"}}, OK: true},
		f.record(ctx, "TestRelay %s %s", to, name)
}

func (f *fakeBackend) Backup(ctx context.Context, dir string) (BackupResult, error) {
	return BackupResult{Dir: dir, Files: 1}, f.record(ctx, "Backup %s", dir)
}
