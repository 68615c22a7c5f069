package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin is the postern binary built once in TestMain.
var bin string

// coverDir receives the binary's coverage counters (GOCOVERDIR).
var coverDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "postern-itest-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	// Other users (the admin-socket test runs the CLI as nobody) must be able to run it.
	if err := os.Chmod(tmp, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin = filepath.Join(tmp, "postern")
	coverDir = os.Getenv("POSTERN_GOCOVERDIR")
	if coverDir == "" {
		coverDir = filepath.Join(tmp, "cover")
	}
	if err := os.MkdirAll(coverDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	build := exec.Command("go", "build", "-cover", "-covermode=atomic", "-coverpkg=github.com/postern/postern/...",
		"-trimpath", "-ldflags", "-X main.version=itest", "-o", bin, "../cmd/postern")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building postern: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// needTool returns the path of an outside program a test needs. Outside CI a missing tool
// skips the test; under CI=true it fails it.
// needRoot fails the test under CI, and skips it elsewhere, unless it runs as root;
// what says what needs it.
func needRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s needs root, and CI runs the tests as root", what)
	}
	t.Skipf("%s needs root", what)
}

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/lib/postfix/sbin"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
			return filepath.Join(dir, name)
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; CI must install it (.ci/run)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// Options change the config a test server starts with.
type Options struct {
	// Extra is TOML appended to the generated config (after the top-level keys, so it may
	// only add tables, or top-level keys if ExtraTop is used).
	Extra    string
	ExtraTop string
	// SMTP is TOML lines placed inside the [smtp] table (which the harness opens itself,
	// so Extra cannot add to it), e.g. "trusted_networks = []".
	SMTP string
	// Listen overrides [listen] entries; by default every TCP listener is 127.0.0.1:0.
	Listen map[string]string
	// NoStart writes the config but does not start the server.
	NoStart bool
}

// Server is one postern daemon under test.
type Server struct {
	t          testing.TB
	Dir        string // holds the config file
	StateDir   string
	RuntimeDir string
	Config     string
	// Env is added to the daemon's environment at each Start (set it before Start).
	Env []string
	// Journal makes the daemon's stderr look like systemd's journal stream: JOURNAL_STREAM
	// names the pipe it writes to (set it before Start).
	Journal bool

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	Addrs    map[string]string
	logLines []string
}

var defaultListen = []string{"smtp", "submission", "submissions", "imap", "imaps", "managesieve", "lmtp"}

// NewServer writes a config into fresh directories and (unless NoStart) starts the server
// and waits until it is ready. The server is stopped when the test ends.
func NewServer(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	// Unix socket paths are limited to 108 bytes: keep the runtime dir short.
	rt, err := os.MkdirTemp("", "pt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rt, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	s := &Server{t: t, Dir: dir, StateDir: filepath.Join(dir, "state"), RuntimeDir: rt, Config: filepath.Join(dir, "postern.toml")}
	s.writeConfig(o)
	if !o.NoStart {
		s.Start()
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *Server) writeConfig(o Options) {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname = %q\nstate_dir = %q\nruntime_dir = %q\n%s\n", "mail.example.test", s.StateDir, s.RuntimeDir, o.ExtraTop)
	b.WriteString("[listen]\n")
	for _, name := range defaultListen {
		addr := "127.0.0.1:0"
		if name == "lmtp" {
			addr = "unix:lmtp.sock"
		}
		if v, ok := o.Listen[name]; ok {
			addr = v
		}
		fmt.Fprintf(&b, "%s = %q\n", name, addr)
	}
	b.WriteString("\n[smtp]\nreject_unknown_sender_domain = false\n")
	b.WriteString(o.SMTP)
	b.WriteString("\n\n[tls]\nself_signed = true\n\n")
	b.WriteString("[log]\nformat = \"logfmt\"\nlevel = \"debug\"\n\n")
	b.WriteString(o.Extra)
	if err := os.WriteFile(s.Config, []byte(b.String()), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// Start launches `postern serve` and blocks until it reports READY=1 through sd_notify,
// then reads the bound addresses from `postern status --json`.
func (s *Server) Start() {
	t := s.t
	t.Helper()
	notifyPath := filepath.Join(s.RuntimeDir, "notify.sock")
	os.Remove(notifyPath)
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()

	cmd := exec.Command(bin, "serve", "--config", s.Config)
	cmd.Env = append(append(os.Environ(), s.Env...), "NOTIFY_SOCKET="+notifyPath, "GOCOVERDIR="+coverDir)
	stderr, w, err := s.logPipe(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close() // the daemon holds its own copy; the reader sees EOF when it exits
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	logDone := make(chan struct{})
	go s.pumpLog(stderr, logDone)
	go func() {
		<-logDone
		err := cmd.Wait()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(exited)
	}()

	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := notify.ReadFromUnix(buf)
			if err != nil {
				ready <- err
				return
			}
			if bytes.Contains(buf[:n], []byte("READY=1")) {
				ready <- nil
				return
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("waiting for READY=1: %v", err)
		}
	case <-exited:
		t.Fatalf("postern serve exited before it was ready: %v", s.ExitErr())
	case <-time.After(30 * time.Second):
		t.Fatal("postern serve did not become ready within 30s")
	}
	var st struct {
		Version   string            `json:"version"`
		Listeners map[string]string `json:"listeners"`
	}
	out := s.MustCLI("status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	s.Addrs = st.Listeners
}

// logPipe connects the daemon's stdout and stderr to a pipe, announced as the journal
// stream when s.Journal is set, and returns its ends.
func (s *Server) logPipe(cmd *exec.Cmd) (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = w, w
	if s.Journal {
		fi, err := w.Stat()
		if err != nil {
			return nil, nil, err
		}
		st := fi.Sys().(*syscall.Stat_t)
		cmd.Env = append(cmd.Env, fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	}
	return r, w, nil
}

func (s *Server) pumpLog(r io.ReadCloser, done chan<- struct{}) {
	defer close(done)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.logLines = append(s.logLines, line)
		s.mu.Unlock()
		s.t.Log("server: " + line)
	}
}

// Log returns the server's log lines so far.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logLines...)
}

// ExitErr is the result of the last run's Wait (nil = exit 0).
func (s *Server) ExitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitErr
}

// Running reports whether the server process is still up.
func (s *Server) Running() bool {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// Signal sends sig to the server and, if wait > 0, waits up to wait for it to exit. It
// returns how long the exit took, or an error if it did not exit in time.
func (s *Server) Signal(sig syscall.Signal, wait time.Duration) (time.Duration, error) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil || !s.Running() {
		return 0, errors.New("not running")
	}
	start := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		return 0, err
	}
	if wait <= 0 {
		return 0, nil
	}
	select {
	case <-exited:
		return time.Since(start), nil
	case <-time.After(wait):
		return time.Since(start), fmt.Errorf("still running %v after %v", sig, wait)
	}
}

// Stop ends the server: SIGTERM, then SIGKILL after 10 s.
func (s *Server) Stop() {
	if !s.Running() {
		return
	}
	if _, err := s.Signal(syscall.SIGTERM, 10*time.Second); err != nil {
		s.t.Errorf("server did not stop on SIGTERM: %v", err)
		s.Kill()
	}
}

// Kill is kill -9: no chance to clean up.
func (s *Server) Kill() {
	if !s.Running() {
		return
	}
	_, _ = s.Signal(syscall.SIGKILL, 10*time.Second)
}

// Restart stops the server gracefully and starts it again on the same state.
func (s *Server) Restart() {
	s.Stop()
	s.Start()
}

// CLIResult is one run of the postern CLI.
type CLIResult struct {
	Stdout, Stderr string
	Code           int
}

// CLI runs `postern --config FILE args...` with stdin and returns what it printed.
func (s *Server) CLI(stdin string, args ...string) CLIResult {
	return runCLI(s.t, s.Config, stdin, nil, args...)
}

// MustCLI runs the CLI and fails the test unless it exits 0.
func (s *Server) MustCLI(args ...string) string {
	s.t.Helper()
	r := s.CLI("", args...)
	if r.Code != 0 {
		s.t.Fatalf("postern %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

func runCLI(t testing.TB, config, stdin string, attr *syscall.SysProcAttr, args ...string) CLIResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--config", config}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Env = append(os.Environ(), "GOCOVERDIR="+coverDir)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = attr
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running postern %v: %v", args, err)
	}
	return CLIResult{Stdout: out.String(), Stderr: errb.String(), Code: code}
}
