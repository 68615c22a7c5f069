package integration

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The relay stand-in: a smart host that speaks real SMTP AUTH over STARTTLS or implicit
// TLS, written on python3's aiosmtpd (Debian's python3-aiosmtpd) so that Postern's relay
// client is checked against a server it shares no code with. The test owns the listening
// socket and hands it to the Python process as fd 3, so the port is known before the
// stand-in runs (and a test can leave it down, then start it on the same port).
//
// Each accepted message becomes one file in msgs/: a first line "X-Stub-Envelope: {json}"
// (mail_from, rcpt_tos, auth login and mechanism, tls, arrival time) and then the message
// as received. It is written (temp file, rename) before the 250 to the final dot, so a file
// exists for every message the stand-in acknowledged.
//
// Behaviour on demand: recipients tempfail@... and permfail@... are refused at RCPT with 450
// and 550; control.json (read at every transaction) may hold {"delay_ms": N} to answer the
// final dot N ms late, and {"data_reply": "451 4.3.0 ..."} to answer every message so. The
// file "active" holds the number of sessions being handled (WaitIdle).

const relayStubUser = "relay-user@smarthost.test"
const relayStubPassword = "relay-S3cret"

const relayStubPy = `
import asyncio, json, os, socket, ssl, sys, time, uuid
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

MODE, CERT, KEY, DIR, USER, PASSWORD = sys.argv[1:7]
MSGS = os.path.join(DIR, "msgs")
CONTROL = os.path.join(DIR, "control.json")

def control():
    try:
        with open(CONTROL) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER
          and auth_data.password.decode() == PASSWORD)
    return AuthResult(success=ok, handled=False,
                      auth_data={"login": auth_data.login.decode(errors="replace"), "mechanism": mechanism} if ok else None)

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local == "tempfail":
            return "450 4.2.0 <%s>: stand-in says try later" % address
        if local == "permfail":
            return "550 5.1.1 <%s>: stand-in says no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        ctl = control()
        delay = ctl.get("delay_ms", 0) / 1000.0
        if ctl.get("data_reply"):
            await asyncio.sleep(delay)
            return ctl["data_reply"]
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        env = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
               "auth": session.auth_data, "tls": tls, "time": time.time()}
        name = "%d-%s" % (time.time_ns(), uuid.uuid4().hex[:8])
        tmp = os.path.join(DIR, "tmp-" + name)
        with open(tmp, "wb") as f:
            f.write(b"X-Stub-Envelope: " + json.dumps(env).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(MSGS, name))
        # Recorded before the (slow) reply: every message the client may have seen
        # accepted is on file, and a few it never saw accepted may be too.
        await asyncio.sleep(delay)
        return "250 2.0.0 Ok: stand-in queued as " + name

ACTIVE = [0]

def set_active(delta):
    ACTIVE[0] += delta
    tmp = os.path.join(DIR, "active.tmp")
    with open(tmp, "w") as f:
        f.write(str(ACTIVE[0]))
    os.rename(tmp, os.path.join(DIR, "active"))

class CountingSMTP(SMTP):
    # Counts sessions still being handled, so that a test can wait until every
    # connection of a killed client has been fully processed (or cancelled).
    async def _handle_client(self):
        set_active(1)
        try:
            await super()._handle_client()
        finally:
            set_active(-1)

def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(CERT, KEY)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler()
    def factory():
        if MODE == "implicit":
            # The transport is TLS from the first byte: aiosmtpd does not know it, so it
            # is told not to demand STARTTLS before AUTH.
            return CountingSMTP(handler, hostname="smarthost.test", authenticator=authenticator,
                        auth_required=True, auth_require_tls=False, loop=loop)
        return CountingSMTP(handler, hostname="smarthost.test", authenticator=authenticator,
                    auth_required=True, auth_require_tls=True, tls_context=ctx,
                    require_starttls=True, loop=loop)
    set_active(0)
    sock = socket.socket(fileno=3)
    srv = loop.run_until_complete(loop.create_server(
        factory, sock=sock, ssl=ctx if MODE == "implicit" else None))
    loop.run_forever()

main()
`

// relayStub is one stand-in smart host.
type relayStub struct {
	t    testing.TB
	Dir  string // msgs/, control.json, the certificate
	Mode string // "starttls" or "implicit"
	Port int
	CA   string // PEM file of the self-signed certificate, for [relay] ca_file

	python string
	hold   int // the socket keeping Port reserved (holdPort, then SO_REUSEADDR) until the test ends
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
}

// stubMessage is one message the stand-in accepted.
type stubMessage struct {
	File     string
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	Auth     *struct {
		Login     string `json:"login"`
		Mechanism string `json:"mechanism"`
	} `json:"auth"`
	TLS    bool    `json:"tls"`
	Time   float64 `json:"time"`
	Header textproto.MIMEHeader
	Body   string // the whole message text as received
}

// needAiosmtpd finds a python3 that can import aiosmtpd (Debian's python3-aiosmtpd lives in
// /usr/bin/python3's path, which may not be the first python3 on PATH). Missing: skip, or
// fail under CI=true.
func needAiosmtpd(t testing.TB) string {
	t.Helper()
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	for _, p := range cands {
		if exec.Command(p, "-c", "import aiosmtpd.smtp").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("python3-aiosmtpd is not installed; CI must install it (.ci/deps)")
	}
	t.Skip("python3-aiosmtpd is not installed")
	return ""
}

// newRelayStub prepares a stand-in (certificate, directories, a reserved port) without
// starting it: call Start.
func newRelayStub(t testing.TB, mode string) *relayStub {
	t.Helper()
	py := needAiosmtpd(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "msgs"), 0o755); err != nil {
		t.Fatal(err)
	}
	st := &relayStub{t: t, Dir: dir, Mode: mode, python: py, CA: filepath.Join(dir, "ca.pem")}
	writeStubCert(t, dir)
	st.Port, st.hold = holdPort(t)
	// Reusable from now on, so that Start binds the port while it stays reserved: no
	// window for another listener before Start, nor while the stand-in is stopped.
	if err := syscall.SetsockoptInt(st.hold, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Cleanup(st.release)
	return st
}

// holdPort binds a TCP socket to a free port on 127.0.0.1 without listening on it: until
// the descriptor is closed, connections to the port are refused (a relay that is down)
// and no other test's listener can be given the port.
func holdPort(t testing.TB) (port, fd int) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port, fd
}

// release gives up the reserved port, if it is still held.
func (st *relayStub) release() {
	if st.hold >= 0 {
		syscall.Close(st.hold)
		st.hold = -1
	}
}

// writeStubCert writes a self-signed certificate for 127.0.0.1 and localhost: cert.pem and
// key.pem for the stand-in, ca.pem (the same certificate) for Postern's ca_file.
func writeStubCert(t testing.TB, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "smarthost.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost", "smarthost.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, data := range map[string][]byte{
		"cert.pem": certPEM,
		"ca.pem":   certPEM,
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// RelayConfig is the [relay] table pointing at the stand-in, with the password in a file of
// the given mode (the right password unless password is set).
func (st *relayStub) RelayConfig(t testing.TB, password string, mode os.FileMode) string {
	t.Helper()
	if password == "" {
		password = relayStubPassword
	}
	pw := filepath.Join(t.TempDir(), "relay.password")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pw, mode); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("[relay]\nhost = \"127.0.0.1\"\nport = %d\ntls = %q\nusername = %q\npassword_file = %q\nca_file = %q\n",
		st.Port, st.Mode, relayStubUser, pw, st.CA)
}

// Start runs the stand-in on its port and returns once it greets with 220 (over TLS for
// implicit mode), polling with a deadline.
func (st *relayStub) Start() {
	t := st.t
	t.Helper()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cmd != nil {
		t.Fatal("relay stand-in already running")
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", st.Port))
	if err != nil {
		t.Fatalf("relay stand-in: binding its reserved port: %v", err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	script := filepath.Join(st.Dir, "stub.py")
	if err := os.WriteFile(script, []byte(relayStubPy), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(st.python, script, st.Mode, filepath.Join(st.Dir, "cert.pem"), filepath.Join(st.Dir, "key.pem"),
		st.Dir, relayStubUser, relayStubPassword)
	cmd.ExtraFiles = []*os.File{f}
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the relay stand-in: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	st.cmd, st.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := st.greet(deadline)
		if err == nil {
			return
		}
		select {
		case <-done:
			t.Fatalf("relay stand-in exited: %s", logBuf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay stand-in not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// greet connects once and reads the 220 greeting.
func (st *relayStub) greet(deadline time.Time) error {
	addr := fmt.Sprintf("127.0.0.1:%d", st.Port)
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	if st.Mode == "implicit" {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(st.CA)
		if err != nil {
			return err
		}
		pool.AppendCertsFromPEM(pem)
		tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err := tc.Handshake(); err != nil {
			return err
		}
		c = tc
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q", line)
	}
	_, _ = c.Write([]byte("QUIT\r\n"))
	return nil
}

// Stop kills the stand-in (it keeps no state but its files).
func (st *relayStub) Stop() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cmd == nil {
		return
	}
	_ = st.cmd.Process.Kill()
	<-st.done
	st.cmd, st.done = nil, nil
}

// Control replaces control.json (delay_ms, data_reply).
func (st *relayStub) Control(v map[string]any) {
	st.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		st.t.Fatal(err)
	}
	tmp := filepath.Join(st.Dir, "control.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		st.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(st.Dir, "control.json")); err != nil {
		st.t.Fatal(err)
	}
}

// Messages reads every message accepted so far, oldest first.
func (st *relayStub) Messages() []stubMessage {
	t := st.t
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(st.Dir, "msgs"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	out := make([]stubMessage, 0, len(names))
	for _, n := range names {
		p := filepath.Join(st.Dir, "msgs", n)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		first, rest, ok := strings.Cut(string(data), "\r\n")
		js, isEnv := strings.CutPrefix(first, "X-Stub-Envelope: ")
		if !ok || !isEnv {
			t.Fatalf("stand-in file %s has no envelope line", p)
		}
		m := stubMessage{File: p, Body: rest}
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			t.Fatalf("stand-in file %s: %v", p, err)
		}
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(rest))).ReadMIMEHeader()
		if err != nil && len(h) == 0 {
			t.Fatalf("stand-in file %s: header: %v", p, err)
		}
		m.Header = h
		out = append(out, m)
	}
	return out
}

// WaitFor polls the accepted messages until pred holds, failing after timeout.
func (st *relayStub) WaitFor(timeout time.Duration, what string, pred func([]stubMessage) bool) []stubMessage {
	st.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := st.Messages()
		if pred(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			st.t.Fatalf("relay stand-in: waited %v for %s; it has %d messages", timeout, what, len(ms))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// WaitIdle waits until the stand-in handles no session (after a client was killed, its
// connections are fully processed or cancelled: no message file can appear later).
func (st *relayStub) WaitIdle(timeout time.Duration) {
	st.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(filepath.Join(st.Dir, "active"))
		if err == nil && strings.TrimSpace(string(b)) == "0" {
			return
		}
		if time.Now().After(deadline) {
			st.t.Fatalf("relay stand-in still handles %q sessions after %v", b, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// withSubject filters messages by their Subject.
func withSubject(ms []stubMessage, subject string) []stubMessage {
	var out []stubMessage
	for _, m := range ms {
		if m.Header.Get("Subject") == subject {
			out = append(out, m)
		}
	}
	return out
}
