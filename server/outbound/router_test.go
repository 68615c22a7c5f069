package outbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/postern/postern/internal/deadport"
	"github.com/postern/postern/server/config"
)

// sinkHost is an in-process smart host on go-smtp's server, plain SMTP on loopback
// (tls = "none"), that records the envelope of every message it accepts.
type sinkHost struct {
	port int
	mu   sync.Mutex
	got  []sinkMsg
}

type sinkMsg struct {
	from  string
	rcpts []string
	data  string
}

func newSinkHost(t *testing.T) *sinkHost {
	t.Helper()
	h := &sinkHost{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.port = l.Addr().(*net.TCPAddr).Port
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &sinkSession{h: h}, nil
	}))
	s.Domain = "sink.test"
	s.ErrorLog = log.New(io.Discard, "", 0)
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return h
}

func (h *sinkHost) messages() []sinkMsg {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sinkMsg(nil), h.got...)
}

type sinkSession struct {
	h   *sinkHost
	cur sinkMsg
}

func (s *sinkSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.cur = sinkMsg{from: from}
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.cur.rcpts = append(s.cur.rcpts, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.h.mu.Lock()
	s.h.got = append(s.h.got, s.cur)
	s.h.mu.Unlock()
	return nil
}
func (s *sinkSession) Reset()        { s.cur = sinkMsg{} }
func (s *sinkSession) Logout() error { return nil }

func routerFor(t *testing.T, doc string) *router {
	t.Helper()
	cfg, err := config.Parse([]byte("hostname = \"mail.example.com\"\n"+doc), filepath.Join(t.TempDir(), "postern.toml"))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := routeOptions(cfg, func(string) string { return "" }, discardLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newRouter(cfg, opts, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.close)
	return rt
}

func sendThrough(t *testing.T, rt *router, from string, rcpts ...string) map[string]bool {
	t.Helper()
	msg := "Subject: routed\r\n\r\nhello\r\n"
	res := rt.sendAll(context.Background(), "TEST", from, rcpts, func() io.ReadSeeker { return bytes.NewReader([]byte(msg)) })
	if len(res) != len(rcpts) {
		t.Fatalf("%d results for %d recipients", len(res), len(rcpts))
	}
	delivered := make(map[string]bool)
	for i, r := range res {
		if r.Rcpt != rcpts[i] {
			t.Errorf("result %d is for %q, want %q", i, r.Rcpt, rcpts[i])
		}
		delivered[r.Rcpt] = r.Delivered
	}
	return delivered
}

func rcptsAt(h *sinkHost) []string {
	var out []string
	for _, m := range h.messages() {
		out = append(out, m.rcpts...)
	}
	return out
}

func TestRouterRoutesByRecipientThenSenderDomain(t *testing.T) {
	t.Parallel()
	primary, second := newSinkHost(t), newSinkHost(t)
	rt := routerFor(t, fmt.Sprintf(`
[relay]
host = "127.0.0.1"
port = %d
tls = "none"

[relays.second]
host = "127.0.0.1"
port = %d
tls = "none"

[[route]]
recipient_domains = ["routed.example"]
via = "second"

[[route]]
sender_domains = ["lists.example.com"]
via = "second"

[[route]]
recipient_domains = ["pinned.example"]
via = "relay"
`, primary.port, second.port))

	// One message, recipients split by their domain.
	got := sendThrough(t, rt, "me@example.com", "a@other.example", "b@ROUTED.example", "c@other.example")
	for r, ok := range got {
		if !ok {
			t.Errorf("%s not delivered", r)
		}
	}
	if p, s := rcptsAt(primary), rcptsAt(second); strings.Join(p, ",") != "a@other.example,c@other.example" || strings.Join(s, ",") != "b@ROUTED.example" {
		t.Errorf("by recipient domain: primary got %q, second got %q", p, s)
	}
	if m := second.messages(); len(m) != 1 || m[0].from != "me@example.com" || !strings.Contains(m[0].data, "Subject: routed") {
		t.Errorf("second relay got %+v", m)
	}

	// The sender's domain routes the rest; a recipient domain route still wins.
	sendThrough(t, rt, "news@lists.example.com", "d@other.example", "e@pinned.example")
	if p, s := rcptsAt(primary), rcptsAt(second); len(p) != 3 || p[2] != "e@pinned.example" || len(s) != 2 || s[1] != "d@other.example" {
		t.Errorf("by sender domain: primary got %q, second got %q", p, s)
	}
}

func TestRouterFallbackWhenPrimaryRefusesConnections(t *testing.T) {
	t.Parallel()
	backup, direct := newSinkHost(t), newSinkHost(t)
	rt := routerFor(t, fmt.Sprintf(`
[relay]
host = "127.0.0.1"
port = %d
tls = "none"
fallback = "backup"

[relays.backup]
host = "127.0.0.1"
port = %d
tls = "none"

[relays.other]
host = "127.0.0.1"
port = %d
tls = "none"
`, deadport.Port(t), backup.port, direct.port))
	got := sendThrough(t, rt, "me@example.com", "a@x.example", "b@y.example")
	if !got["a@x.example"] || !got["b@y.example"] {
		t.Errorf("delivered = %v, want both through the fallback", got)
	}
	if m := backup.messages(); len(m) != 1 || strings.Join(m[0].rcpts, ",") != "a@x.example,b@y.example" {
		t.Errorf("backup got %+v", m)
	}
	if n := len(direct.messages()); n != 0 {
		t.Errorf("a relay that is not the fallback got %d messages", n)
	}

	// Without a fallback, the refused connection is a temporary failure.
	rt = routerFor(t, fmt.Sprintf("[relay]\nhost = \"127.0.0.1\"\nport = %d\ntls = \"none\"\n", deadport.Port(t)))
	res := rt.sendAll(context.Background(), "T2", "me@example.com", []string{"a@x.example"},
		func() io.ReadSeeker { return strings.NewReader("Subject: x\r\n\r\nx\r\n") })
	if res[0].Delivered || !res[0].Temporary || !strings.Contains(res[0].Text, "connect") {
		t.Errorf("refused primary without fallback: %+v", res[0])
	}
}

func TestRouteOptionsChecksNamedRelayPasswordFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := filepath.Join(dir, "backup.password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf("hostname = \"mail.example.com\"\n[relays.backup]\nhost = \"smtp.example.net\"\nusername = \"me\"\npassword_file = %q\n"+
		"[[route]]\nrecipient_domains = [\"x.example\"]\nvia = \"backup\"\n", pw)
	cfg, err := config.Parse([]byte(doc), filepath.Join(dir, "postern.toml"))
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	_, err = routeOptions(cfg, getenv, discardLog(), nil)
	if err == nil || !strings.Contains(err.Error(), "relays.backup password_file") || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("routeOptions with a world-readable password file: %v", err)
	}
	if err := os.Chmod(pw, 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := routeOptions(cfg, getenv, discardLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o := opts["backup"]; o.Password != "s3cret" || o.Host != "smtp.example.net" || o.Port != 587 {
		t.Errorf("backup options: host %q port %d password set %v", o.Host, o.Port, o.Password == "s3cret")
	}
	if _, ok := opts[config.ViaDirect]; !ok {
		t.Errorf("without [relay] the default way out, direct, has no client options: %v", opts)
	}
}
