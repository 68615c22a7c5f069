package integration

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// This file checks issue 8's sender authentication the way a user would: the real
// daemon, its [dns] servers pointed at an in-process DNS server, swaks as a sending
// server outside trusted_networks.

// trustMessage is a message From: someone at domain, with CRLF line ends.
func trustMessage(domain, subject string) []byte {
	return []byte("From: Someone <someone@" + domain + ">\r\nTo: alice@example.test\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@" + domain + ">\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nHello.\r\n")
}

func TestTrustDMARC(t *testing.T) {
	t.Parallel()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// spoofed.example: SPF lists only 192.0.2.1 (not the client, 127.0.0.1) and DMARC
	// says reject; quar.example the same with quarantine.
	dnsSrv := startFakeDNS(t, false,
		`spoofed.example. 60 IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
		`_dmarc.spoofed.example. 60 IN TXT "v=DMARC1; p=reject"`,
		`sel._domainkey.spoofed.example. 60 IN TXT "v=DKIM1; k=ed25519; p=`+base64.StdEncoding.EncodeToString(pub)+`"`,
		`quar.example. 60 IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
		`_dmarc.quar.example. 60 IN TXT "v=DMARC1; p=quarantine"`,
	)
	s := NewServer(t, Options{SMTP: "trusted_networks = []", Extra: fmt.Sprintf("[dns]\nservers = [%q]\n", dnsSrv.Addr)})
	rxSetup(t, s, "alice")
	alice := rxUserDir(s, "alice@example.test")
	dir := t.TempDir()
	send := func(name, domain string, msg []byte) (string, int) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, msg, 0o644); err != nil {
			t.Fatal(err)
		}
		return rxSwaks(t, s, "--from", "someone@"+domain,
			"--to", "alice@example.test", "--data", p)
	}

	t.Run("forged sender refused", func(t *testing.T) {
		out, code := send("forged", "spoofed.example", trustMessage("spoofed.example", "forged"))
		if code == 0 || !strings.Contains(out, "550 5.7.1") || !strings.Contains(out, "DMARC policy of spoofed.example is reject") {
			t.Fatalf("want 550 5.7.1 naming the DMARC policy, exit %d:\n%s", code, out)
		}
		if !strings.Contains(out, "SPF fail for spoofed.example") {
			t.Errorf("the reply does not say SPF failed:\n%s", out)
		}
		if got := rxFindSubject(t, alice, "forged"); len(got) != 0 {
			t.Fatalf("the refused message was delivered: %v", got)
		}
	})

	t.Run("aligned DKIM accepted", func(t *testing.T) {
		// A forged Authentication-Results claiming our name rides along and must go.
		msg := append([]byte("Authentication-Results: mail.example.test; dmarc=pass header.from=spoofed.example\r\n"),
			trustMessage("spoofed.example", "signed")...)
		var signed bytes.Buffer
		if err := dkim.Sign(&signed, bytes.NewReader(msg), &dkim.SignOptions{Domain: "spoofed.example", Selector: "sel", Signer: key,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
			HeaderKeys: []string{"From", "To", "Subject", "Message-ID", "Date"}}); err != nil {
			t.Fatal(err)
		}
		out, code := send("signed", "spoofed.example", signed.Bytes())
		if code != 0 {
			t.Fatalf("signed message: exit %d:\n%s", code, out)
		}
		files := rxFindSubject(t, alice, "signed")
		if len(files) != 1 {
			t.Fatalf("alice INBOX: want one file, got %v", files)
		}
		ar := rxHeader(t, files[0])["authentication-results"]
		if len(ar) != 1 {
			t.Fatalf("want exactly our Authentication-Results (the forged one removed), got %q", ar)
		}
		for _, want := range []string{"mail.example.test;", "spf=fail", "smtp.mailfrom=someone@spoofed.example",
			"dkim=pass", "header.d=spoofed.example", "dmarc=pass", "header.from=spoofed.example"} {
			if !strings.Contains(ar[0], want) {
				t.Errorf("Authentication-Results %q lacks %q", ar[0], want)
			}
		}
	})

	t.Run("quarantine into Junk", func(t *testing.T) {
		out, code := send("quar", "quar.example", trustMessage("quar.example", "quarantined"))
		if code != 0 {
			t.Fatalf("quarantined message: exit %d:\n%s", code, out)
		}
		if got := rxFindSubject(t, alice, "quarantined"); len(got) != 0 {
			t.Errorf("quarantined message in INBOX: %v", got)
		}
		if got := rxFindSubject(t, filepath.Join(alice, ".Junk"), "quarantined"); len(got) != 1 {
			t.Errorf("Junk: want the quarantined message, got %v", got)
		}
	})

	var logged bool
	for _, l := range s.Log() {
		if strings.Contains(l, "msg=senderauth") && strings.Contains(l, "action=reject") && strings.Contains(l, "dmarc=fail") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no senderauth log line with action=reject")
	}
}
