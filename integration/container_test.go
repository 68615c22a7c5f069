package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// podmanFlags are what lets podman run containers on a host without systemd as PID 1, with
// cgroups v1 beside a cgroup2 mount (crun refuses that hybrid; runc runs it), no
// CAP_SYS_RESOURCE (podman's default rlimits cannot be raised: set ours below the host's),
// and storage of the test's own in a temp dir (vfs: no overlay-on-overlay).
func podmanFlags(root, runroot string) []string {
	return []string{"--root", root, "--runroot", runroot, "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", "runc"}
}

// TestContainerImage builds packaging/Dockerfile (FROM scratch: nothing pulled from a
// registry) with podman from the staged binary and CA bundle, runs it as its uid 2525 with
// a config on loopback ports (host network: test traffic stays on 127.0.0.1), creates a
// user inside it, sends a message in over SMTP and reads it back over IMAPS.
func TestContainerImage(t *testing.T) {
	t.Parallel()
	podman := needTool(t, "podman")
	needTool(t, "runc")
	dir := t.TempDir()
	runroot, err := os.MkdirTemp("", "pr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runroot) })
	pm := func(timeout time.Duration, args ...string) (string, error) {
		cmd := exec.Command("timeout", append([]string{fmt.Sprint(int(timeout.Seconds())), podman}, append(podmanFlags(filepath.Join(dir, "storage"), runroot), args...)...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	ctx := filepath.Join(dir, "ctx")
	if out, err := exec.Command("sh", "-c", "cd .. && packaging/image-root.sh \"$0\" \"$1\"", bin, ctx).CombinedOutput(); err != nil {
		t.Fatalf("image-root.sh: %v\n%s", err, out)
	}
	image := "localhost/postern-itest:" + filepath.Base(dir)
	if out, err := pm(5*time.Minute, "build", "-q", "-f", filepath.Join(ctx, "Dockerfile"), "-t", image, ctx); err != nil {
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	t.Cleanup(func() { pm(time.Minute, "rmi", "-f", image) })

	cfgDir, state := filepath.Join(dir, "config"), filepath.Join(dir, "state")
	for _, d := range []string{cfgDir, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(state, 2525, 2525); err != nil {
		t.Fatalf("chown state dir (the test runs as root in CI): %v", err)
	}
	smtpPort, imapsPort := reservePort(t), reservePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "hostname = \"mail.example.test\"\nstate_dir = \"/var/lib/postern\"\nruntime_dir = \"/run/postern\"\n\n[listen]\n")
	for _, name := range defaultListen {
		fmt.Fprintf(&cfg, "%s = \"\"\n", name)
	}
	cfgText := strings.Replace(cfg.String(), "smtp = \"\"", fmt.Sprintf("smtp = \"127.0.0.1:%d\"", smtpPort), 1)
	cfgText = strings.Replace(cfgText, "imaps = \"\"", fmt.Sprintf("imaps = \"127.0.0.1:%d\"", imapsPort), 1)
	cfgText += "\n[smtp]\nreject_unknown_sender_domain = false\n\n[tls]\nself_signed = true\n"
	if err := os.WriteFile(filepath.Join(cfgDir, "postern.toml"), []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}

	name := "postern-itest-" + filepath.Base(dir)
	out, err := pm(2*time.Minute, "run", "-d", "--name", name, "--network", "host",
		"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"-v", cfgDir+":/etc/postern:ro", "-v", state+":/var/lib/postern", image)
	if err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := pm(time.Minute, "logs", name)
			t.Logf("container log:\n%s", logs)
		}
		pm(time.Minute, "rm", "-f", "-t", "5", name)
	})
	smtpAddr, imapsAddr := fmt.Sprintf("127.0.0.1:%d", smtpPort), fmt.Sprintf("127.0.0.1:%d", imapsPort)
	waitListening(t, smtpAddr, 60*time.Second, func() string { s, _ := pm(time.Minute, "inspect", "-f", "{{.State.Status}}", name); return s })

	// The daemon is not root: its uid on the host is the image's 2525.
	pid, err := pm(time.Minute, "inspect", "-f", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatalf("inspect: %v %s", err, pid)
	}
	status, err := os.ReadFile("/proc/" + strings.TrimSpace(pid) + "/status")
	if err != nil || !strings.Contains(string(status), "\nUid:\t2525\t2525\t2525\t2525\n") {
		t.Fatalf("the container's process is not uid 2525: %v\n%s", err, status)
	}

	for _, args := range [][]string{{"domain", "add", "example.test"}} {
		if out, err := pm(time.Minute, append([]string{"exec", name, "/usr/bin/postern"}, args...)...); err != nil {
			t.Fatalf("postern %v in the container: %v\n%s", args, err, out)
		}
	}
	add := exec.Command("timeout", append([]string{"60", podman}, append(podmanFlags(filepath.Join(dir, "storage"), runroot),
		"exec", "-i", name, "/usr/bin/postern", "user", "add", "alice@example.test", "--password-stdin")...)...)
	add.Stdin = strings.NewReader("container-secret\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add in the container: %v\n%s", err, out)
	}

	msg := "From: bob@example.org\r\nTo: alice@example.test\r\nSubject: from outside the container\r\n\r\nhello, container\r\n"
	if err := sendOverSTARTTLS(smtpAddr, "bob@example.org", "alice@example.test", msg); err != nil {
		t.Fatalf("SMTP into the container: %v", err)
	}
	body := imapFetchFirst(t, imapsAddr, "alice@example.test", "container-secret", 30*time.Second)
	if !strings.Contains(body, "hello, container") || !strings.Contains(body, "Subject: from outside the container") {
		t.Fatalf("IMAP read back %q", body)
	}
}

// sendOverSTARTTLS sends msg with STARTTLS against the self-signed certificate.
func sendOverSTARTTLS(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// waitListening polls addr until it accepts, failing with state() if it does not in time.
func waitListening(t testing.TB, addr string, within time.Duration, state func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after %v (container %s): %v", addr, within, strings.TrimSpace(state()), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// imapFetchFirst logs in over IMAPS and returns INBOX message 1, polling until it is there.
func imapFetchFirst(t testing.TB, addr, user, pass string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("IMAPS dial: %v", err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		cmd := func(tag, line string) string {
			fmt.Fprintf(c, "%s %s\r\n", tag, line)
			var all strings.Builder
			for {
				l, err := r.ReadString('\n')
				all.WriteString(l)
				if err != nil || strings.HasPrefix(l, tag+" ") {
					return all.String()
				}
			}
		}
		r.ReadString('\n')
		if res := cmd("a", fmt.Sprintf("LOGIN %q %q", user, pass)); !strings.Contains(res, "a OK") {
			t.Fatalf("IMAP LOGIN: %q", res)
		}
		sel := cmd("b", "SELECT INBOX")
		if !strings.Contains(sel, "* 0 EXISTS") {
			res := cmd("c", "FETCH 1 BODY.PEEK[]")
			c.Close()
			return res
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("no message in INBOX after %v: %q", within, sel)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
