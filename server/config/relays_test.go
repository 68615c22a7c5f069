package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestRelayProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, table string
		host        string
		port        int
		tls         string
	}{
		{"preset fills all", `provider = "fastmail"`, "smtp.fastmail.com", 465, "implicit"},
		{"explicit port keeps its TLS mode", "provider = \"fastmail\"\nport = 587", "smtp.fastmail.com", 587, "starttls"},
		{"explicit tls picks the other port", "provider = \"fastmail\"\ntls = \"starttls\"", "smtp.fastmail.com", 587, "starttls"},
		{"explicit host wins", "provider = \"mailgun\"\nhost = \"smtp.eu.mailgun.org\"", "smtp.eu.mailgun.org", 587, "starttls"},
		{"ses region", "provider = \"ses\"\nregion = \"eu-west-1\"", "email-smtp.eu-west-1.amazonaws.com", 587, "starttls"},
		{"case-insensitive name", `provider = "Gmail"`, "smtp.gmail.com", 587, "starttls"},
		{"no provider defaults", `host = "smtp.example.com"`, "smtp.example.com", 587, "starttls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse([]byte(valid+"[relay]\n"+tt.table+"\n"), file)
			if err != nil {
				t.Fatal(err)
			}
			r := c.Relay
			if r.Host != tt.host || r.Port != tt.port || r.TLS != tt.tls {
				t.Errorf("relay = %s:%d %s, want %s:%d %s", r.Host, r.Port, r.TLS, tt.host, tt.port, tt.tls)
			}
			// The same keys work in a named relay.
			c, err = Parse([]byte(valid+"[relays.second]\n"+tt.table+"\n[[route]]\nsender_domains = [\"example.com\"]\nvia = \"second\"\n"), file)
			if err != nil {
				t.Fatal(err)
			}
			if r := c.Relays["second"]; r.Host != tt.host || r.Port != tt.port || r.TLS != tt.tls {
				t.Errorf("relays.second = %s:%d %s, want %s:%d %s", r.Host, r.Port, r.TLS, tt.host, tt.port, tt.tls)
			}
		})
	}
}

func TestRelaysAndRoutes(t *testing.T) {
	t.Parallel()
	doc := valid + `[relay]
provider = "fastmail"
username = "me@fastmail.com"
password_file = "fm.password"
fallback = "backup"

[relays.backup]
host = "smtp.backup.example"
port = 2525
tls = "none"

[relays.lists]
provider = "mailgun"
username = "postmaster@mg.example.com"
password_file = "../secret/mailgun.password"
insecure_skip_verify = true

[[route]]
recipient_domains = ["Example.ORG", "example.net"]
via = "direct"

[[route]]
sender_domains = ["lists.example.com"]
via = "lists"
`
	c, err := Parse([]byte(doc), file)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RelayNames(); !reflect.DeepEqual(got, []string{"backup", "lists"}) {
		t.Errorf("RelayNames = %q", got)
	}
	if p := c.Relays["lists"].PasswordFile; p != "/etc/secret/mailgun.password" {
		t.Errorf("relays.lists.password_file = %q, want it resolved against the config's directory", p)
	}
	if c.Relay.Fallback != "backup" || c.Relays["backup"].Port != 2525 {
		t.Errorf("relay = %+v, backup = %+v", c.Relay, c.Relays["backup"])
	}
	want := []Route{
		{RecipientDomains: []string{"Example.ORG", "example.net"}, Via: "direct"},
		{SenderDomains: []string{"lists.example.com"}, Via: "lists"},
	}
	if !reflect.DeepEqual(c.Routes, want) {
		t.Errorf("Routes = %+v\nwant %+v", c.Routes, want)
	}
	for _, r := range []struct{ rcpt, sender, want string }{
		{"example.org", "example.com", "direct"},
		{"EXAMPLE.NET", "lists.example.com", "direct"}, // the recipient domain first
		{"gmail.com", "lists.example.com", "lists"},
		{"gmail.com", "example.com", "relay"},
		{"gmail.com", "", "relay"},
	} {
		if got := c.RouteFor(r.rcpt, r.sender); got != r.want {
			t.Errorf("RouteFor(%q, %q) = %q, want %q", r.rcpt, r.sender, got, r.want)
		}
	}
	w := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{
		file + `:11: relays.backup.tls: "none": mail to the smart host travels unencrypted`,
		file + `:17: relays.lists.insecure_skip_verify: the smart host's certificate is not verified`,
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}

	// Without [relay], the default is direct delivery.
	c, err = Parse([]byte(valid+"[relays.a]\nhost = \"a.example\"\n[[route]]\nrecipient_domains = [\"x.example\"]\nvia = \"a\"\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RouteFor("y.example", ""); got != ViaDirect {
		t.Errorf("RouteFor without [relay] = %q, want direct", got)
	}
	if got := c.RouteFor("x.example", ""); got != "a" {
		t.Errorf("RouteFor(x.example) = %q, want a", got)
	}
	// Arrays of inline tables are the same routes.
	c, err = Parse([]byte(valid+"relays = { a = { host = \"a.example\" } }\nroute = [{ recipient_domains = [\"x.example\"], via = \"a\" }]\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 1 || c.Routes[0].Via != "a" || c.Relays["a"].Host != "a.example" {
		t.Errorf("inline relays and routes: %+v %+v", c.Relays, c.Routes)
	}
}

func TestInsecureSkipVerifyWarning(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(valid+"[relay]\nhost = \"smtp.example.com\"\ninsecure_skip_verify = true\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Relay.InsecureSkipVerify {
		t.Error("insecure_skip_verify not decoded")
	}
	w := c.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0], file+`:4: relay.insecure_skip_verify: the smart host's certificate is not verified`) {
		t.Errorf("warnings = %q", w)
	}
}

func TestRelayRouteErrors(t *testing.T) {
	t.Parallel()
	const relayA = "[relays.a]\nhost = \"a.example\"\n"
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"unknown provider", "[relay]\nprovider = \"fastmial\"\n",
			`:3: relay.provider: unknown provider "fastmial" (known: brevo, fastmail, gmail, mailgun, postmark, ses, smtp2go)`},
		{"ses without region", "[relay]\nprovider = \"ses\"\n",
			`:2: relay.region: is required with provider = "ses" (e.g. "eu-west-1"), or set host`},
		{"region without ses", "[relay]\nprovider = \"fastmail\"\nregion = \"eu-west-1\"\n",
			`:4: relay.region: only applies to provider = "ses"`},
		{"insecure with a CA file", "[relay]\nhost = \"a.example\"\nca_file = \"ca.pem\"\ninsecure_skip_verify = true\n",
			`:5: relay.insecure_skip_verify: is true and relay.ca_file is set; pick one`},
		{"unknown key in a named relay", "[relays.a]\nhost = \"a.example\"\nhots = \"b\"\n",
			`:4: unknown key "relays.a.hots" (did you mean "host"?)`},
		{"wrong type in a named relay", "[relays.a]\nport = \"25\"\n",
			`:3: relays.a.port: expected an integer, got a string`},
		{"named relay without host", "[relays.a]\nport = 25\n",
			`:2: relays.a.host is required in [relays.a]`},
		{"reserved relay name", "[relays.direct]\nhost = \"a.example\"\n",
			`:2: [relays.direct]: "direct" is reserved for routes`},
		{"relays not a table", "relays = 5\n",
			`:2: relays: expected a table of named tables, got an integer`},
		{"unknown key in a route", relayA + "[[route]]\nrecipient_domains = [\"x.example\"]\nvia = \"a\"\n[[route]]\nsender_domains = [\"y.example\"]\nvai = \"a\"\n",
			`:9: unknown key "route[2].vai" (did you mean "via"?)`},
		{"unknown key in an inline route", "route = [{ via = \"a\", domains = [\"x\"] }]\n" + relayA,
			`:2: unknown key "route[1].domains" (allowed in [[route]]: recipient_domains, sender_domains, via)`},
		{"route as a plain table", "[route]\nvia = \"direct\"\n",
			`:2: route: expected an array of tables, got a table`},
		{"array of tables for a table", "[[relay]]\nhost = \"a.example\"\n",
			`:2: relay: expected a table, got an array`},
		{"route to an unknown relay", relayA + "[[route]]\nrecipient_domains = [\"x.example\"]\nvia = \"b\"\n",
			`:6: [[route]] #1: via = "b" is not a relay (known: "direct", "a")`},
		{"route via relay without [relay]", "[[route]]\nrecipient_domains = [\"x.example\"]\nvia = \"relay\"\n",
			`:4: [[route]] #1: via = "relay" but there is no [relay] table`},
		{"route without domains", "[[route]]\nvia = \"direct\"\n",
			`:2: [[route]] #1: needs recipient_domains or sender_domains (or both)`},
		{"route without via", "[[route]]\nrecipient_domains = [\"x.example\"]\n",
			`:2: [[route]] #1: via is required`},
		{"domain routed twice", "[[route]]\nrecipient_domains = [\"x.example\"]\nvia = \"direct\"\n[[route]]\nrecipient_domains = [\"X.example\"]\nvia = \"direct\"\n",
			`:6: [[route]] #2: recipient_domains: "X.example" is already routed by [[route]] #1`},
		{"bad domain", "[[route]]\nrecipient_domains = [\"x..example\"]\nvia = \"direct\"\n",
			`:3: [[route]] #1: recipient_domains: "x..example" is not a domain name`},
		{"unknown fallback", "[relay]\nhost = \"r.example\"\nfallback = \"b\"\n",
			`:4: relay.fallback: "b" is not a relay (known: none: define a [relays.NAME] table)`},
		{"fallback to itself", relayA + "fallback = \"a\"\n",
			`:4: relays.a.fallback: the fallbacks form a cycle: a -> a`},
		{"fallback cycle", "[relay]\nhost = \"r.example\"\nfallback = \"a\"\n" + relayA + "fallback = \"b\"\n[relays.b]\nhost = \"b.example\"\nfallback = \"relay\"\n",
			`:4: relay.fallback: the fallbacks form a cycle: relay -> a -> b -> relay`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(valid+tt.doc), file)
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.doc)
			}
			if !strings.Contains(err.Error(), file+tt.want) {
				t.Errorf("error:\n got %s\nwant it to contain %s", err, file+tt.want)
			}
		})
	}
}
