package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// TestShow: the output of a minimal file has every default, parses back to the same
// effective config, and names no secret.
func TestShow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "postern.toml")
	doc := `hostname = "mail.example.test"
state_dir = "state"
[relay]
host = "smtp.example.net"
username = "me"
password_file = "relay.password"
[tls.acme]
directory = "https://acct:hunter2@ca.example.net/dir"
email = "postmaster@example.test"
challenge = "http-01"
[listen]
acme_http = ":80"
`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Show(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		"# The effective configuration of " + path,
		"state_dir = '" + filepath.Join(dir, "state") + "'", // absolute
		"max_recipients = 1000",                             // a default
		"password_file = '" + filepath.Join(dir, "relay.password") + "'",
		"directory = 'https://acct:xxxxx@ca.example.net/dir'",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("config show lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "hunter2") {
		t.Errorf("config show prints the URL password:\n%s", s)
	}
	var back Config
	if err := toml.Unmarshal(out, &back); err != nil {
		t.Fatalf("the output does not parse: %v", err)
	}
	if !reflect.DeepEqual(back.SMTP, cfg.SMTP) || back.Relay.Host != "smtp.example.net" || back.TLS.ACME.Challenge != "http-01" {
		t.Errorf("the output does not round-trip: %+v", back)
	}
	if cfg.TLS.ACME.Directory != "https://acct:hunter2@ca.example.net/dir" {
		t.Errorf("Show changed the caller's config: %q", cfg.TLS.ACME.Directory)
	}
}

// TestElideSecretTag: a key tagged secret:"true" is elided wherever it sits.
func TestElideSecretTag(t *testing.T) {
	t.Parallel()
	type inner struct {
		Token string `secret:"true"`
		Name  string
	}
	v := struct {
		In   inner
		List []inner
		Map  map[string]*inner
	}{In: inner{"t1", "a"}, List: []inner{{"t2", "b"}}, Map: map[string]*inner{"x": {"t3", "c"}}}
	elide(reflect.ValueOf(&v).Elem(), false)
	if v.In.Token != Elided || v.List[0].Token != Elided || v.Map["x"].Token != Elided {
		t.Errorf("secrets left: %+v %+v %+v", v.In, v.List, *v.Map["x"])
	}
	if v.In.Name != "a" || v.List[0].Name != "b" || v.Map["x"].Name != "c" {
		t.Errorf("non-secrets changed: %+v", v)
	}
}
