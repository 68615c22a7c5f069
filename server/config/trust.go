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
