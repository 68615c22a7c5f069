package dovecot

import (
	"strings"
	"testing"
)

// Written by Dovecot 2.3.19 (records appended after the header: N is stale).
const uidlistV3 = `3 V1796644056 N1 Gd8624728d89c166bcc78000083ecc375
1 :1796644056.M675767P30924.vm,S=344,W=357
2 :1796644056.M764055P30924.vm,S=347,W=360
5 W360 S347 :1796644056.M847860P30924.vm,S=347,W=360
`

func TestParseUIDListV3(t *testing.T) {
	t.Parallel()
	u, err := ParseUIDList([]byte(uidlistV3))
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != 3 || u.UIDValidity != 1796644056 || u.UIDNext() != 6 || u.GUID == "" {
		t.Fatalf("header: %+v next %d", u, u.UIDNext())
	}
	if u.UIDs["1796644056.M847860P30924.vm,S=347,W=360"] != 5 || len(u.UIDs) != 3 {
		t.Fatalf("records: %v", u.UIDs)
	}
}

func TestParseUIDListV1(t *testing.T) {
	t.Parallel()
	u, err := ParseUIDList([]byte("1 1100000000 7\n3 1099999999.12345_1.host\n6 1099999999.12346_1.host:2,S\n"))
	if err != nil {
		t.Fatal(err)
	}
	if u.UIDValidity != 1100000000 || u.UIDNext() != 7 || u.UIDs["1099999999.12346_1.host"] != 6 {
		t.Fatalf("%+v", u)
	}
}

func TestParseUIDListRefuses(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"4 V1 N1\n",
		"3 N5\n",
		"3 V1 N5\n1 :a\n1 :b\n",
		"3 V1 N5\n1 :a\n2 :a\n",
		"3 V1 N5\n0 :a\n",
		"3 V1 N5\n1 :../x\n",
		"1 1 x\n",
	} {
		if _, err := ParseUIDList([]byte(in)); err == nil {
			t.Errorf("ParseUIDList(%q) accepted", in)
		}
	}
}

func TestParseSubscriptions(t *testing.T) {
	t.Parallel()
	names, bad, err := ParseSubscriptions([]byte("V\t2\n\nLists\tgolang\nSent\n&AMk-t&AOk-\n&&&bad\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "Lists/golang,Sent,Été" || len(bad) != 1 {
		t.Fatalf("names %q bad %q", names, bad)
	}
	old, _, _ := ParseSubscriptions([]byte("INBOX\nLists.golang\n"))
	if strings.Join(old, ",") != "INBOX,Lists/golang" {
		t.Fatalf("old format: %q", old)
	}
}

func TestParsePasswdFile(t *testing.T) {
	t.Parallel()
	in := "# users\nalice@example.test:{SHA512-CRYPT}$6$x$y:1000:1000::/var/vmail/example.test/alice::userdb_quota_rule=*:storage=1G\n" +
		"bob:{PLAIN}pw::::::quota_rule=*:bytes=5000\n:nouser\n\ncarol@example.test:$2y$05$abc\n"
	es, bad, err := ParsePasswdFile(strings.NewReader(in))
	if err != nil || len(es) != 3 || len(bad) != 1 || bad[0].Line != 4 {
		t.Fatalf("entries %+v bad %v err %v", es, bad, err)
	}
	if q, err := es[0].QuotaBytes(); err != nil || q != 1<<30 || es[0].Home != "/var/vmail/example.test/alice" {
		t.Fatalf("alice: %d %v %+v", q, err, es[0])
	}
	if q, _ := es[1].QuotaBytes(); q != 5000 {
		t.Fatalf("bob quota %d", q)
	}
	if a, err := es[1].Address("example.test"); err != nil || a != "bob@example.test" {
		t.Fatalf("bob address %q %v", a, err)
	}
	if _, err := es[1].Address(""); err == nil {
		t.Fatal("bare user without --domain accepted")
	}
}

func TestParseQuotaRule(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"*:storage=1024": 1 << 20, "*:storage=2M": 2 << 20, "*:storage=0": 0, "*:bytes=10k": 10240} {
		if got, err := ParseQuotaRule(in); err != nil || got != want {
			t.Errorf("ParseQuotaRule(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"INBOX:storage=1G", "*:storage=10%", "*:storage=+1G", "*:weird=1"} {
		if _, err := ParseQuotaRule(in); err == nil {
			t.Errorf("ParseQuotaRule(%q) accepted", in)
		}
	}
}

func FuzzParseUIDList(f *testing.F) {
	f.Add([]byte(uidlistV3))
	f.Add([]byte("1 1100000000 7\n3 a.host\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUIDList(b)
		if err == nil && (u.UIDValidity == 0 || u.UIDNext() == 0) {
			t.Fatalf("accepted a zero UIDVALIDITY or UIDNEXT: %+v", u)
		}
	})
}

func FuzzParseSubscriptions(f *testing.F) {
	f.Add([]byte("V\t2\n\nLists\tgolang\n&AMk-t&AOk-\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		names, _, _ := ParseSubscriptions(b)
		for _, n := range names {
			if n == "" || strings.Contains(n, "//") {
				t.Fatalf("bad name %q", n)
			}
		}
	})
}

func FuzzParsePasswdFile(f *testing.F) {
	f.Add("alice@example.test:{PLAIN}x::::/home/a::userdb_quota_rule=*:storage=1G\n")
	f.Fuzz(func(t *testing.T, s string) {
		es, _, _ := ParsePasswdFile(strings.NewReader(s))
		for _, e := range es {
			e.QuotaBytes()            //nolint:errcheck // must not panic
			e.Address("example.test") //nolint:errcheck // must not panic
		}
	})
}
