package config

import (
	"strings"
	"testing"
)

func TestACMETable(t *testing.T) {
	t.Parallel()
	doc := valid + "[listen]\nacme_http = \":80\"\n[tls.acme]\nemail = \"me@example.com\"\nchallenge = \"http-01\"\nca_file = \"pebble.pem\"\n"
	c, err := Parse([]byte(doc), file)
	if err != nil {
		t.Fatal(err)
	}
	a := c.TLS.ACME
	if a == nil {
		t.Fatal("[tls.acme] not decoded")
	}
	if a.DirectoryURL() != LetsEncryptProduction || a.CAFile != "/etc/postern/pebble.pem" || a.Email != "me@example.com" {
		t.Errorf("got %+v", a)
	}
	if got := a.NamesOr(c.Hostname); len(got) != 1 || got[0] != "mail.example.com" {
		t.Errorf("names default to %q", got)
	}
	if c, _ := Parse([]byte(valid), file); c.TLS.ACME != nil {
		t.Error("no [tls.acme] table, yet ACME is set")
	}
}

func TestACMEErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{"[tls.acme]\n", `"tls-alpn-01" needs listen.acme_tls`},
		{"[tls.acme]\nchallenge = \"http-01\"\n", `"http-01" needs listen.acme_http`},
		{"[tls.acme]\nchallenge = \"dns-01\"\n", `tls.acme.dns_provider: is required`},
		{"[tls.acme]\nchallenge = \"dns-01\"\ndns_provider = \"bind\"\n", `"bind" is not allowed`},
		{"[listen]\nacme_tls = \":443\"\n[tls.acme]\ndirectory = \"http://ca.example/dir\"\n", `is not an https:// URL`},
		{"[listen]\nacme_tls = \":443\"\n[tls.acme]\nnames = [\"other.example.com\"]\n", `does not contain hostname`},
		{"[listen]\nacme_tls = \":443\"\n[tls.acme]\nchallange = \"x\"\n", `unknown key "tls.acme.challange"`},
	} {
		_, err := Parse([]byte(valid+tc.doc), file)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.doc, err, tc.want)
		}
	}
}
