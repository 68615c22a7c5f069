package postfix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMainCfExpandsAndContinues(t *testing.T) {
	t.Parallel()
	cf, err := ParseMainCf(strings.NewReader("# c\nmydomain = example.test\nmyorigin = $mydomain\nvirtual_mailbox_domains = ${myorigin},\n  other.test\nloop = $loop\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.List("virtual_mailbox_domains"), ","); got != "example.test,other.test" {
		t.Fatalf("virtual_mailbox_domains = %q", got)
	}
	if cf.Get("loop") != "" {
		t.Fatalf("self-reference expanded to %q", cf.Get("loop"))
	}
}

func TestReadPlan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w("main.cf", "virtual_mailbox_domains = example.test\nvirtual_alias_maps = texthash:"+dir+"/virtual, mysql:/x.cf\n"+
		"relayhost = [smtp.example.net]:465\nsmtp_tls_wrappermode = yes\nsmtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = hash:"+dir+"/sasl_passwd\n")
	w("virtual", "@alias.test alice@example.test\nbob@example.test alice@example.test, carol@else.test\nroot alice\n")
	w("sasl_passwd", "[smtp.example.net]:465 user@example.net:pa:ss\n")
	p, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Domains, ",") != "example.test,alias.test" || len(p.Aliases) != 2 || len(p.Aliases[1].Targets) != 2 {
		t.Fatalf("plan: %+v", p)
	}
	if r := p.Relay; r == nil || r.Host != "smtp.example.net" || r.Port != 465 || r.TLS != "implicit" || r.Username != "user@example.net" || r.Password != "pa:ss" {
		t.Fatalf("relay: %+v", p.Relay)
	}
	if len(p.Warnings) != 2 {
		t.Fatalf("warnings (want the mysql table and the bare root alias): %q", p.Warnings)
	}
}

func FuzzParseMainCf(f *testing.F) {
	f.Add("a = b\n  c\nd = $a ${a} $(a)\n")
	f.Fuzz(func(t *testing.T, s string) {
		cf, err := ParseMainCf(strings.NewReader(s))
		if err != nil {
			return
		}
		for k := range cf {
			cf.List(k)
		}
	})
}

func FuzzParseMap(f *testing.F) {
	f.Add("a@b c@d, e@f\n  g@h\n# x\n")
	f.Fuzz(func(t *testing.T, s string) {
		es, err := ParseMap(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, e := range es {
			if e.Key == "" || strings.ContainsAny(e.Key, " \t\n") {
				t.Fatalf("bad key %q", e.Key)
			}
		}
	})
}
