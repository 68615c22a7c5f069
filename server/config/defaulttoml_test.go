package config

import (
	toml "github.com/pelletier/go-toml/v2"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultTOMLRoundTrips(t *testing.T) {
	t.Parallel()
	doc := DefaultTOML("mail.example.com")
	c, err := Parse(doc, file)
	if err != nil {
		t.Fatalf("DefaultTOML does not parse: %v\n%s", err, doc)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("DefaultTOML warnings: %q", w)
	}
	want := Default()
	want.Hostname = "mail.example.com"
	want.resolvePaths("/etc/postern")
	got := *c
	got.File, got.lines = "", nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultTOML decodes to\n%+v\nwant\n%+v", got, want)
	}
	// Every key of the schema (but the optional tables') is in the file.
	for _, k := range allKeys(reflect.TypeFor[Config](), "") {
		if _, ok := c.lines[k]; !ok && !strings.HasPrefix(k, "relay.") && !strings.HasPrefix(k, "tls.acme.") {
			t.Errorf("DefaultTOML lacks key %q", k)
		}
	}
}

func TestDefaultTOMLComments(t *testing.T) {
	t.Parallel()
	doc := string(DefaultTOML("mail.example.com"))
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if len(l) > 80 {
			t.Errorf("line %d is %d characters long: %q", i+1, len(l), l)
		}
		// Every key line follows its comment.
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "[") {
			if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
				t.Errorf("line %d %q has no comment above it", i+1, l)
			}
		}
	}
	for _, want := range []string{
		"# The oldest TLS version accepted. One of: \"1.2\", \"1.3\".\nmin_version = \"1.2\"\n",
		"\n# [relay]\n",
		"# host = \"smtp.fastmail.com\"\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("DefaultTOML lacks %q", want)
		}
	}
}

func TestDefaultTOMLWithoutHostname(t *testing.T) {
	t.Parallel()
	doc := DefaultTOML("")
	_, err := Parse(doc, file)
	if err == nil || !strings.Contains(err.Error(), "hostname is required") {
		t.Fatalf("DefaultTOML(\"\") parsed with %v, want hostname is required", err)
	}
	if strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("more problems than the hostname: %v", err)
	}
}

// TestDefaultTOMLRelayExample uncomments the [relay] example and checks that
// it is a working table.
func TestDefaultTOMLRelayExample(t *testing.T) {
	t.Parallel()
	var out []string
	in := false
	for _, l := range strings.Split(string(DefaultTOML("mail.example.com")), "\n") {
		switch {
		case l == "# [relay]":
			in = true
		case in && !strings.HasPrefix(l, "#"):
			in = false
		}
		if in {
			l = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
		}
		out = append(out, l)
	}
	c, err := Parse([]byte(strings.Join(out, "\n")), file)
	if err != nil {
		t.Fatalf("uncommented [relay] example: %v", err)
	}
	want := Relay{Host: "smtp.fastmail.com", Port: 587, TLS: "starttls", Username: "you@fastmail.com", PasswordFile: "/etc/postern/relay.password"}
	if c.Relay == nil || *c.Relay != want {
		t.Errorf("Relay = %+v, want %+v", c.Relay, want)
	}
}

func TestTOMLQuote(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", `q"uote`, `back\slash`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "ünïcode", ""} {
		var v struct {
			S string `toml:"s"`
		}
		doc := "s = " + tomlQuote(s) + "\n"
		if err := toml.Unmarshal([]byte(doc), &v); err != nil {
			t.Errorf("tomlQuote(%q) = %s: %v", s, doc, err)
			continue
		}
		if v.S != s {
			t.Errorf("tomlQuote(%q) decodes to %q", s, v.S)
		}
	}
}
