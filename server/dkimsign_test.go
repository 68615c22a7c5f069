package server

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/postern/postern/server/dkimkeys"
	"github.com/postern/postern/smtp"
)

func TestDKIMSignVerifies(t *testing.T) {
	t.Parallel()
	keys := dkimkeys.Dir(t.TempDir())
	s := &dkimSigner{keys: keys, log: slog.New(slog.DiscardHandler)}
	env := &smtp.Envelope{ID: "x.1", Session: &smtp.Session{ID: "x"}}
	msg := bytesMessage("From: Alice <alice@ours.example>\r\nTo: bob@else.example\r\nSubject: hi\r\n\r\nHello.\r\n")
	received := []byte("Received: from x\r\n")

	// No key: unchanged.
	if got := s.withSignature(env, msg, received); !bytes.Equal(got, received) {
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
		header := s.withSignature(env, msg, received)
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
	other := bytesMessage(strings.Replace(string(msg), "ours.example", "else.example", 1))
	if got := s.withSignature(env, other, received); !bytes.Equal(got, received) {
		t.Errorf("foreign From: signed: %q", got)
	}
}
