package outbound

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/dkimkeys"
	"github.com/postern/postern/smtp"
)

func TestDKIMSignVerifies(t *testing.T) {
	t.Parallel()
	keys := dkimkeys.Dir(t.TempDir())
	s := &Signer{keys: keys, log: slog.New(slog.DiscardHandler)}
	env := &smtp.Envelope{ID: "x.1", Session: &smtp.Session{ID: "x"}}
	msg := smtp.BytesMessage("From: Alice <alice@ours.example>\r\nTo: bob@else.example\r\nSubject: hi\r\n\r\nHello.\r\n")
	received := []byte("Received: from x\r\n")

	// No key: unchanged.
	if got := s.Sign(env, msg, received); !bytes.Equal(got, received) {
		t.Fatalf("signed without a key: %q", got)
	}
	for _, algo := range []string{dkimkeys.Ed25519, dkimkeys.RSA} {
		k, _, err := keys.Generate("ours.example", "s-"+algo, algo)
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.Activate("ours.example", k.Selector); err != nil {
			t.Fatal(err)
		}
		header := s.Sign(env, msg, received)
		if !bytes.HasPrefix(header, []byte("DKIM-Signature: ")) || !bytes.HasSuffix(header, received) {
			t.Fatalf("%s: header %q", algo, header)
		}
		out := append(header, msg...)
		verifs, err := dkim.VerifyWithOptions(bytes.NewReader(out), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
			if name != k.Selector+"._domainkey.ours.example" {
				t.Errorf("looked up %s", name)
			}
			return []string{k.TXT()}, nil
		}})
		if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "ours.example" {
			t.Fatalf("%s: verification %v %+v", algo, err, verifs)
		}
		// A second From: added later breaks it (From is over-signed).
		forged := append(append([]byte(nil), header...), append([]byte("From: mallory@evil.example\r\n"), msg...)...)
		verifs, _ = dkim.VerifyWithOptions(bytes.NewReader(forged), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return []string{k.TXT()}, nil }})
		if len(verifs) != 1 || verifs[0].Err == nil {
			t.Errorf("%s: an added From: did not break the signature", algo)
		}
	}
	// Mail from another domain (a forward) is not signed.
	other := smtp.BytesMessage(strings.Replace(string(msg), "ours.example", "else.example", 1))
	if got := s.Sign(env, other, received); !bytes.Equal(got, received) {
		t.Errorf("foreign From: signed: %q", got)
	}
}

// TestDKIMSignWanted: with a smart host, only mail a route sends direct is signed
// (unless sign_via_relay); without one, everything is.
func TestDKIMSignWanted(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{
		Relay: &config.Relay{Host: "smtp.fastmail.com", Port: 465},
		Routes: []config.Route{
			{RecipientDomains: []string{"direct.example"}, Via: config.ViaDirect},
			{SenderDomains: []string{"lists.ours.example"}, Via: config.ViaDirect},
		},
	}
	s := &Signer{wants: signWanted(cfg)}
	for _, c := range []struct {
		from  string
		rcpts []string
		want  bool
	}{
		{"alice@ours.example", []string{"bob@else.example"}, false},
		{"alice@ours.example", []string{"bob@direct.example"}, true},
		{"alice@ours.example", []string{"bob@else.example", "carol@DIRECT.example"}, true},
		{"news@lists.ours.example", []string{"bob@else.example"}, true},
		{"", []string{"bob@else.example"}, false},
	} {
		if got := s.Wanted(c.from, c.rcpts); got != c.want {
			t.Errorf("from %q to %v: wanted %v, want %v", c.from, c.rcpts, got, c.want)
		}
	}
	cfg.DKIM.SignViaRelay = true
	if s := (&Signer{wants: signWanted(cfg)}); !s.Wanted("alice@ours.example", []string{"bob@else.example"}) {
		t.Error("sign_via_relay: mail through the relay not signed")
	}
	if s := (&Signer{wants: signWanted(&config.Config{})}); !s.Wanted("alice@ours.example", []string{"bob@else.example"}) {
		t.Error("no relay: mail not signed")
	}
	var none *Signer
	if none.Wanted("alice@ours.example", []string{"bob@direct.example"}) {
		t.Error("a nil signer wants to sign")
	}
}

// TestDKIMSignParentDomain: the server's own mail (MAILER-DAEMON@ the hostname) is
// signed with the parent domain's key, d= the parent, which verifies; a top-level
// domain alone is never tried.
func TestDKIMSignParentDomain(t *testing.T) {
	t.Parallel()
	keys := dkimkeys.Dir(t.TempDir())
	s := &Signer{keys: keys, log: slog.New(slog.DiscardHandler)}
	k, _, err := keys.Generate("ours.example", "s1", dkimkeys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Activate("ours.example", k.Selector); err != nil {
		t.Fatal(err)
	}
	env := &smtp.Envelope{ID: "x.1", Session: &smtp.Session{ID: "x"}}
	msg := smtp.BytesMessage("From: Mail Delivery System <MAILER-DAEMON@mail.ours.example>\r\nTo: bob@else.example\r\nSubject: Undelivered\r\n\r\nSorry.\r\n")
	header := s.Sign(env, msg, nil)
	if !bytes.HasPrefix(header, []byte("DKIM-Signature: ")) {
		t.Fatalf("not signed: %q", header)
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(append(header, msg...)), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if name != "s1._domainkey.ours.example" {
			t.Errorf("looked up %s", name)
		}
		return []string{k.TXT()}, nil
	}})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "ours.example" {
		t.Fatalf("verification %v %+v", err, verifs)
	}
	if _, err := s.activeKey("example"); err == nil {
		t.Error("a bare top-level domain found a key")
	}
	if _, err := s.activeKey("ours.example.other"); err == nil {
		t.Error("an unrelated domain found a key")
	}
}
