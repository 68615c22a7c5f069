package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const file = "/etc/postern/postern.toml"

// valid is the smallest valid document: every error case below starts from it
// so that it has exactly the problem under test.
const valid = "hostname = \"mail.example.com\"\n"

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want string // the whole error text
	}{
		{"unknown key with suggestion", valid + "[smtp]\nmesage_size_limit = 5\n",
			file + `:3: unknown key "smtp.mesage_size_limit" (did you mean "message_size_limit"?)`},
		{"key in the wrong table", valid + "message_size_limit = 5\n",
			file + `:2: unknown key "message_size_limit" (did you mean "smtp.message_size_limit"?)`},
		{"unknown key without suggestion", valid + "[log]\nwhatever = 1\n",
			file + `:3: unknown key "log.whatever" (allowed in [log]: format, level)`},
		{"unknown table", valid + "[smtpp]\na = 1\nb = 2\n",
			file + `:2: unknown table "smtpp" (did you mean "smtp"?)`},
		{"wrong type", valid + "[smtp]\n\n\nmessage_size_limit = \"50M\"\n",
			file + `:5: smtp.message_size_limit: expected an integer, got a string`},
		{"wrong element type", valid + "[smtp]\ntrusted_networks = [\"10.0.0.0/8\", 5]\n",
			file + `:3: smtp.trusted_networks: expected an array of strings, got an integer as element 2`},
		{"scalar where a table belongs", valid + "tls = \"yes\"\n",
			file + `:2: tls: expected a table, got a string`},
		{"table where a scalar belongs", "hostname.name = \"mail.example.com\"\n",
			file + `:1: hostname: expected a string, got a table`},
		{"invalid enum", valid + "[tls]\nmin_version = \"1.1\"\n",
			file + `:3: tls.min_version: "1.1" is not allowed (allowed: "1.2", "1.3")`},
		{"missing hostname", "[smtp]\nmax_recipients = 100\n",
			file + `: hostname is required (the name of this mail server, e.g. "mail.example.com")`},
		{"empty hostname", "hostname = \"\"\n",
			file + `:1: hostname is required (the name of this mail server, e.g. "mail.example.com")`},
		{"hostname not qualified", "hostname = \"mail\"\n",
			file + `:1: hostname: "mail" is not a valid host name: it is not fully qualified (it needs a dot, like "mail.example.com")`},
		{"hostname bad label", "hostname = \"mail_1.example.com\"\n",
			file + `:1: hostname: "mail_1.example.com" is not a valid host name: '_' is not allowed in a host name (letters, digits, hyphens and dots only)`},
		{"hostname is an IP", "hostname = \"192.0.2.1\"\n",
			file + `:1: hostname: "192.0.2.1" is not a valid host name: it is an IP address, not a name`},
		{"bad CIDR", valid + "[smtp]\ntrusted_networks = [\"10.0.0.0/33\"]\n",
			file + `:3: smtp.trusted_networks: "10.0.0.0/33" is not a network in CIDR notation (e.g. "192.168.1.0/24" or "2001:db8::/32")`},
		{"bare IP as CIDR", valid + "[smtp]\ntrusted_networks = [\"192.168.1.5\"]\n",
			file + `:3: smtp.trusted_networks: "192.168.1.5" is not a network in CIDR notation (for this one address write "192.168.1.5/32")`},
		{"bad MTA-STS mode", valid + "[mta_sts]\nmode = \"on\"\n",
			file + `:3: mta_sts.mode: "on" is not allowed (allowed: "", "testing", "enforce")`},
		{"MTA-STS max_age too short", valid + "[mta_sts]\nmode = \"testing\"\nmax_age = \"1h\"\n",
			file + `:4: mta_sts.max_age: "1h" is outside one day to one year (RFC 8461 allows up to 31557600 seconds; senders refetch shorter ones too often)`},
		{"MTA-STS bad mx", valid + "[mta_sts]\nmode = \"testing\"\nmx = [\"mail\"]\n",
			file + `:4: mta_sts.mx: "mail" is not a host name: it is not fully qualified (it needs a dot, like "mail.example.com")`},
		{"bad listen address", valid + "[listen]\nimap = \"143\"\n",
			file + `:3: listen.imap: "143" is not host:port (use ":port", "host:port", "[::1]:port", or "" to switch it off)`},
		{"listen port out of range", valid + "[listen]\nimap = \":70000\"\n",
			file + `:3: listen.imap: ":70000": port 70000 is out of range (use ":port", "host:port", "[::1]:port", or "" to switch it off)`},
		{"unix socket where not allowed", valid + "[listen]\nsmtp = \"unix:smtp.sock\"\n",
			file + `:3: listen.smtp: "unix:smtp.sock" is not allowed: only listen.lmtp can be a unix socket (use ":port" or "host:port")`},
		{"listen address used twice", valid + "[listen]\nimap = \":1143\"\nimaps = \":1143\"\n",
			file + `:4: listen.imaps: ":1143" is already used by listen.imap`},
		{"cert without key", valid + "[tls]\ncert = \"c.pem\"\n",
			file + `:3: tls.cert: is set but tls.key is not; both are needed`},
		{"cert with explicit self_signed", valid + "[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nself_signed = true\n",
			file + `:5: tls.self_signed: is true but tls.cert and tls.key are set; pick one: remove self_signed to use the files, or remove cert and key`},
		{"no certificate", valid + "[tls]\nself_signed = false\n",
			file + `:2: tls: no TLS certificate: set tls.cert and tls.key, or self_signed = true`},
		{"relay without host", valid + "[relay]\nport = 587\n",
			file + `:2: relay.host is required in [relay] (the smart host, e.g. "smtp.fastmail.com", or a provider such as provider = "fastmail"); remove [relay] to deliver directly to MX hosts`},
		{"relay host with port", valid + "[relay]\nhost = \"smtp.example.com:587\"\n",
			file + `:3: relay.host: "smtp.example.com:587" is not a host name; put the port in relay.port`},
		{"relay username without password", valid + "[relay]\nhost = \"smtp.example.com\"\nusername = \"me\"\n",
			file + `:2: relay.password_file: is required when relay.username is set`},
		{"relay password in clear", valid + "[relay]\nhost = \"smtp.example.com\"\nusername = \"me\"\npassword_file = \"pw\"\ntls = \"none\"\n",
			file + `:6: relay.tls: "none" would send the relay password in clear; use "starttls" or "implicit"`},
		{"delimiter not allowed", valid + "[smtp]\nrecipient_delimiter = \"@\"\n",
			file + `:3: smtp.recipient_delimiter: "@" is not allowed (allowed: one of !#$%&'*+-/=?^_` + "`" + `{|}~, or "" for none)`},
		{"delimiter too long", valid + "[smtp]\nrecipient_delimiter = \"+-\"\n",
			file + `:3: smtp.recipient_delimiter: "+-" is not allowed (allowed: one of !#$%&'*+-/=?^_` + "`" + `{|}~, or "" for none)`},
		{"size limit zero", valid + "[smtp]\nmessage_size_limit = 0\n",
			file + `:3: smtp.message_size_limit: must be a positive number of bytes, got 0`},
		{"line length below RFC 5321", valid + "[smtp]\nmax_line_length = 512\n",
			file + `:3: smtp.max_line_length: must be at least 1000 (RFC 5321 section 4.5.3.1.6), got 512`},
		{"bad DNS server", valid + "[dns]\nservers = [\"dns.example.com\"]\n",
			file + `:3: dns.servers: "dns.example.com" is not a DNS server address (not an IP address; use an IP address with an optional port: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53")`},
		{"bad log level", valid + "log.level = \"verbose\"\n",
			file + `:2: log.level: "verbose" is not allowed (allowed: "debug", "info", "warn", "error")`},
		{"error inside an inline table", valid + "listen = { smtp = \":25\", imap = 143 }\n",
			file + `:2: listen.imap: expected a string, got an integer`},
		{"syntax error", valid + "[smtp\n",
			file + `:2:6: invalid TOML: expected ']' to close table name`},
		{"duplicate key", valid + "hostname = \"b.example.com\"\n",
			file + `:2:1: invalid TOML: key hostname is already defined`},
		{"long socket path", valid + "runtime_dir = \"/" + strings.Repeat("r", 100) + "\"\n",
			file + `: listen.lmtp: "/` + strings.Repeat("r", 100) + `/lmtp.sock" is longer than 107 bytes, the limit for a unix socket path; shorten runtime_dir` + "\n" +
				file + `: admin.socket: "/` + strings.Repeat("r", 100) + `/admin.sock" is longer than 107 bytes, the limit for a unix socket path; shorten runtime_dir` + "\n" +
				file + `: admin.submit_socket: "/` + strings.Repeat("r", 100) + `/submit.sock" is longer than 107 bytes, the limit for a unix socket path; shorten runtime_dir`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(tt.doc), file)
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.doc)
			}
			if c != nil {
				t.Errorf("Parse returned a Config with the error")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != file {
				t.Errorf("error %v is not a *config.Error naming the file", err)
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	t.Parallel()
	doc := `hostname = "x"
[smtp]
mesage_size_limit = 5
max_recipients = "many"
trusted_networks = ["nope"]
[tls]
min_version = "1.1"
[listen]
imap = "143"
`
	_, err := Parse([]byte(doc), file)
	if err == nil {
		t.Fatal("Parse accepted a document with five problems")
	}
	lines := strings.Split(err.Error(), "\n")
	wantPrefixes := []string{
		file + ":1: hostname:",
		file + ":3: unknown key",
		file + ":4: smtp.max_recipients: expected an integer",
		file + ":5: smtp.trusted_networks:",
		file + ":7: tls.min_version:",
		file + ":9: listen.imap:",
	}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(wantPrefixes), err)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("problem %d = %q, want prefix %q", i+1, lines[i], p)
		}
	}
	// The joined error exposes each problem.
	var all interface{ Unwrap() []error }
	if !errors.As(err, &all) || len(all.Unwrap()) != len(wantPrefixes) {
		t.Fatalf("error does not unwrap into %d problems", len(wantPrefixes))
	}
	var ce *Error
	if !errors.As(all.Unwrap()[2], &ce) || ce.Key != "smtp.max_recipients" || ce.Line != 4 {
		t.Errorf("third problem = %+v, want key smtp.max_recipients on line 4", ce)
	}
}

func TestTypeErrorDoesNotCauseFollowUpErrors(t *testing.T) {
	t.Parallel()
	// hostname of the wrong type leaves hostname empty; "hostname is
	// required" on top would be noise.
	_, err := Parse([]byte("hostname = 5\n"), file)
	want := file + ":1: hostname: expected a string, got an integer"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}

func TestRelativePaths(t *testing.T) {
	t.Parallel()
	doc := valid + `state_dir = "data"
runtime_dir = "run"
[listen]
lmtp = "unix:sub/lmtp.sock"
[tls]
cert = "certs/mail.crt"
key = "/abs/mail.key"
[relay]
host = "smtp.example.com"
username = "me"
password_file = "../secret/relay.password"
[admin]
socket = "admin.sock"
`
	c, err := Parse([]byte(doc), "/etc/postern/postern.toml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"state_dir", c.StateDir, "/etc/postern/data"},
		{"runtime_dir", c.RuntimeDir, "/etc/postern/run"},
		{"listen.lmtp", c.Listen.LMTP, "unix:/etc/postern/run/sub/lmtp.sock"},
		{"tls.cert", c.TLS.Cert, "/etc/postern/certs/mail.crt"},
		{"tls.key", c.TLS.Key, "/abs/mail.key"},
		{"relay.password_file", c.Relay.PasswordFile, "/etc/secret/relay.password"},
		{"relay.ca_file", c.Relay.CAFile, ""},
		{"admin.socket", c.Admin.Socket, "/etc/postern/run/admin.sock"},
		{"AdminSocket()", c.AdminSocket(), "/etc/postern/run/admin.sock"},
		{"DBPath()", c.DBPath(), "/etc/postern/data/postern.db"},
		{"MailDir()", c.MailDir(), "/etc/postern/data/mail"},
		{"QueueDir()", c.QueueDir(), "/etc/postern/data/queue"},
		{"TLSDir()", c.TLSDir(), "/etc/postern/data/tls"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if c.TLS.SelfSigned {
		t.Error("cert and key without self_signed left self_signed on")
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "postern.toml")
	doc := valid + "state_dir = \"state\"\n[tls]\nmin_version = \"1.3\"\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path {
		t.Errorf("File = %q, want %q", c.File, path)
	}
	if want := filepath.Join(dir, "state"); c.StateDir != want {
		t.Errorf("StateDir = %q, want %q", c.StateDir, want)
	}
	if c.Hostname != "mail.example.com" || c.TLS.MinVersion != "1.3" {
		t.Errorf("decoded %q, %q", c.Hostname, c.TLS.MinVersion)
	}

	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[limits.imap]\nmax_connections = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	want := bad + ":2: limits.imap.max_connections: must be at least 1, got 0\n" +
		bad + `: hostname is required (the name of this mail server, e.g. "mail.example.com")`
	if err == nil || err.Error() != want {
		t.Errorf("Load error:\n got %v\nwant %s", err, want)
	}
}

func TestRelay(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(valid), file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Relay != nil {
		t.Errorf("no [relay] table gave Relay %+v, want nil", c.Relay)
	}

	c, err = Parse([]byte(valid+"[relay]\nhost = \"smtp.example.com\"\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	if c.Relay == nil || *c.Relay != (Relay{Host: "smtp.example.com", Port: 587, TLS: "starttls"}) {
		t.Errorf("Relay = %+v, want defaults with host", c.Relay)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings = %q, want none", w)
	}

	c, err = Parse([]byte(valid+"[relay]\nhost = \"smtp.example.com\"\nport = 465\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{file + `:2: relay.tls: "starttls" on port 465, which usually speaks implicit TLS; did you mean tls = "implicit"?`}
	if w := c.Warnings(); strings.Join(w, "\n") != strings.Join(want, "\n") {
		t.Errorf("Warnings:\n got %q\nwant %q", w, want)
	}

	// A login_timeout where there is no login is ignored, with a warning: a config that
	// set one before it was said to mean nothing still loads.
	c, err = Parse([]byte(valid+"[limits.smtp]\nlogin_timeout = \"1m\"\n[limits.lmtp]\nlogin_timeout = \"nonsense\"\n[limits.http]\nlogin_timeout = \"10s\"\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		file + `:3: limits.smtp.login_timeout: port 25 has no login; idle_timeout bounds each read: the value is ignored (remove login_timeout)`,
		file + `:5: limits.lmtp.login_timeout: LMTP has no login; idle_timeout bounds each read: the value is ignored (remove login_timeout)`,
		file + `:7: limits.http.login_timeout: HTTP has no login; idle_timeout bounds the wait for each request: the value is ignored (remove login_timeout)`,
	}
	if w := c.Warnings(); strings.Join(w, "\n") != strings.Join(want, "\n") {
		t.Errorf("Warnings:\n got %q\nwant %q", w, want)
	}

	c, err = Parse([]byte(valid+"[relay]\nhost = \"smtp.example.com\"\ntls = \"implicit\"\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], `:4: relay.tls: "implicit" on port 587`) {
		t.Errorf("Warnings = %q, want one about implicit TLS on 587 at line 4", w)
	}
}

func TestDottedAndInlineKeys(t *testing.T) {
	t.Parallel()
	doc := valid + "smtp.max_recipients = 500\nlisten = { smtp = \"127.0.0.1:2525\", imap = \"\" }\nrelay = { host = \"192.0.2.25\", port = 2525 }\n"
	c, err := Parse([]byte(doc), file)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.MaxRecipients != 500 || c.Listen.SMTP != "127.0.0.1:2525" || c.Listen.IMAP != "" {
		t.Errorf("decoded max_recipients %d, smtp %q, imap %q", c.SMTP.MaxRecipients, c.Listen.SMTP, c.Listen.IMAP)
	}
	if c.Relay == nil || c.Relay.Host != "192.0.2.25" || c.Relay.Port != 2525 || c.Relay.TLS != "starttls" {
		t.Errorf("Relay = %+v", c.Relay)
	}
	// Keys absent from the inline table keep their defaults.
	if c.Listen.IMAPS != ":993" {
		t.Errorf("listen.imaps = %q, want the default", c.Listen.IMAPS)
	}
}

func TestArraysReplaceDefaults(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(valid+"[smtp]\ntrusted_networks = []\n[dns]\nservers = [\"192.0.2.53\", \"[2001:db8::53]:5353\"]\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SMTP.TrustedNetworks) != 0 || len(c.SMTP.Prefixes()) != 0 {
		t.Errorf("trusted_networks = [] left %q", c.SMTP.TrustedNetworks)
	}
	got := strings.Join(c.DNS.Addrs(), " ")
	if want := "192.0.2.53:53 [2001:db8::53]:5353"; got != want {
		t.Errorf("DNS.Addrs() = %q, want %q", got, want)
	}
}
