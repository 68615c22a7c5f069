package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// DKIMDir holds the DKIM signing keys: state_dir/dkim (see server/dkimkeys).
func (c *Config) DKIMDir() string { return filepath.Join(c.StateDir, "dkim") }

// SPF configures SPF checks of mail from the internet.
type SPF struct {
	Check bool `toml:"check" doc:"Check SPF (RFC 7208) for the MAIL FROM and HELO names of mail arriving on the smtp listener from clients outside trusted_networks; the result is recorded in Authentication-Results and used by DMARC."`
}

// DKIM configures DKIM verification of incoming and signing of outgoing mail.
type DKIM struct {
	Verify       bool `toml:"verify" doc:"Verify every DKIM signature (RFC 6376) of mail arriving on the smtp listener from clients outside trusted_networks."`
	Sign         bool `toml:"sign" doc:"Sign outgoing mail from our domains with the domain's active key under state_dir/dkim (made by \"postern dkim keygen\"), or with a parent domain's key for a subdomain (MAILER-DAEMON@ the hostname); a domain without a key is sent unsigned. Mail that leaves directly for the recipient's MX hosts (no [relay], or a [[route]] with via = \"direct\") is signed; mail through a smart host only with sign_via_relay."`
	SignViaRelay bool `toml:"sign_via_relay" doc:"Sign also mail that leaves through a smart host ([relay] or a [relays.NAME] route); off because smart hosts such as Fastmail sign with their own keys."`
}

// DMARC configures DMARC evaluation of incoming mail.
type DMARC struct {
	Check   bool `toml:"check" doc:"Evaluate DMARC (RFC 7489) for the From: domain of mail arriving on the smtp listener from clients outside trusted_networks, using the SPF and DKIM results."`
	Enforce bool `toml:"enforce" doc:"Apply the sender domain's policy: p=reject is refused with 550 5.7.1 at the end of DATA, p=quarantine is filed into Junk, and a DNS failure that keeps DMARC from a verdict is answered 451 4.7.0; false only records the result."`
}

// Milter configures a mail filter (Rspamd's proxy worker) asked about every
// message arriving on the smtp listener from clients outside trusted_networks.
type Milter struct {
	Address       string `toml:"address" type:"address" doc:"The milter as \"host:port\" (Rspamd's proxy worker listens on 127.0.0.1:11332) or \"unix:PATH\"; \"\" asks no milter."`
	DefaultAction string `toml:"default_action" enum:"accept|tempfail" doc:"What happens when the milter is down, times out or fails: accept delivers the message unfiltered (as Postfix's milter_default_action = accept), tempfail answers 451 4.7.1 so the sender retries."`
	Timeout       string `toml:"timeout" type:"duration" doc:"How long to wait for the milter to connect and for each of its answers."`
}

// TimeoutDuration is Timeout parsed; 0 when invalid (which Validate reports).
func (m Milter) TimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(m.Timeout)
	return d
}

// Network splits Address into the network and address to dial.
func (m Milter) Network() (network, address string) {
	if p, ok := strings.CutPrefix(m.Address, "unix:"); ok {
		return "unix", p
	}
	return "tcp", m.Address
}

func (m *Milter) validate(pr *problems) {
	if m.Address != "" && !strings.HasPrefix(m.Address, "unix:") {
		if _, _, err := net.SplitHostPort(m.Address); err != nil {
			pr.addf("milter.address", "%q is not host:port or unix:PATH", m.Address)
		}
	}
	if d, err := time.ParseDuration(m.Timeout); err != nil || d <= 0 {
		pr.addf("milter.timeout", "%q is not a positive duration (write it like \"30s\")", m.Timeout)
	}
}

// DNSBL configures DNS blocklists checked for clients of the smtp listener.
type DNSBL struct {
	Zones []string `toml:"zones" type:"array of domain names" doc:"DNS blocklist zones (e.g. \"zen.spamhaus.org\") looked up through [dns] servers when a client outside trusted_networks connects; a listed client gets 554 5.7.1 at RCPT TO naming the list. [] checks none."`
}

func (d *DNSBL) validate(pr *problems) {
	for i, z := range d.Zones {
		if z == "" || strings.ContainsAny(z, " /:@") {
			pr.addf(fmt.Sprintf("dnsbl.zones[%d]", i), "%q is not a domain name", z)
		}
	}
}

// Limits configures per-minute rates of mail from one client address (smtp
// listener, clients outside trusted_networks) and one authenticated user
// (submission listeners). 0 is unlimited.
type Limits struct {
	MessagesPerMinutePerIP     int    `toml:"messages_per_minute_per_ip" doc:"Messages (MAIL FROM) one client address may start per minute on the smtp listener; more are answered 450 4.7.1. 0 is unlimited."`
	RecipientsPerMinutePerIP   int    `toml:"recipients_per_minute_per_ip" doc:"Recipients (RCPT TO, known or not) one client address may give per minute on the smtp listener; more are answered 452 4.5.3. 0 is unlimited."`
	MessagesPerMinutePerUser   int    `toml:"messages_per_minute_per_user" doc:"Messages one authenticated user may start per minute on the submission listeners; more are answered 450 4.7.1. 0 is unlimited."`
	RecipientsPerMinutePerUser int    `toml:"recipients_per_minute_per_user" doc:"Recipients one authenticated user may give per minute on the submission listeners; more are answered 452 4.5.3. 0 is unlimited."`
	AuthFailuresBeforeDelay    int    `toml:"auth_failures_before_delay" doc:"Failed logins (SMTP AUTH, IMAP, ManageSieve) from one client address or for one account after which every further attempt waits first (1 s, doubling up to auth_max_delay)."`
	AuthFailuresBeforeLockout  int    `toml:"auth_failures_before_lockout" doc:"Failed logins from one client address or for one account after which logins are refused outright for auth_lockout."`
	AuthMaxDelay               string `toml:"auth_max_delay" type:"duration" doc:"The longest wait imposed on a login attempt after repeated failures."`
	AuthLockout                string `toml:"auth_lockout" type:"duration" doc:"How long a client address or account stays locked out; failures older than this are forgotten."`
	// AuthNetworkFailuresBeforeLockout and AuthAccountFailuresBeforeSlowdown: see
	// limits.LoginConfig.
	AuthNetworkFailuresBeforeLockout  int `toml:"auth_network_failures_before_lockout" doc:"Failed logins from one client network, whatever the accounts, after which that network may not log in for auth_lockout."`
	AuthAccountFailuresBeforeSlowdown int `toml:"auth_account_failures_before_slowdown" doc:"Failed logins for one account from all networks together after which attempts on it from networks it has not logged in from are spaced to one per auth_max_delay (against guessing spread over many addresses); the owner's known networks are not slowed."`
	ClientIPv4Prefix                  int `toml:"client_ipv4_prefix" doc:"How wide one client network is for IPv4 clients (32: each address) in every per-network limit."`
	ClientIPv6Prefix                  int `toml:"client_ipv6_prefix" doc:"How wide one client network is for IPv6 clients (64: one /64, which one home or server usually has) in every per-network limit."`

	SMTP        ListenerLimits `toml:"smtp" doc:"Connection limits and timeouts of the smtp listener (port 25)."`
	Submission  ListenerLimits `toml:"submission" doc:"Connection limits and timeouts of the submission listeners (587 and 465 together)."`
	LMTP        ListenerLimits `toml:"lmtp" doc:"Connection limits and timeouts of the lmtp listener."`
	IMAP        ListenerLimits `toml:"imap" doc:"Connection limits and timeouts of the IMAP listeners (143 and 993 together)."`
	ManageSieve ListenerLimits `toml:"managesieve" doc:"Connection limits and timeouts of the managesieve listener."`
	HTTP        ListenerLimits `toml:"http" doc:"Connection limits and timeouts of the HTTP listeners (metrics, acme_http, acme_tls, https), each counted on its own."`
}

// ListenerLimits are one listener's connection limits. Trusted networks (smtp.
// trusted_networks) are limited too, with their own per-network value.
type ListenerLimits struct {
	MaxConnections                      int    `toml:"max_connections" doc:"The most connections served at once, across all clients; more are refused with the protocol's \"too many connections\" answer."`
	MaxConnectionsPerNetwork            int    `toml:"max_connections_per_network" doc:"The most connections served at once from one client network outside smtp.trusted_networks (see client_ipv4_prefix, client_ipv6_prefix)."`
	MaxConnectionsPerTrustedNetwork     int    `toml:"max_connections_per_trusted_network" doc:"The same for one client network inside smtp.trusted_networks."`
	MaxConnectionsPerUserNetwork        int    `toml:"max_connections_per_user_network" doc:"IMAP only: the most logged-in sessions of one user from one client network, like Dovecot's mail_max_userip_connections; 0 is unlimited."`
	MaxConnectionsPerUserTrustedNetwork int    `toml:"max_connections_per_user_trusted_network" doc:"IMAP only: the same for one client network inside smtp.trusted_networks; 0 is unlimited."`
	LoginTimeout                        string `toml:"login_timeout" type:"duration" doc:"How long a client may stay connected without logging in (submission, IMAP, ManageSieve); \"\" for no limit. Ignored, with a warning, in [limits.smtp], [limits.lmtp] and [limits.http], which have no login (idle_timeout bounds each read there)."`
	IdleTimeout                         string `toml:"idle_timeout" type:"duration" doc:"How long the server waits for the client's next command or data (IMAP: at least 30m, RFC 9051 section 5.4)."`
}

// Timeouts returns login_timeout and idle_timeout parsed; "" and invalid values (which
// Validate reports) are zero.
func (l ListenerLimits) Timeouts() (login, idle time.Duration) {
	d := func(s string) time.Duration { v, _ := time.ParseDuration(s); return v }
	return d(l.LoginTimeout), d(l.IdleTimeout)
}

// validate checks one [limits.*] table; noLogin, when not "", is why login_timeout means
// nothing there (a service without a login: Warnings says so, and its value is not read).
func (l ListenerLimits) validate(pr *problems, table string, minIdle time.Duration, noLogin string) {
	for _, v := range []struct {
		key string
		n   int
	}{{"max_connections", l.MaxConnections}, {"max_connections_per_network", l.MaxConnectionsPerNetwork},
		{"max_connections_per_trusted_network", l.MaxConnectionsPerTrustedNetwork}} {
		if v.n < 1 {
			pr.addf(table+"."+v.key, "must be at least 1, got %d", v.n)
		}
	}
	if l.MaxConnectionsPerUserNetwork < 0 {
		pr.addf(table+".max_connections_per_user_network", "must be 0 (unlimited) or more")
	}
	if l.MaxConnectionsPerUserTrustedNetwork < 0 {
		pr.addf(table+".max_connections_per_user_trusted_network", "must be 0 (unlimited) or more")
	}
	if l.LoginTimeout != "" && noLogin == "" {
		if v, err := time.ParseDuration(l.LoginTimeout); err != nil || v <= 0 {
			pr.addf(table+".login_timeout", "%q is not a positive duration (write it like \"1m\"), or \"\" for none", l.LoginTimeout)
		}
	}
	if v, err := time.ParseDuration(l.IdleTimeout); err != nil || v <= 0 {
		pr.addf(table+".idle_timeout", "%q is not a positive duration (write it like \"5m\")", l.IdleTimeout)
	} else if v < minIdle {
		pr.addf(table+".idle_timeout", "%s is below %s", l.IdleTimeout, minIdle)
	}
}

// listenerLimits is one [limits.NAME] table with what validation needs to know of it.
type listenerLimits struct {
	name    string
	l       ListenerLimits
	min     time.Duration // the least idle_timeout
	noLogin string        // for a service without a login: why its login_timeout means nothing
}

// listeners lists the [limits.NAME] tables. Port 25, LMTP and HTTP have no login: a
// login_timeout there is ignored, and said so in a warning (not refused, so that a
// config that set one still starts after an upgrade).
func (l Limits) listeners() []listenerLimits {
	return []listenerLimits{{"smtp", l.SMTP, 0, "port 25 has no login; idle_timeout bounds each read"}, {"submission", l.Submission, 0, ""},
		{"lmtp", l.LMTP, 0, "LMTP has no login; idle_timeout bounds each read"}, {"imap", l.IMAP, 30 * time.Minute, ""},
		{"managesieve", l.ManageSieve, 0, ""}, {"http", l.HTTP, 0, "HTTP has no login; idle_timeout bounds the wait for each request"}}
}

// AuthDurations returns auth_max_delay and auth_lockout parsed (zero when invalid, which
// Validate reports).
func (l Limits) AuthDurations() (maxDelay, lockout time.Duration) {
	d := func(s string) time.Duration { v, _ := time.ParseDuration(s); return v }
	return d(l.AuthMaxDelay), d(l.AuthLockout)
}

func (l *Limits) validate(pr *problems) {
	for _, v := range []struct {
		key string
		n   int
	}{{"limits.messages_per_minute_per_ip", l.MessagesPerMinutePerIP}, {"limits.recipients_per_minute_per_ip", l.RecipientsPerMinutePerIP},
		{"limits.messages_per_minute_per_user", l.MessagesPerMinutePerUser}, {"limits.recipients_per_minute_per_user", l.RecipientsPerMinutePerUser}} {
		if v.n < 0 {
			pr.addf(v.key, "must be 0 (unlimited) or more")
		}
	}
	for _, v := range []struct {
		key string
		n   int
	}{{"limits.auth_network_failures_before_lockout", l.AuthNetworkFailuresBeforeLockout}, {"limits.auth_account_failures_before_slowdown", l.AuthAccountFailuresBeforeSlowdown}} {
		if v.n < 1 {
			pr.addf(v.key, "must be at least 1")
		}
	}
	if l.ClientIPv4Prefix < 8 || l.ClientIPv4Prefix > 32 {
		pr.addf("limits.client_ipv4_prefix", "must be between 8 and 32, got %d", l.ClientIPv4Prefix)
	}
	if l.ClientIPv6Prefix < 32 || l.ClientIPv6Prefix > 128 {
		pr.addf("limits.client_ipv6_prefix", "must be between 32 and 128, got %d", l.ClientIPv6Prefix)
	}
	for _, t := range l.listeners() {
		t.l.validate(pr, "limits."+t.name, t.min, t.noLogin)
	}
	if l.AuthFailuresBeforeDelay < 1 {
		pr.addf("limits.auth_failures_before_delay", "must be at least 1")
	}
	if l.AuthFailuresBeforeLockout < 1 {
		pr.addf("limits.auth_failures_before_lockout", "must be at least 1")
	}
	for _, d := range []struct{ key, val string }{{"limits.auth_max_delay", l.AuthMaxDelay}, {"limits.auth_lockout", l.AuthLockout}} {
		if v, err := time.ParseDuration(d.val); err != nil || v <= 0 {
			pr.addf(d.key, "%q is not a positive duration (write it like \"8s\" or \"15m\")", d.val)
		}
	}
}
