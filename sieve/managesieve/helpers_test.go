package managesieve

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

// memScripts is an in-memory Scripts with the store's rules and errors.
type memScripts struct {
	mu      sync.Mutex
	scripts map[string]map[string]string // user -> name -> content
	active  map[string]string
}

func newMemScripts() *memScripts {
	return &memScripts{scripts: map[string]map[string]string{}, active: map[string]string{}}
}

func (m *memScripts) PutScript(_ context.Context, user, name, content string) error {
	if err := store.CheckSieveScriptName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.scripts[user] == nil {
		m.scripts[user] = map[string]string{}
	}
	m.scripts[user][name] = content
	return nil
}

func (m *memScripts) GetScript(_ context.Context, user, name string) (store.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.scripts[user][name]
	if !ok {
		return store.SieveScript{}, fmt.Errorf("script %q: %w", name, store.ErrNotFound)
	}
	return store.SieveScript{Name: name, Content: c, Size: int64(len(c)), Active: m.active[user] == name}, nil
}

func (m *memScripts) ListScripts(_ context.Context, user string) ([]store.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.SieveScript
	for n, c := range m.scripts[user] {
		out = append(out, store.SieveScript{Name: n, Size: int64(len(c)), Active: m.active[user] == n})
	}
	slices.SortFunc(out, func(a, b store.SieveScript) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *memScripts) SetActive(_ context.Context, user, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[user][name]; name != "" && !ok {
		return fmt.Errorf("script %q: %w", name, store.ErrNotFound)
	}
	m.active[user] = name
	return nil
}

func (m *memScripts) DeleteScript(_ context.Context, user, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[user][name]; !ok {
		return fmt.Errorf("script %q: %w", name, store.ErrNotFound)
	}
	if m.active[user] == name {
		return fmt.Errorf("script %q: %w", name, store.ErrInUse)
	}
	delete(m.scripts[user], name)
	return nil
}

func (m *memScripts) RenameScript(_ context.Context, user, oldName, newName string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.scripts[user][oldName]
	if !ok {
		return fmt.Errorf("script %q: %w", oldName, store.ErrNotFound)
	}
	if _, ok := m.scripts[user][newName]; ok {
		return fmt.Errorf("script %q: %w", newName, store.ErrExists)
	}
	delete(m.scripts[user], oldName)
	m.scripts[user][newName] = c
	if m.active[user] == oldName {
		m.active[user] = newName
	}
	return nil
}

type fakeAuth struct{}

func (fakeAuth) Authenticate(_ context.Context, _ net.Addr, username, password string) (string, error) {
	if strings.EqualFold(username, "alice@example.com") && password == "secret" {
		return "alice@example.com", nil
	}
	return "", errors.New("bad credentials")
}

func testTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.com"},
		DNSNames: []string{"mail.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "mail.example.com"}
	return server, client
}

type testServer struct {
	srv     *Server
	addr    string
	scripts *memScripts
	client  *tls.Config
}

func startServer(t *testing.T, mod func(*Options)) *testServer {
	t.Helper()
	stls, ctls := testTLS(t)
	ts := &testServer{scripts: newMemScripts(), client: ctls}
	opts := Options{Hostname: "mail.example.com", TLSConfig: stls, Authenticator: fakeAuth{}, Scripts: ts.scripts}
	if mod != nil {
		mod(&opts)
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	ts.srv, ts.addr = srv, ln.Addr().String()
	return ts
}

// client is a raw ManageSieve client: it writes lines as given and reads responses.
type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (ts *testServer) dial(t *testing.T) (*client, response) {
	t.Helper()
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	return cl, cl.read()
}

// response is the data lines of a reply and its final OK/NO/BYE line.
type response struct {
	lines []string
	final string
}

func (r response) String() string { return strings.Join(r.lines, "\n") + "\n" + r.final }

func (cl *client) send(s string) {
	cl.t.Helper()
	if _, err := io.WriteString(cl.c, s); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
}

// read reads up to and including the final line; a line ending in {N} takes the next
// N octets with it.
func (cl *client) read() response {
	cl.t.Helper()
	var resp response
	for {
		line, err := cl.r.ReadString('\n')
		if err != nil {
			cl.t.Fatalf("read after %q: %v", resp.lines, err)
		}
		line = strings.TrimRight(line, "\r\n")
		if i := strings.LastIndexByte(line, '{'); i >= 0 && strings.HasSuffix(line, "}") {
			n, err := strconv.Atoi(line[i+1 : len(line)-1])
			if err == nil {
				buf := make([]byte, n)
				if _, err := io.ReadFull(cl.r, buf); err != nil {
					cl.t.Fatal(err)
				}
				line = line[:i] + string(buf)
				rest, _ := cl.r.ReadString('\n')
				line += strings.TrimRight(rest, "\r\n")
			}
		}
		for _, st := range []string{"OK", "NO", "BYE"} {
			if line == st || strings.HasPrefix(line, st+" ") {
				resp.final = line
				return resp
			}
		}
		resp.lines = append(resp.lines, line)
	}
}

func (cl *client) cmd(s string) response {
	cl.t.Helper()
	cl.send(s + "\r\n")
	return cl.read()
}

func (cl *client) want(s, prefix string) response {
	cl.t.Helper()
	r := cl.cmd(s)
	if !strings.HasPrefix(r.final, prefix) {
		cl.t.Fatalf("%s: got %q, want %s...", clip(s), r, prefix)
	}
	return r
}

func (cl *client) startTLS(cfg *tls.Config) response {
	cl.t.Helper()
	cl.want("STARTTLS", "OK")
	tc := tls.Client(cl.c, cfg)
	if err := tc.Handshake(); err != nil {
		cl.t.Fatalf("handshake: %v", err)
	}
	cl.c, cl.r = tc, bufio.NewReader(tc)
	return cl.read()
}

func plain(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pw))
}

// login dials, starts TLS and authenticates as alice.
func (ts *testServer) login(t *testing.T) *client {
	t.Helper()
	cl, _ := ts.dial(t)
	cl.startTLS(ts.client)
	cl.want(`AUTHENTICATE "PLAIN" "`+plain("alice@example.com", "secret")+`"`, "OK")
	return cl
}

func literal(s string) string { return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s }

func plainRaw(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// The daemon passes its *store.Store as Options.Scripts.
var _ Scripts = (*store.Store)(nil)
