package smtp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// logSink is a slog.Handler that keeps records and lets a test wait for one.
type logSink struct {
	mu      sync.Mutex
	recs    []logRec
	changed chan struct{}
}

type logRec struct {
	msg   string
	attrs map[string]string
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (h *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (h *logSink) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logSink) WithGroup(string) slog.Handler            { return h }
func (h *logSink) Handle(_ context.Context, r slog.Record) error {
	rec := logRec{msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, rec)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	return nil
}

// wait returns the first record matching pred, waiting for it to be logged.
func (h *logSink) wait(t testing.TB, pred func(logRec) bool) logRec {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		for _, r := range h.recs {
			if pred(r) {
				h.mu.Unlock()
				return r
			}
		}
		ch := h.changed
		h.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("log record not seen; have %v", h.all())
		}
	}
}

func (h *logSink) all() []logRec {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]logRec(nil), h.recs...)
}

func (h *logSink) find(msg string) []logRec {
	var out []logRec
	for _, r := range h.all() {
		if r.msg == msg {
			out = append(out, r)
		}
	}
	return out
}

func isMsg(msg string) func(logRec) bool { return func(r logRec) bool { return r.msg == msg } }

// testPolicy accepts users at example.test except nobody, refuses other
// domains unless the client is trusted.
type testPolicy struct{}

func (testPolicy) CheckRecipient(_ context.Context, s *Session, _ string, rcpt string) error {
	a, err := ParseAddress(rcpt, true)
	if err != nil {
		return err
	}
	switch {
	case a.Domain != "example.test" && !s.Trusted:
		return Reply(554, [3]int{5, 7, 1}, "<%s>: Relay access denied", rcpt)
	case a.Local == "nobody":
		return Reply(550, [3]int{5, 1, 1}, "<%s>: Recipient address rejected: User unknown", rcpt)
	case a.Local == "boom":
		panic("policy exploded")
	}
	return nil
}

type delivered struct {
	env  *Envelope
	body string
}

// testDeliverer records messages; hook, when set, decides the results.
type testDeliverer struct {
	mu   sync.Mutex
	msgs []delivered
	hook func(env *Envelope) []error
}

func (d *testDeliverer) Deliver(_ context.Context, env *Envelope, msg Message) []error {
	r, err := msg.Open()
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if int64(len(b)) != msg.Size() {
		panic(fmt.Sprintf("Size %d, read %d", msg.Size(), len(b)))
	}
	d.mu.Lock()
	hook := d.hook
	d.msgs = append(d.msgs, delivered{env, string(b)})
	d.mu.Unlock()
	if hook != nil {
		return hook(env)
	}
	return make([]error, len(env.Recipients))
}

func (d *testDeliverer) got() []delivered {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]delivered(nil), d.msgs...)
}

// fakeResolver answers from maps; a missing name is "not found".
type fakeResolver struct {
	mx    map[string][]*net.MX
	hosts map[string][]string
	fail  map[string]bool // SERVFAIL for both lookups
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if r.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, notFound(name)
}

func (r fakeResolver) LookupHost(_ context.Context, name string) ([]string, error) {
	if r.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if h, ok := r.hosts[name]; ok {
		return h, nil
	}
	return nil, notFound(name)
}

type testEnv struct {
	srv   *Server
	addr  string // host:port, or a unix socket path
	net   string
	logs  *logSink
	deliv *testDeliverer
}

// start runs a Server on 127.0.0.1:0 (or a unix socket for LMTP) until the
// test ends. edit adjusts the options.
func start(t testing.TB, edit func(*Options)) *testEnv {
	t.Helper()
	return startOn(t, "", edit)
}

// startOn is start on network "tcp" or "unix"; "" is the role's usual one.
func startOn(t testing.TB, network string, edit func(*Options)) *testEnv {
	t.Helper()
	e := &testEnv{logs: newLogSink(), deliv: &testDeliverer{}, net: "tcp"}
	opts := Options{
		Hostname:  "mx.example.test",
		Policy:    testPolicy{},
		Deliverer: e.deliv,
		Logger:    slog.New(e.logs),
		Resolver:  fakeResolver{},
		SpoolDir:  t.TempDir(),
	}
	if edit != nil {
		edit(&opts)
	}
	var l net.Listener
	var err error
	if network == "unix" || network == "" && opts.Role == RoleLMTP {
		e.net = "unix"
		l, err = net.Listen("unix", t.TempDir()+"/lmtp.sock")
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	e.srv = NewServer(opts)
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// rawClient speaks SMTP by hand, for the hostile cases.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func (e *testEnv) dial(t testing.TB) *rawClient {
	t.Helper()
	return e.dialFrom(t, "")
}

func (e *testEnv) dialFrom(t testing.TB, local string) *rawClient {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial(e.net, e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, conn: c, r: bufio.NewReader(c)}
}

// reply reads one (possibly multi-line) reply and returns its code and the
// text of all lines joined by "\n".
func (c *rawClient) reply() (int, string) {
	c.t.Helper()
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading reply: %v (got %q)", err, lines)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 {
			c.t.Fatalf("short reply line %q", line)
		}
		lines = append(lines, line)
		if line[3] == ' ' {
			var code int
			fmt.Sscanf(line[:3], "%d", &code)
			return code, strings.Join(lines, "\n")
		}
	}
}

func (c *rawClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// cmd sends one command line and checks the reply starts with want
// (e.g. "250", "550 5.1.1").
func (c *rawClient) cmd(line, want string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.expect(want)
}

func (c *rawClient) expect(want string) string {
	c.t.Helper()
	_, text := c.reply()
	last := text[strings.LastIndexByte(text, '\n')+1:]
	if !strings.HasPrefix(last, want) {
		c.t.Fatalf("got %q, want prefix %q", text, want)
	}
	return text
}

// expectClosed checks that the server closed the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	b, err := c.r.ReadByte()
	if err == nil {
		c.t.Fatalf("connection still open, read %q", b)
	}
}

// greet reads the banner and says EHLO.
func (c *rawClient) greet(helo string) {
	c.t.Helper()
	c.expect("220 ")
	c.cmd("EHLO "+helo, "250")
}

func trusted(opts *Options) {
	opts.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

func msg(body string) string {
	return "From: a@example.org\r\nTo: alice@example.test\r\nSubject: test\r\n\r\n" + body
}
