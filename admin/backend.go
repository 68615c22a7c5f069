package admin

import (
	"context"
	"time"
)

// Backend is what the daemon (server/) implements for the admin handlers. Each method is
// one transaction; errors should implement CodedError (see Error, NewError) to choose the
// code the CLI shows, otherwise they are reported as CodeInternal.
type Backend interface {
	StatusBackend
	DomainBackend
	UserBackend
	AppPasswordBackend
	AliasBackend
	MailboxBackend
	FolderBackend
	SessionBackend
	DoctorBackend
	TraceBackend
	SieveBackend
	QueueBackend
	RelayBackend
	BackupBackend
}

// StatusBackend reports the daemon's state.
type StatusBackend interface {
	Status(ctx context.Context) (Status, error)
}

// DomainBackend manages the local mail domains.
type DomainBackend interface {
	AddDomain(ctx context.Context, name string) (Domain, error)
	ListDomains(ctx context.Context) ([]Domain, error)
	RemoveDomain(ctx context.Context, name string) error
}

// UserBackend manages mailbox users.
type UserBackend interface {
	AddUser(ctx context.Context, u NewUser) (User, error)
	ListUsers(ctx context.Context, domain string) ([]User, error) // "" = every domain
	GetUser(ctx context.Context, address string) (User, error)
	RemoveUser(ctx context.Context, address string) error
	SetPassword(ctx context.Context, address, password string) error
	SetDisabled(ctx context.Context, address string, disabled bool) error
	SetQuota(ctx context.Context, address string, quotaBytes int64) error
}

// AppPasswordBackend manages per-device passwords of a user.
type AppPasswordBackend interface {
	// AddAppPassword generates the secret; it is returned once and only its hash kept.
	AddAppPassword(ctx context.Context, address, name string) (NewAppPassword, error)
	ListAppPasswords(ctx context.Context, address string) ([]AppPassword, error)
	RevokeAppPassword(ctx context.Context, address, name string) error
}

// AliasBackend manages aliases ("local@domain" or the catch-all "@domain").
type AliasBackend interface {
	AddAlias(ctx context.Context, source string, targets []string) (Alias, error)
	ListAliases(ctx context.Context, domain string) ([]Alias, error) // "" = every domain
	// RemoveAlias removes the given targets, or the whole alias when targets is empty.
	RemoveAlias(ctx context.Context, source string, targets []string) error
}

// Status is the answer to "status". Listeners maps a listener name ("smtp", "imap", ...)
// to the address actually bound, so that port 0 in the config can be discovered.
type Status struct {
	Version       string            `json:"version"`
	PID           int               `json:"pid"`
	StartedAt     time.Time         `json:"started_at"`
	Config        string            `json:"config"`
	StateDir      string            `json:"state_dir"`
	SchemaVersion int               `json:"schema_version"`
	Listeners     map[string]string `json:"listeners"`
}

// Domain is a local mail domain.
type Domain struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Users     int       `json:"users"`
	Aliases   int       `json:"aliases"`
}

// NewUser is the argument of user.add. The password travels only inside the socket.
type NewUser struct {
	Address    string `json:"address"`
	Password   string `json:"password"`
	QuotaBytes int64  `json:"quota_bytes,omitempty"` // 0 = unlimited
}

// User is a mailbox user.
type User struct {
	Address      string    `json:"address"`
	Domain       string    `json:"domain"`
	Disabled     bool      `json:"disabled"`
	QuotaBytes   int64     `json:"quota_bytes"` // 0 = unlimited
	UsedBytes    int64     `json:"used_bytes"`  // the mail stored, as the quota counts it
	CreatedAt    time.Time `json:"created_at"`
	AppPasswords int       `json:"app_passwords"`
}

// AppPassword describes one app password (never its secret).
type AppPassword struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used,omitzero"`
}

// NewAppPassword is the answer to apppassword.add: the only time the secret is shown.
type NewAppPassword struct {
	AppPassword
	Address string `json:"address"`
	Secret  string `json:"secret"`
}

// Alias maps a source address (or "@domain" catch-all) to its targets.
type Alias struct {
	Source  string   `json:"source"`
	Targets []string `json:"targets"`
}
