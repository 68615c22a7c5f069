package milter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	gomilter "github.com/emersion/go-milter"
	"net/textproto"

	"github.com/postern/postern/internal/deadport"
	"github.com/postern/postern/smtp"
)

// bytesMessage is an smtp.Message in memory.
type bytesMessage []byte

func (m bytesMessage) Size() int64                  { return int64(len(m)) }
func (m bytesMessage) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(m)), nil }

// seen is what the fake milter was told about the last message.
type seen struct {
	mu                     sync.Mutex
	host, addr, helo, from string
	rcpts, headers         []string
	body                   string
}

// fakeMilter decides by a word in the body, the way the tests ask it to.
type fakeMilter struct {
	gomilter.NoOpMilter
	seen *seen
	body bytes.Buffer
}

func (f *fakeMilter) Connect(host, family string, port uint16, addr net.IP, m *gomilter.Modifier) (gomilter.Response, error) {
	f.seen.mu.Lock()
	f.seen.host, f.seen.addr = host, addr.String()
	f.seen.rcpts, f.seen.headers = nil, nil
	f.seen.mu.Unlock()
	return gomilter.RespContinue, nil
}

func (f *fakeMilter) Helo(name string, m *gomilter.Modifier) (gomilter.Response, error) {
	f.seen.mu.Lock()
	f.seen.helo = name
	f.seen.mu.Unlock()
	return gomilter.RespContinue, nil
}

func (f *fakeMilter) MailFrom(from string, m *gomilter.Modifier) (gomilter.Response, error) {
	f.seen.mu.Lock()
	f.seen.from = from
	f.seen.mu.Unlock()
	return gomilter.RespContinue, nil
}

func (f *fakeMilter) RcptTo(rcpt string, m *gomilter.Modifier) (gomilter.Response, error) {
	f.seen.mu.Lock()
	f.seen.rcpts = append(f.seen.rcpts, rcpt)
	f.seen.mu.Unlock()
	return gomilter.RespContinue, nil
}

func (f *fakeMilter) Header(name, value string, m *gomilter.Modifier) (gomilter.Response, error) {
	f.seen.mu.Lock()
	f.seen.headers = append(f.seen.headers, name+": "+value)
	f.seen.mu.Unlock()
	return gomilter.RespContinue, nil
}

func (f *fakeMilter) Headers(h textproto.MIMEHeader, m *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (f *fakeMilter) BodyChunk(chunk []byte, m *gomilter.Modifier) (gomilter.Response, error) {
	f.body.Write(chunk)
	return gomilter.RespContinue, nil
}

func (f *fakeMilter) Body(m *gomilter.Modifier) (gomilter.Response, error) {
	body := f.body.String()
	f.seen.mu.Lock()
	f.seen.body = body
	f.seen.mu.Unlock()
	switch {
	case strings.Contains(body, "REJECT"):
		return gomilter.NewResponseStr('y', "554 5.7.1 Spam message rejected\x00"), nil
	case strings.Contains(body, "PLAINREJECT"):
		return gomilter.RespReject, nil
	case strings.Contains(body, "TEMPFAIL"):
		return gomilter.RespTempFail, nil
	case strings.Contains(body, "DISCARD"):
		return gomilter.RespDiscard, nil
	case strings.Contains(body, "QUARANTINE"):
		if err := m.Quarantine("looks like spam"); err != nil {
			return nil, err
		}
		return gomilter.RespAccept, nil
	case strings.Contains(body, "HANG"):
		time.Sleep(2 * time.Second) // longer than the filter's timeout
		return gomilter.RespAccept, nil
	}
	for _, err := range []error{
		m.AddHeader("X-Spam-Status", "No, score=1.5"),
		m.AddHeader("X-Spam", "Yes"),
		m.ChangeHeader(1, "Subject", "[SPAM] hello"),
		m.ChangeHeader(1, "X-Remove-Me", ""),
		m.InsertHeader(0, "X-Top", "first"),
	} {
		if err != nil {
			return nil, err
		}
	}
	return gomilter.RespAccept, nil
}

// startMilter serves the fake milter on a loopback port.
func startMilter(t *testing.T) (string, *seen) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &seen{}
	srv := &gomilter.Server{
		NewMilter: func() gomilter.Milter { return &fakeMilter{seen: s} },
		Actions:   gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptQuarantine,
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), s
}

func envelope() *smtp.Envelope {
	return &smtp.Envelope{
		ID: "SID.1",
		Session: &smtp.Session{ID: "SID", RemoteAddr: netip.MustParseAddrPort("192.0.2.7:40000"),
			HELO: "client.example", Hostname: "mx.example.test"},
		From:       "alice@example.org",
		Recipients: []string{"bob@example.test", "carol@example.test"},
	}
}

func message(body string) bytesMessage {
	return bytesMessage("Subject: hello\r\nX-Remove-Me: yes\r\nTo: bob@example.test,\r\n carol@example.test\r\n\r\n" + body)
}

func read(t *testing.T, m smtp.Message) string {
	t.Helper()
	rc, err := m.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != m.Size() {
		t.Errorf("Size() = %d, read %d octets", m.Size(), len(b))
	}
	return string(b)
}

func TestFilterHeadersAndTransaction(t *testing.T) {
	t.Parallel()
	addr, s := startMilter(t)
	f := New(Options{Address: addr, Timeout: 5 * time.Second})
	env := envelope()
	out, err := f.Filter(context.Background(), env, message("Hello.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := read(t, out)
	want := "X-Top: first\r\nSubject: [SPAM] hello\r\nTo: bob@example.test,\r\n carol@example.test\r\n" +
		"X-Spam-Status: No, score=1.5\r\nX-Spam: Yes\r\n\r\nHello.\r\n"
	if got != want {
		t.Errorf("message after the milter:\n%q\nwant\n%q", got, want)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.host != "[192.0.2.7]" || s.addr != "192.0.2.7" || s.helo != "client.example" || s.from != "alice@example.org" {
		t.Errorf("milter saw host %q addr %q helo %q from %q", s.host, s.addr, s.helo, s.from)
	}
	if strings.Join(s.rcpts, " ") != "bob@example.test carol@example.test" {
		t.Errorf("milter saw recipients %q", s.rcpts)
	}
	if len(s.headers) != 3 || s.headers[0] != "Subject: hello" || !strings.Contains(s.headers[2], "carol@example.test") {
		t.Errorf("milter saw headers %q", s.headers)
	}
	if s.body != "Hello.\r\n" {
		t.Errorf("milter saw body %q", s.body)
	}
	if env.Quarantine != "" {
		t.Errorf("Quarantine = %q", env.Quarantine)
	}
}

func TestFilterVerdicts(t *testing.T) {
	t.Parallel()
	addr, _ := startMilter(t)
	f := New(Options{Address: addr, Timeout: time.Second})
	for _, tc := range []struct {
		body, reply string
		discard     bool
		quarantine  string
	}{
		{body: "REJECT", reply: "554 5.7.1 Spam message rejected"},
		{body: "PLAINREJECT", reply: "554 5.7.1 Spam message rejected"}, // contains REJECT too
		{body: "TEMPFAIL", reply: "451 4.7.1 Message deferred by content filter, try again later"},
		{body: "DISCARD", discard: true},
		{body: "QUARANTINE", quarantine: "milter: looks like spam"},
	} {
		env := envelope()
		out, err := f.Filter(context.Background(), env, message(tc.body+"\r\n"))
		switch {
		case tc.reply != "":
			var r *smtp.ReplyError
			if !errors.As(err, &r) || r.Error() != tc.reply {
				t.Errorf("%s: err %v, want %q", tc.body, err, tc.reply)
			}
		case tc.discard:
			if !errors.Is(err, smtp.ErrDiscard) {
				t.Errorf("%s: err %v, want ErrDiscard", tc.body, err)
			}
		default:
			if err != nil || out == nil || env.Quarantine != tc.quarantine {
				t.Errorf("%s: err %v, quarantine %q, want %q", tc.body, err, env.Quarantine, tc.quarantine)
			}
		}
	}
}

func TestFilterMilterDown(t *testing.T) {
	t.Parallel()
	addr := deadport.Addr(t) // nobody listens there
	msg := message("Hello.\r\n")

	out, err := New(Options{Address: addr, Timeout: time.Second}).Filter(context.Background(), envelope(), msg)
	if err != nil || read(t, out) != string(msg) {
		t.Errorf("default accept: err %v, want the message unchanged", err)
	}
	_, err = New(Options{Address: addr, Timeout: time.Second, TempFail: true}).Filter(context.Background(), envelope(), msg)
	var r *smtp.ReplyError
	if !errors.As(err, &r) || r.Code != 451 || r.EnhancedString() != "4.7.1" {
		t.Errorf("default tempfail: err %v, want 451 4.7.1", err)
	}
}

func TestFilterMilterTimeout(t *testing.T) {
	t.Parallel()
	addr, _ := startMilter(t)
	start := time.Now()
	_, err := New(Options{Address: addr, Timeout: 300 * time.Millisecond, TempFail: true}).Filter(context.Background(), envelope(), message("HANG\r\n"))
	var r *smtp.ReplyError
	if !errors.As(err, &r) || r.Code != 451 {
		t.Errorf("err %v, want 451", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("the filter waited %v for a milter that hangs", d)
	}
}

func TestReplyCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code int
		text string
		want string
	}{
		{554, "5.7.1 Spam message rejected", "554 5.7.1 Spam message rejected"},
		{550, "go away", "550 5.7.1 go away"},
		{451, "4.7.1 Try again later", "451 4.7.1 Try again later"},
		{421, "", "421 4.7.1 Message deferred by content filter"},
		{250, "ok?", "550 5.7.1 ok?"},
		{550, "4.1.1 wrong class", "550 5.7.1 wrong class"},
	} {
		_, r, _ := replyCode(tc.code, tc.text)
		if r.Error() != tc.want {
			t.Errorf("replyCode(%d, %q) = %q, want %q", tc.code, tc.text, r.Error(), tc.want)
		}
	}
}

func FuzzReadHeader(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody"))
	f.Add([]byte("A: 1\r\n folded\r\nbad line\r\nB:2\r\n\r\n"))
	f.Add([]byte("no header end"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHeader(bytes.NewReader(b), 64)
		if err != nil {
			t.Fatal(err)
		}
		var raw strings.Builder
		for _, fl := range h.fields {
			raw.WriteString(fl.raw)
		}
		raw.WriteString(h.sep)
		if !bytes.HasPrefix(b, []byte(raw.String())) || int64(raw.Len()) != h.size {
			t.Fatalf("header %q (size %d) is not the start of %q", raw.String(), h.size, b)
		}
		out, err := rewrite(bytesMessage(b), h, nil)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := out.Open()
		got, _ := io.ReadAll(rc)
		if int64(len(got)) != out.Size() {
			t.Fatalf("size %d, read %d", out.Size(), len(got))
		}
	})
}
