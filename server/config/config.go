package config

import (
	"crypto/tls"
	"log/slog"
	"path/filepath"
	"time"
)

// Config is the whole configuration file. After Load or Parse every path in
// it is absolute.
type Config struct {
	Hostname   string `toml:"hostname" required:"true" type:"domain name" doc:"The fully qualified name of this mail server, used in HELO, banners, Received headers and bounces."`
	StateDir   string `toml:"state_dir" path:"config" type:"path" doc:"Directory for the database, the Maildirs, the outbound queue and generated certificates."`
	RuntimeDir string `toml:"runtime_dir" path:"config" type:"path" doc:"Directory for the unix sockets (admin, LMTP); relative socket paths are relative to it."`

	Listen  Listen            `toml:"listen" doc:"Where each listener binds; \"\" switches a listener off."`
	SMTP    SMTP              `toml:"smtp" doc:"Limits and policy for SMTP, submission and LMTP sessions."`
	DNS     DNS               `toml:"dns" doc:"The DNS resolvers used for MX lookups and sender checks."`
	TLS     TLS               `toml:"tls" doc:"The certificate served on every TLS listener: either cert and key files, or a self-signed one."`
	Relay   *Relay            `toml:"relay" doc:"The outbound smart host; without this table mail is delivered directly to each recipient's MX."`
	Relays  map[string]*Relay `toml:"relays" doc:"More smart hosts, each a [relays.NAME] table with the keys of [relay]; routes and fallback name them."`
	Routes  []Route           `toml:"route" doc:"Routes: which recipient or sender domains leave through another relay, or directly to MX. Recipient domains are matched first, then the sender's domain; everything else takes [relay] (or direct delivery without it)."`
	Queue   Queue             `toml:"queue" doc:"The outbound queue: how often and how long undeliverable mail is retried."`
	Sieve   Sieve             `toml:"sieve" doc:"Mail filtering with Sieve at delivery: the global scripts around each user's own."`
	SPF     SPF               `toml:"spf" doc:"SPF checks of mail from the internet."`
	DKIM    DKIM              `toml:"dkim" doc:"DKIM: verifying signatures of mail from the internet, signing the mail we send."`
	DMARC   DMARC             `toml:"dmarc" doc:"DMARC: the From: domain's policy for mail that fails SPF and DKIM alignment."`
	MTASTS  MTASTS            `toml:"mta_sts" doc:"The MTA-STS policy (RFC 8461) served for each local domain, telling senders to deliver only over verified TLS. Add mta-sts.DOMAIN to tls.acme.names (and DNS) so that the policy's HTTPS certificate is valid."`
	Milter  Milter            `toml:"milter" doc:"A milter such as Rspamd asked about each message from the internet: its verdict rejects, defers, quarantines or adds headers (X-Spam, which [sieve] spam_to_junk files into Junk)."`
	DNSBL   DNSBL             `toml:"dnsbl" doc:"DNS blocklists checked for clients of the smtp listener."`
	Limits  Limits            `toml:"limits" doc:"Limits on strangers: rates of mail per client address and per user, failed logins, and connections per listener and per client network."`
	Mailbox Mailbox           `toml:"mailbox" doc:"Housekeeping of the users' mailboxes."`
	Trace   Trace             `toml:"trace" doc:"The history of each message kept for postern trace."`
	Alerts  Alerts            `toml:"alerts" doc:"Mail to the owner when something is wrong, and when it is fixed."`

	SpamLearning SpamLearning `toml:"spam_learning" doc:"Teaching Rspamd from the users: a message moved or copied into \\Junk (or a mailbox below it), or appended there, is learned as spam; one moved out of Junk into anything but \\Trash as ham. Requests wait in a spool under state_dir until Rspamd's controller takes them, so a slow or stopped Rspamd never slows IMAP and a restart loses none."`
	Admin        Admin        `toml:"admin" doc:"The unix socket the postern command line uses to talk to the running server."`
	Log          Log          `toml:"log" doc:"How the server writes its log."`

	// File is the absolute path of the file the config was read from; "" when
	// the Config was built in code.
	File string `toml:"-"`

	// lines maps each dotted key of the file (and each table) to the line it
	// appears on, so validation errors can point at it. nil when built in code.
	lines map[string]int
}

// Listen holds one address per listener. Each value is ":port",
// "host:port", "[ipv6]:port", or "" for off; port 0 binds an ephemeral port.
// Only lmtp may also be "unix:PATH".
type Listen struct {
	SMTP        string `toml:"smtp" type:"listen address" doc:"Mail from the internet for local domains (STARTTLS offered, no AUTH)."`
	Submission  string `toml:"submission" type:"listen address" doc:"Mail from your clients; STARTTLS and AUTH required."`
	Submissions string `toml:"submissions" type:"listen address" doc:"Mail from your clients over implicit TLS; AUTH required."`
	IMAP        string `toml:"imap" type:"listen address" doc:"IMAP mailbox access; login only after STARTTLS."`
	IMAPS       string `toml:"imaps" type:"listen address" doc:"IMAP mailbox access over implicit TLS."`
	ManageSieve string `toml:"managesieve" type:"listen address" doc:"ManageSieve, for clients that edit Sieve filters; STARTTLS before AUTH."`
	LMTP        string `toml:"lmtp" type:"listen address" unix:"true" doc:"LMTP, for another MTA that hands mail to our store; \"unix:PATH\" (relative to runtime_dir; the socket is 0660, its group decides who may deliver) or \"host:port\". LMTP runs none of the smtp listener's sender checks, so over TCP only clients in smtp.trusted_networks are served: an MTA delivering over LMTP/TCP must be in trusted_networks, anyone else is answered 554 5.7.1 and disconnected."`
	Metrics     string `toml:"metrics" type:"listen address" doc:"Prometheus /metrics over HTTP, e.g. \"127.0.0.1:9155\"."`
	ACMEHTTP    string `toml:"acme_http" type:"listen address" doc:"ACME http-01 challenges over plain HTTP, e.g. \":80\"; needed with tls.acme.challenge = \"http-01\"."`
	ACMETLS     string `toml:"acme_tls" type:"listen address" doc:"ACME tls-alpn-01 challenges, e.g. \":443\"; needed with tls.acme.challenge = \"tls-alpn-01\". Otherwise HTTPS with the files of listen.https."`
	HTTPS       string `toml:"https" type:"listen address" doc:"HTTPS for the files mail clients and senders fetch: Thunderbird-style autoconfiguration (autoconfig.DOMAIN) and the MTA-STS policy (mta-sts.DOMAIN), e.g. \":443\"; not needed when acme_tls is on port 443, which serves them too. acme_http serves the autoconfiguration over plain HTTP as well."`
}

// SMTP holds the policy shared by the SMTP, submission and LMTP listeners.
type SMTP struct {
	TrustedNetworks           []string `toml:"trusted_networks" type:"array of CIDRs" doc:"Client networks that may relay without AUTH, like Postfix's mynetworks, and the only clients the lmtp listener serves over TCP."`
	RecipientDelimiter        string   `toml:"recipient_delimiter" doc:"The character that separates a local part from its detail (user+detail@domain); \"\" turns sub-addressing off."`
	MessageSizeLimit          int64    `toml:"message_size_limit" doc:"The largest message accepted, in bytes, announced in the SIZE extension (RFC 1870)."`
	RejectUnknownSenderDomain bool     `toml:"reject_unknown_sender_domain" doc:"Refuse mail whose envelope sender domain has no MX, A or AAAA record."`
	MaxRecipients             int      `toml:"max_recipients" doc:"The most recipients accepted for one message."`
	MaxLineLength             int      `toml:"max_line_length" doc:"The longest line accepted, in octets including CRLF; RFC 5321 section 4.5.3.1.6 requires at least 1000."`
	LocalSender               string   `toml:"local_sender" type:"address" doc:"The sender of mail from postern sendmail when the caller gives no -f; \"\" uses the caller's login name at hostname (root@mail.example.com)."`
}

// DNS configures the resolver.
type DNS struct {
	Servers []string `toml:"servers" type:"array of addresses" doc:"Resolvers as \"ip\" or \"ip:port\" (port 53 when omitted); an empty list uses the system resolver."`
}

// TLS configures the certificate. Exactly one source is used: the cert and
// key files, or a self-signed certificate generated for hostname.
type TLS struct {
	Cert       string `toml:"cert" path:"config" type:"path" doc:"PEM certificate chain file; needs key, and replaces self_signed."`
	Key        string `toml:"key" path:"config" type:"path" doc:"PEM private key file for cert."`
	SelfSigned bool   `toml:"self_signed" doc:"Generate a self-signed certificate for hostname on first start (used only when cert and key are not set)."`
	MinVersion string `toml:"min_version" enum:"1.2|1.3" doc:"The oldest TLS version accepted."`
	ACME       *ACME  `toml:"acme" doc:"Certificates from an ACME CA such as Let's Encrypt, renewed in the background."`
}

// Relay is the outbound smart host.
type Relay struct {
	Provider     string `toml:"provider" example:"" doc:"A known provider (brevo, fastmail, gmail, mailgun, postmark, ses, smtp2go) whose host, port and tls are filled in unless given here."`
	Region       string `toml:"region" example:"" doc:"The region of provider = \"ses\", e.g. \"eu-west-1\"."`
	Host         string `toml:"host" type:"host name" example:"smtp.fastmail.com" doc:"The smart host's name or IP address; required unless provider is set."`
	Port         int    `toml:"port" example:"587" doc:"The smart host's port: usually 587 with starttls or 465 with implicit; the provider's when provider is set."`
	TLS          string `toml:"tls" enum:"starttls|implicit|none" example:"starttls" doc:"How to encrypt the connection to the smart host; the provider's when provider is set."`
	Username     string `toml:"username" example:"you@fastmail.com" doc:"The AUTH user name; \"\" sends without AUTH."`
	PasswordFile string `toml:"password_file" path:"config" type:"path" example:"/etc/postern/relay.password" doc:"File holding the AUTH password (mode 0600 or 0400); required with username."`
	CAFile       string `toml:"ca_file" path:"config" type:"path" example:"" doc:"Extra PEM CA bundle to verify the smart host; \"\" uses the system CAs."`
	// InsecureSkipVerify is relay.Options.InsecureSkipVerify.
	InsecureSkipVerify bool   `toml:"insecure_skip_verify" example:"false" doc:"Encrypt without verifying the smart host's certificate (anyone on the path could read the password); a warning is logged at start. Only for a certificate that cannot be fixed."`
	AllowInternal      bool   `toml:"allow_internal" example:"false" doc:"Allow host, given as a name, to resolve to a loopback, private, link-local or this machine's own address (a smart host on the LAN). Without it such an address is refused, so that a DNS answer cannot turn the relay and its password against the LAN or this server; an IP address or localhost in host is allowed as it is. MX delivery never connects to such addresses."`
	Fallback           string `toml:"fallback" example:"" doc:"The NAME of a [relays.NAME] table that takes a message's recipients when this relay cannot be reached (connect, TLS, greeting, AUTH) in the same attempt; from a [relays.NAME] table, \"relay\" names [relay]."`
}

// Queue configures retries of the outbound queue. Durations are Go durations: "90s",
// "5m", "1h30m", "120h".
type Queue struct {
	MinBackoff     string `toml:"min_backoff" type:"duration" doc:"The wait before the first retry of a deferred message; it doubles per attempt."`
	MaxBackoff     string `toml:"max_backoff" type:"duration" doc:"The longest wait between two attempts."`
	Lifetime       string `toml:"lifetime" type:"duration" doc:"How long a message is retried before it bounces to its sender (Postfix's maximal_queue_lifetime)."`
	DelayWarning   string `toml:"delay_warning" type:"duration" doc:"Send the sender one \"still trying\" notice after this long; \"\" for never."`
	MaxConcurrency int    `toml:"max_concurrency" doc:"The most delivery attempts running at once."`
}

// Durations returns the queue durations parsed; invalid ones (which Validate reports) are
// zero.
func (q Queue) Durations() (minBackoff, maxBackoff, lifetime, delayWarning time.Duration) {
	d := func(s string) time.Duration { v, _ := time.ParseDuration(s); return v }
	return d(q.MinBackoff), d(q.MaxBackoff), d(q.Lifetime), d(q.DelayWarning)
}

// Sieve configures the global Sieve scripts. At delivery the scripts run in this order:
// the built-in spam rule, before, the user's active script, after; actions add up, and
// the implicit keep applies only if no script cancelled it.
type Sieve struct {
	SpamToJunk bool   `toml:"spam_to_junk" doc:"Built-in global rule run first: mail with an \"X-Spam: Yes\" header (set by Rspamd or SpamAssassin) is filed into Junk."`
	Before     string `toml:"before" path:"config" type:"path" doc:"A global Sieve script run before each user's script; \"\" for none."`
	After      string `toml:"after" path:"config" type:"path" doc:"A global Sieve script run after each user's script; \"\" for none."`
	GlobalDir  string `toml:"global_dir" path:"config" type:"path" doc:"Where \"include :global\" finds NAME.sieve; \"\" for none."`
	// NotifyMaxPerHour caps enotify per user, beside the once-a-day rule.
	NotifyMaxPerHour int `toml:"notify_max_per_hour" doc:"The most enotify mailto notifications one user's scripts may send per hour (at delivery and on IMAP events together), beside the rule that the same notification about the same sender goes out once a day; more are not sent, with a log line. 0 for no cap."`
	// spamtest, spamtestplus and virustest (RFC 5235), as Pigeonhole's
	// sieve_spamtest_* and sieve_virustest_* settings (sieve.go).
	SpamTest  ScoreTest `toml:"spamtest" doc:"Where spamtest and spamtestplus read the spam scanner's verdict, as Pigeonhole's sieve_spamtest_* settings. With status_header \"\" (the default) Rspamd's headers are read: X-Spam-Score (max 15) or X-Spamd-Result (max from the header)."`
	VirusTest ScoreTest `toml:"virustest" doc:"Where virustest reads the virus scanner's verdict, as Pigeonhole's sieve_virustest_* settings. With status_header \"\" (the default) virustest is always 0 (not tested)."`
	// IMAPSieve are the scripts run on IMAP events (RFC 6785).
	IMAPSieve []IMAPSieveRule `toml:"imapsieve" doc:"Scripts run on IMAP events (RFC 6785), as Pigeonhole's imapsieve_mailboxN_* settings: when a client appends, copies or moves a message into a mailbox, or changes its flags."`
}

// Admin configures the admin socket.
type Admin struct {
	Socket string `toml:"socket" path:"runtime" type:"path" doc:"The admin socket, created with mode 0660."`
	Group  string `toml:"group" doc:"The group that owns the admin socket; its members may run admin commands (\"\" keeps the server's group)."`
	// SubmitSocket is not an admin socket, but it lives next to it and is for the same
	// local callers; [listen] is for network listeners.
	SubmitSocket    string `toml:"submit_socket" path:"runtime" type:"path" doc:"The local submission socket postern sendmail hands mail to, mode 0666: any local user may send, and the caller's uid is recorded. While the server is down, sendmail leaves mail in state_dir/maildrop instead (mode 3733: any user may add a file, none may read or remove another's)."`
	SubmitPerMinute int    `toml:"submit_per_minute" doc:"The most messages one local user (uid, root excepted) may send per minute through sendmail, socket and maildrop together; more wait in the maildrop and go out later. mailq and sendmail -bv of a user outside group postern count in a window of the same size of their own. 0 for no limit."`
}

// Log configures logging.
type Log struct {
	Format string `toml:"format" enum:"auto|text|json|logfmt" doc:"Log line format; auto is text on a terminal and json otherwise."`
	Level  string `toml:"level" enum:"debug|info|warn|error" doc:"The least severe level written."`
}

// Default returns the built-in defaults. Hostname is empty: it has no
// sensible default and must be set before the Config validates.
func Default() Config {
	return Config{
		StateDir:   "/var/lib/postern",
		RuntimeDir: "/run/postern",
		Listen: Listen{
			SMTP:        ":25",
			Submission:  ":587",
			Submissions: ":465",
			IMAP:        ":143",
			IMAPS:       ":993",
			ManageSieve: ":4190",
			LMTP:        "unix:lmtp.sock",
			Metrics:     "",
		},
		SMTP: SMTP{
			TrustedNetworks:           []string{"127.0.0.0/8", "::1/128"},
			RecipientDelimiter:        "+",
			MessageSizeLimit:          52428800,
			RejectUnknownSenderDomain: true,
			MaxRecipients:             1000,
			MaxLineLength:             1000,
		},
		DNS:    DNS{Servers: []string{}},
		Sieve:  Sieve{SpamToJunk: true, NotifyMaxPerHour: 30, SpamTest: defaultScoreTest(), VirusTest: defaultScoreTest()},
		SPF:    SPF{Check: true},
		DKIM:   DKIM{Verify: true, Sign: true},
		DMARC:  DMARC{Check: true, Enforce: true},
		MTASTS: MTASTS{MaxAge: "168h", MX: []string{}},
		Milter: Milter{DefaultAction: "accept", Timeout: "30s"},
		DNSBL:  DNSBL{Zones: []string{}},
		Limits: Limits{MessagesPerMinutePerIP: 60, RecipientsPerMinutePerIP: 300,
			MessagesPerMinutePerUser: 60, RecipientsPerMinutePerUser: 300,
			AuthFailuresBeforeDelay: 3, AuthFailuresBeforeLockout: 10, AuthMaxDelay: "8s", AuthLockout: "15m",
			AuthNetworkFailuresBeforeLockout: 30, AuthAccountFailuresBeforeSlowdown: 30,
			ClientIPv4Prefix: 32, ClientIPv6Prefix: 64,
			SMTP:        ListenerLimits{MaxConnections: 100, MaxConnectionsPerNetwork: 20, MaxConnectionsPerTrustedNetwork: 100, IdleTimeout: "5m"},
			Submission:  ListenerLimits{MaxConnections: 100, MaxConnectionsPerNetwork: 10, MaxConnectionsPerTrustedNetwork: 50, LoginTimeout: "1m", IdleTimeout: "5m"},
			LMTP:        ListenerLimits{MaxConnections: 100, MaxConnectionsPerNetwork: 20, MaxConnectionsPerTrustedNetwork: 100, IdleTimeout: "5m"},
			IMAP:        ListenerLimits{MaxConnections: 1000, MaxConnectionsPerNetwork: 20, MaxConnectionsPerTrustedNetwork: 200, MaxConnectionsPerUserNetwork: 10, MaxConnectionsPerUserTrustedNetwork: 100, LoginTimeout: "1m", IdleTimeout: "30m"},
			ManageSieve: ListenerLimits{MaxConnections: 100, MaxConnectionsPerNetwork: 5, MaxConnectionsPerTrustedNetwork: 20, LoginTimeout: "1m", IdleTimeout: "10m"},
			HTTP:        ListenerLimits{MaxConnections: 200, MaxConnectionsPerNetwork: 20, MaxConnectionsPerTrustedNetwork: 100, IdleTimeout: "1m"},
		},
		Queue: Queue{MinBackoff: "5m", MaxBackoff: "1h", Lifetime: "120h", MaxConcurrency: 20},
		TLS:   TLS{SelfSigned: true, MinVersion: "1.2"},
		Admin: Admin{
			Socket:          "admin.sock",
			Group:           "postern",
			SubmitSocket:    "submit.sock",
			SubmitPerMinute: 60,
		},
		Log:   Log{Format: "auto", Level: "info"},
		Trace: Trace{Enabled: true, MaxAge: "21d", MaxSize: 256 << 20},
	}
}

// DefaultRelay returns the values a [relay] table starts from: port 587 with
// STARTTLS. Host is empty and required.
func DefaultRelay() Relay {
	return Relay{Port: 587, TLS: "starttls"}
}

// DBPath is the SQLite database: state_dir/postern.db.
func (c *Config) DBPath() string { return filepath.Join(c.StateDir, "postern.db") }

// MailDir is the root of the Maildirs: state_dir/mail.
func (c *Config) MailDir() string { return filepath.Join(c.StateDir, "mail") }

// QueueDir is the outbound spool: state_dir/queue.
func (c *Config) QueueDir() string { return filepath.Join(c.StateDir, "queue") }

// TLSDir holds generated certificates: state_dir/tls.
func (c *Config) TLSDir() string { return filepath.Join(c.StateDir, "tls") }

// AdminSocket is the admin socket's path, resolved against runtime_dir when
// it is relative.
func (c *Config) AdminSocket() string { return underDir(c.RuntimeDir, c.Admin.Socket) }

// SubmitSocket is the local submission socket's path, resolved against runtime_dir
// when it is relative.
func (c *Config) SubmitSocket() string { return underDir(c.RuntimeDir, c.Admin.SubmitSocket) }

// MaildropDir is where postern sendmail of any local user leaves messages while the
// daemon is not running.
func (c *Config) MaildropDir() string { return filepath.Join(c.StateDir, "maildrop") }

// PickupDir is state_dir/pickup, where the daemon keeps its own retries of local
// submissions (and older sendmail versions left messages while it was down).
func (c *Config) PickupDir() string { return filepath.Join(c.StateDir, "pickup") }

// MinTLSVersion returns min_version as a crypto/tls constant; anything but
// "1.3" means TLS 1.2.
func (t TLS) MinTLSVersion() uint16 {
	if t.MinVersion == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// SlogLevel returns level as a slog.Level; unknown values mean info.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// underDir joins p to dir unless p is empty or already absolute.
func underDir(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
