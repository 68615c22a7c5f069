package integration

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file runs Dovecot's imaptest against the real binary over IMAPS, as issue 15
// says: its scripted compliance suite (71 groups; Dovecot 2.3 passes them all) and its
// stress run (the default profile with state tracking, 10 clients for 30 s), where
// every "Error:" line is a protocol or state violation. imaptest's source and build.sh
// come from ../shared/imaptest beside the repository; it is built once per tarball into
// the user's cache directory.

func TestImaptest(t *testing.T) {
	bin := imaptestBinary(t)
	s := NewServer(t, Options{})
	rxSetup(t, s, "itest")
	port := s.Addrs["imaps"][strings.LastIndexByte(s.Addrs["imaps"], ':')+1:]
	tests := filepath.Join(filepath.Dir(bin), "tests")
	args := []string{"host=127.0.0.1", "port=" + port, "user=itest@example.test", "pass=" + imapPassword, "ssl=any-cert"}

	t.Run("compliance", func(t *testing.T) {
		out := runImaptest(t, bin, 10*time.Minute, append(args, "test="+tests)...)
		m := regexp.MustCompile(`(?m)^(\d+) test groups: (\d+) failed, (\d+) skipped`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no summary from imaptest:\n%s", out)
		}
		t.Logf("imaptest: %s", m[0])
		// Every group passes, as for Dovecot 2.3: none allowed to fail, none skipped.
		failing := map[string]bool{}
		for _, g := range regexp.MustCompile(`(?m)^\*\*\* Test (\S+) command`).FindAllStringSubmatch(out, -1) {
			if !failing[g[1]] {
				failing[g[1]] = true
				t.Errorf("imaptest group %s fails", g[1])
			}
		}
		if m[1] != "71" || m[2] != "0" || m[3] != "0" {
			t.Errorf("want 71 groups, none failed or skipped: %s", m[0])
		}
		if t.Failed() {
			t.Logf("imaptest output:\n%s", out)
		}
	})

	t.Run("stress", func(t *testing.T) {
		mbox := stressMbox(t)
		out := runImaptest(t, bin, 3*time.Minute, append(args, "mbox="+mbox, "secs=30", "clients=10")...)
		var errs []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "Error:") {
				errs = append(errs, l)
			}
		}
		total := imaptestTotal(t, out)
		t.Logf("imaptest stress: %d commands in 30 s (%.1f/s), %d errors", total, float64(total)/30, len(errs))
		if total == 0 {
			t.Errorf("no commands ran:\n%s", out)
		}
		if len(errs) > 0 {
			t.Errorf("%d errors, first: %s", len(errs), strings.Join(errs[:min(len(errs), 10)], "\n"))
		}
		if !s.Running() {
			t.Fatal("the daemon died under imaptest")
		}
		// Ten sessions of one user for 30 s: bounded memory, not one buffer per message.
		if hwm := memPeakKiB(t, s); hwm > 512*1024 {
			t.Errorf("daemon peak RSS %d KiB after the stress run", hwm)
		} else {
			t.Logf("daemon peak RSS %d KiB", hwm)
		}
	})
}

// imaptestTotal sums the "Totals:" line's counters (one per command kind).
func imaptestTotal(t *testing.T, out string) int {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Totals:") && i+4 < len(lines) {
			n := 0
			for _, f := range strings.Fields(lines[i+4]) {
				v, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("Totals line %q: %v", lines[i+4], err)
				}
				n += v
			}
			return n
		}
	}
	t.Fatalf("no Totals in imaptest's output:\n%s", out)
	return 0
}

func runImaptest(t *testing.T, bin string, limit time.Duration, args ...string) string {
	t.Helper()
	cmd := exec.Command("timeout", append([]string{strconv.Itoa(int(limit.Seconds())), bin}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		// imaptest exits non-zero when a test fails; the output says which.
		t.Logf("imaptest exited: %v", err)
	}
	return string(out)
}

// imaptestBinary builds imaptest from ../shared/imaptest with its build.sh (once per
// tarball and build script, cached) and returns the binary's path. A missing source or
// build tool skips the test, and fails it under CI=true.
func imaptestBinary(t *testing.T) string {
	t.Helper()
	// ../shared beside the repository root (the CI clone); POSTERN_SHARED names it
	// when the checkout lives elsewhere (a worktree).
	shared := os.Getenv("POSTERN_SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "shared")
	}
	src, err := filepath.Abs(filepath.Join(shared, "imaptest"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "build.sh")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("imaptest source not found at %s (the CI clone has ../shared beside it)", src)
		}
		t.Skipf("imaptest source not found at %s", src)
	}
	for _, tool := range []string{"bash", "make", "gcc", "autoconf", "automake", "libtoolize", "pkg-config", "timeout"} {
		needTool(t, tool)
	}
	if _, err := os.Stat("/usr/include/dovecot/imap-parser.h"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dovecot-dev is not installed; CI must install it (.ci/deps)")
		}
		t.Skip("dovecot-dev is not installed")
	}
	key := hashFiles(t, filepath.Join(src, "build.sh"), filepath.Join(src, "imaptest-924f619.tar.gz"))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "postern-imaptest", key[:16])
	bin := filepath.Join(dir, "src", "imaptest")
	if fi, err := os.Stat(bin); err == nil && fi.Mode()&0o111 != 0 {
		return bin
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	out, err := exec.Command("bash", filepath.Join(src, "build.sh"), tmp).CombinedOutput()
	if err != nil {
		t.Fatalf("building imaptest: %v\n%s", err, out)
	}
	// The build directory is the final one only once complete: a half build is never
	// taken for a cached one. (configure records its path, so build where it lands.)
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(bin); serr != nil {
			t.Fatalf("caching the imaptest build: %v", err)
		}
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("imaptest build left no binary: %v", err)
	}
	return bin
}

func hashFiles(t *testing.T, paths ...string) string {
	t.Helper()
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(fmt.Errorf("hashing %s: %w", p, err))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stressMbox writes the messages imaptest's stress run appends: 200 of them, plain text
// from half a KiB to tens of KiB, every fourth multipart with a base64 attachment (as
// ../shared/imaptest/run.sh makes them).
func stressMbox(t *testing.T) string {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "From sender%d@client.test Mon Jan  2 10:00:00 2023\nFrom: Sender %d <sender%d@client.test>\n"+
			"To: <itest@example.test>\nSubject: stress message %d\nDate: Mon, 2 Jan 2023 10:%02d:00 +0000\n"+
			"Message-ID: <stress%d@client.test>\n", i%20, i%20, i%20, i, i%60, i)
		var text strings.Builder
		for j := range 5 + r.IntN(596) {
			fmt.Fprintf(&text, "line %d of message %d %s\n", j, i, strings.Repeat("lorem ipsum ", 1+r.IntN(6)))
		}
		if i%4 == 0 {
			att := make([]byte, 1000+r.IntN(29000))
			for k := range att {
				att[k] = byte(r.UintN(256))
			}
			enc := base64Lines(att)
			fmt.Fprintf(&b, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n"+
				"Content-Type: text/plain\n\n%s\n--b%d\nContent-Type: application/octet-stream\n"+
				"Content-Transfer-Encoding: base64\n\n%s--b%d--\n", i, i, text.String(), i, enc, i)
		} else {
			b.WriteString("\n" + text.String())
		}
		b.WriteString("\n")
	}
	p := filepath.Join(t.TempDir(), "stress.mbox")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func base64Lines(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	return b.String()
}
