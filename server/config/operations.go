package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SpamLearning configures learning on move (package spamlearn).
type SpamLearning struct {
	Controller   string `toml:"controller" type:"URL" example:"http://127.0.0.1:11334" doc:"Rspamd's controller, e.g. \"http://127.0.0.1:11334\" (Debian's default); \"\" switches learning off."`
	PasswordFile string `toml:"password_file" path:"config" type:"path" example:"/etc/postern/rspamd.password" doc:"File holding the controller's password (mode 0600 or 0400), for a controller that has one; \"\" sends none."`
}

func (s *SpamLearning) validate(pr *problems) {
	if s.Controller == "" {
		return
	}
	u, err := url.Parse(s.Controller)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		pr.addf("spam_learning.controller", "%q is not an http:// or https:// URL", s.Controller)
	}
}

// Mailbox configures housekeeping of the users' mailboxes.
type Mailbox struct {
	AutoexpungeJunk  string `toml:"autoexpunge_junk" type:"age" doc:"Remove messages from each user's \\Junk mailbox once they arrived this long ago, e.g. \"30d\"; \"\" keeps them. Checked hourly; IMAP sessions are told."`
	AutoexpungeTrash string `toml:"autoexpunge_trash" type:"age" doc:"Remove messages from each user's \\Trash mailbox once they arrived this long ago, e.g. \"30d\"; \"\" keeps them."`
}

// Alerts configures the mail the server sends its owner about problems.
type Alerts struct {
	To string `toml:"to" type:"address" doc:"Where alerts go: the relay refusing our credentials, mail deferred longer than queue.delay_warning, a certificate renewal failing (14 days before expiry), a new finding of the daily postern doctor run, a nearly full disk. Delivered locally, so they arrive when the relay is the problem; at most one mail per problem per day, and a note once it is fixed. \"\" sends to postmaster@ the first local domain; \"off\" sends none. The same address (or, for \"\" and \"off\", postmaster@ the first local domain) is the owner that gets what local services send with sendmail to root, to another name of the machine (nut, root@HOSTNAME, x@localhost) that is nobody's in the first local domain, and to postmaster@, abuse@ or MAILER-DAEMON@ a local domain that has no such address."`
}

// Off says alerts are switched off.
func (a Alerts) Off() bool { return a.To == "off" }

func (a *Alerts) validate(pr *problems) {
	if a.To != "" && !a.Off() && strings.Count(a.To, "@") != 1 {
		pr.addf("alerts.to", "%q is not an address (or \"off\")", a.To)
	}
}

// Trace configures the history of each message kept for postern trace.
type Trace struct {
	Enabled bool   `toml:"enabled" doc:"Keep what the mail log says about each message (client, HELO, TLS, refusals, Message-ID, each recipient's mailbox, each attempt to send it with the remote reply) in the database (postern.db), for postern trace. Written in the background in batches: delivery does not wait for it."`
	MaxAge  string `toml:"max_age" type:"age" doc:"How long events are kept, e.g. \"21d\"."`
	MaxSize int64  `toml:"max_size" doc:"The most bytes the kept events may add up to (each counted as its JSON fields; the table and its indexes take about twice that on disk); past it the oldest go first, down to 90%."`
}

// MaxAgeDuration is MaxAge parsed; 0 when invalid (which Validate reports).
func (t Trace) MaxAgeDuration() time.Duration {
	d, _ := ParseAge(t.MaxAge)
	return d
}

func (t *Trace) validate(pr *problems) {
	if _, err := ParseAge(t.MaxAge); err != nil {
		pr.addf("trace.max_age", "%v", err)
	}
	if t.MaxSize < 1<<20 {
		pr.addf("trace.max_size", "must be at least 1048576 (1 MiB)")
	}
}

// ParseAge parses an age: a Go duration ("90s", "36h") or a whole number of days
// ("30d") or weeks ("2w").
func ParseAge(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseUint(n, 10, 16)
			if err != nil || v == 0 {
				return 0, fmt.Errorf("%q is not an age like \"30d\", \"2w\" or \"36h\"", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not an age like \"30d\", \"2w\" or \"36h\"", s)
	}
	return d, nil
}

// Ages returns the autoexpunge ages; 0 is off (or invalid, which Validate reports).
func (m Mailbox) Ages() (junk, trash time.Duration) {
	age := func(s string) time.Duration {
		if s == "" {
			return 0
		}
		d, _ := ParseAge(s)
		return d
	}
	return age(m.AutoexpungeJunk), age(m.AutoexpungeTrash)
}

func (m *Mailbox) validate(pr *problems) {
	for key, v := range map[string]string{"mailbox.autoexpunge_junk": m.AutoexpungeJunk, "mailbox.autoexpunge_trash": m.AutoexpungeTrash} {
		if v == "" {
			continue
		}
		if _, err := ParseAge(v); err != nil {
			pr.addf(key, "%v", err)
		}
	}
}
