package imap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

const testPassword = "correct horse battery"

// env is one running server with its store and state dir.
type env struct {
	t        testing.TB
	st       *store.Store
	srv      *Server
	state    string
	plain    string // 127.0.0.1:port without TLS (STARTTLS)
	tlsAddr  string // implicit TLS
	clientTL *tls.Config
}

func newEnv(t *testing.T, users ...string) *env { return newEnvB(t, users...) }

func newEnvB(t testing.TB, users ...string) *env {
	t.Helper()
	state := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(state, "postern.db"), store.Options{
		Argon2: store.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := st.AddUser(ctx, u, testPassword, store.UserOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateDefaultMailboxes(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	cert, pool := selfSigned(t)
	e := &env{t: t, st: st, state: state, clientTL: &tls.Config{RootCAs: pool, ServerName: "mail.example.org"}}
	e.srv = NewServer(Options{
		Store:       st,
		MaildirRoot: e.root,
		Namer:       maildir.NewNamer("test", nil),
		TLSConfig:   &tls.Config{Certificates: []tls.Certificate{cert}},
		Logger:      slog.New(slog.DiscardHandler),
		Hostname:    "mail.example.org",
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.plain, e.tlsAddr = ln.Addr().String(), tln.Addr().String()
	go e.srv.Serve(ln, false)
	go e.srv.Serve(tls.NewListener(tln, &tls.Config{Certificates: []tls.Certificate{cert}}), true)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
	})
	return e
}

func (e *env) root(user string) string {
	local, domain := store.SplitAddress(user)
	return filepath.Join(e.state, "mail", domain, local)
}

// dial connects over implicit TLS and logs in.
func (e *env) dial(user string, h *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c, err := imapclient.DialTLS(e.tlsAddr, &imapclient.Options{TLSConfig: e.clientTL, UnilateralDataHandler: h})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	if err := c.Login(user, testPassword).Wait(); err != nil {
		e.t.Fatalf("login %s: %v", user, err)
	}
	return c
}

func (e *env) selectBox(c *imapclient.Client, name string) *goimap.SelectData {
	e.t.Helper()
	d, err := c.Select(name, nil).Wait()
	if err != nil {
		e.t.Fatalf("select %s: %v", name, err)
	}
	return d
}

func (e *env) appendMsg(c *imapclient.Client, mailbox, msg string, flags ...goimap.Flag) *goimap.AppendData {
	e.t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), &goimap.AppendOptions{Flags: flags})
	if _, err := cmd.Write([]byte(msg)); err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		e.t.Fatal(err)
	}
	d, err := cmd.Wait()
	if err != nil {
		e.t.Fatalf("append: %v", err)
	}
	return d
}

func testMessage(subject, body string) string {
	return strings.ReplaceAll("From: Bob <bob@example.net>\nTo: alice@example.org\nSubject: "+subject+
		"\nDate: Mon, 02 Jan 2006 15:04:05 +0000\nMessage-ID: <"+subject+"@example.net>\nContent-Type: text/plain; charset=utf-8\n\n"+body+"\n", "\n", "\r\n")
}

// files lists the names in dir/sub.
func files(t *testing.T, dir, sub string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, sub))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.org"},
		DNSNames: []string{"mail.example.org"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

type storeNewMessage = store.NewMessage

// mdHelper delivers like the delivery agent does: maildir.Deliver into new/.
type mdHelper struct{ root string }

func (h *mdHelper) deliver(t *testing.T, msg string) (store.NewMessage, error) {
	t.Helper()
	ds, err := maildir.Deliver(maildir.NewNamer("test", nil), []maildir.Target{{Root: h.root}}, nil, strings.NewReader(msg))
	if err != nil {
		return store.NewMessage{}, err
	}
	base, _ := maildir.SplitInfo(ds[0].Name)
	local, domain := filepath.Base(h.root), filepath.Base(filepath.Dir(h.root))
	return store.NewMessage{User: local + "@" + domain, Mailbox: "INBOX", Filename: base, Size: ds[0].VSize, InternalDate: time.Now()}, nil
}

// forgetSummaries drops what the server holds in memory about messages, so the next
// FETCH starts from the index.
func forgetSummaries(s *Server) {
	s.snaps.mu.Lock()
	defer s.snaps.mu.Unlock()
	for _, snap := range s.snaps.m {
		snap.mu.Lock()
		snap.view.Store(nil)
		snap.mu.Unlock()
	}
}
