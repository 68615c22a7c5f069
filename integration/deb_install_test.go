package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDebInstallUnderSystemd is issue 16's check as a user would make it: a clean Debian
// 12 (mmdebstrap, minbase) booted with systemd as PID 1 (systemd-nspawn -b, its own
// network namespace, so all traffic stays on the container's loopback); there `apt
// install ./postern_*.deb` leaves postern.service running with the self-signed setup
// postinst wrote; `postern status` answers; `sendmail` run as nobody delivers with the
// daemon up and, through the maildrop, while it is stopped (delivered at start); swaks
// delivers over port 25; `man postern` renders; removing an unknown user exits 67; the
// shipped fail2ban filter finds failed logins in the journal; a broken config fails the unit at journal priority err without a restart loop; an
// upgrade keeps the edited config and restarts the service; `apt remove` stops it and
// keeps the mail.
func TestDebInstallUnderSystemd(t *testing.T) {
	mmdebstrap := needTool(t, "mmdebstrap")
	nspawn := needTool(t, "systemd-nspawn")
	nsenter := needTool(t, "nsenter")
	needRoot(t, "mmdebstrap and systemd-nspawn")
	deb := makeDeb(t)
	t.Parallel() // the rest runs beside the other tests: only `make deb` touches the checkout

	root := filepath.Join(t.TempDir(), "debian12")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	boot := exec.CommandContext(ctx, mmdebstrap, "--variant=minbase", "--quiet",
		"--include=systemd,systemd-sysv,dbus,adduser,ca-certificates,man-db,util-linux,swaks,libnet-ssleay-perl,libio-socket-ssl-perl,fail2ban,python3-systemd", "bookworm", root)
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("mmdebstrap: %v\n%s", err, out)
	}
	pkg := "/root/" + filepath.Base(deb) // not /tmp: nspawn mounts a fresh tmpfs there
	copyFile(t, deb, filepath.Join(root, pkg), 0o644)

	c := bootContainer(t, ctx, nspawn, nsenter, root)
	if out, code := c.run("", "apt-get", "install", "-y", pkg); code != 0 || !strings.Contains(out, "Setting up postern") {
		t.Fatalf("apt install %s: exit %d\n%s", pkg, code, out)
	}
	c.waitActive("postern")
	if out, code := c.run("", "postern", "status"); code != 0 || !strings.Contains(out, "state dir") {
		t.Fatalf("postern status: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"domain", "add", "example.test"}, {"user", "add", "alice@example.test", "--password-stdin"}} {
		if out, code := c.run("correct horse battery\n", append([]string{"postern"}, args...)...); code != 0 {
			t.Fatalf("postern %v: exit %d\n%s", args, code, out)
		}
	}
	inbox := filepath.Join(root, "var/lib/postern/mail/example.test/alice")
	asNobody := []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sendmail", "alice@example.test"}

	if out, code := c.run("Subject: from nobody, daemon up\n\nhi\n", asNobody...); code != 0 {
		t.Fatalf("sendmail as nobody: exit %d\n%s", code, out)
	}
	waitSubjects(t, inbox, "from nobody, daemon up")
	if out, code := c.run("", "swaks", "--server", "127.0.0.1:25", "--to", "alice@example.test", "--from", "someone@example.org",
		"--header", "Subject: over port 25"); code != 0 {
		t.Fatalf("swaks to port 25: exit %d\n%s", code, out)
	}
	waitSubjects(t, inbox, "over port 25")

	c.mustRun("systemctl", "stop", "postern")
	if out, code := c.run("Subject: from nobody, daemon down\n\nhi\n", asNobody...); code != 0 {
		t.Fatalf("sendmail as nobody, daemon stopped: exit %d\n%s", code, out)
	}
	c.mustRun("systemctl", "start", "postern")
	c.waitActive("postern")
	waitSubjects(t, inbox, "from nobody, daemon down")

	if out, code := c.run("", "man", "-P", "cat", "postern"); code != 0 || !strings.Contains(out, "POSTERN(8)") {
		t.Errorf("man postern: exit %d\n%.300s", code, out)
	}
	if out, code := c.run("", "man", "-P", "cat", "5", "postern.toml"); code != 0 || !strings.Contains(out, "state_dir") {
		t.Errorf("man 5 postern.toml: exit %d\n%.300s", code, out)
	}
	if out, code := c.run("", "postern", "user", "remove", "nobody@example.test"); code != 67 {
		t.Errorf("postern user remove nobody@example.test: exit %d, want 67 (EX_NOUSER)\n%s", code, out)
	}

	debFailedLoginsInJournal(t, c)
	debBrokenConfig(t, c)
	debUpgradeAndRemove(t, c, pkg, inbox)
}

// debFailedLoginsInJournal: failed SMTP AUTHs are in the journal, and the fail2ban filter
// the package ships finds them there through fail2ban's systemd backend (the jail's).
func debFailedLoginsInJournal(t *testing.T, c *container) {
	for range 3 {
		if out, code := c.run("", "swaks", "--server", "127.0.0.1:587", "--tls", "--quit-after", "AUTH", "--auth", "PLAIN",
			"--auth-user", "alice@example.test", "--auth-password", "not the password"); code == 0 || !strings.Contains(out, "535 5.7.8") {
			t.Fatalf("AUTH with a wrong password: exit %d, want a 535 5.7.8 refusal\n%s", code, out)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		out, _ := c.run("", "fail2ban-regex", "systemd-journal", "/etc/fail2ban/filter.d/postern.conf")
		if strings.Contains(out, "Failregex: 3 total") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fail2ban-regex over the journal does not find the 3 failed logins:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond) // polling journald, which writes asynchronously
	}
}

// debBrokenConfig: a config the daemon cannot load fails the unit, its error is in the
// journal at priority err, and systemd does not restart it (RestartPreventExitStatus=78).
func debBrokenConfig(t *testing.T, c *container) {
	const conf = "/etc/postern/postern.toml"
	good := c.mustRun("cat", conf)
	c.mustRun("sh", "-c", "echo 'no_such_setting = 1' >> "+conf)
	if out, code := c.run("", "systemctl", "restart", "postern"); code == 0 {
		t.Errorf("systemctl restart with a broken config succeeded:\n%s", out)
	}
	if out := c.mustRun("journalctl", "-u", "postern", "-p", "err", "-o", "cat", "--no-pager"); !strings.Contains(out, "no_such_setting") {
		t.Errorf("journalctl -p err does not show the config error:\n%s", out)
	}
	if out := c.mustRun("systemctl", "show", "-p", "ExecMainStatus", "-p", "NRestarts", "postern"); !strings.Contains(out, "ExecMainStatus=78") || !strings.Contains(out, "NRestarts=0") {
		t.Errorf("after a broken config: %s, want ExecMainStatus=78 and no restart", out)
	}
	if out, code := c.run(good, "sh", "-c", "cat > "+conf); code != 0 {
		t.Fatalf("restoring the config: %s", out)
	}
	c.mustRun("systemctl", "reset-failed", "postern")
	c.mustRun("systemctl", "start", "postern")
	c.waitActive("postern")
}

// debUpgradeAndRemove: installing the package again (an upgrade) keeps the owner's edit
// of the config and restarts the service; removing it stops the daemon and keeps the mail.
func debUpgradeAndRemove(t *testing.T, c *container, pkg, inbox string) {
	const conf = "/etc/postern/postern.toml"
	c.mustRun("sh", "-c", "echo '# edited by the owner' >> "+conf)
	before := c.mustRun("systemctl", "show", "-p", "MainPID", "postern")
	if out, code := c.run("", "dpkg", "-i", pkg); code != 0 {
		t.Fatalf("dpkg -i (upgrade): exit %d\n%s", code, out)
	}
	if !strings.Contains(c.mustRun("cat", conf), "# edited by the owner") {
		t.Error("the upgrade replaced the edited config")
	}
	c.waitActive("postern")
	if after := c.mustRun("systemctl", "show", "-p", "MainPID", "postern"); after == before {
		t.Errorf("the upgrade did not restart the daemon (%s)", strings.TrimSpace(after))
	}
	if out, code := c.run("", "apt-get", "remove", "-y", "postern"); code != 0 {
		t.Fatalf("apt remove: exit %d\n%s", code, out)
	}
	if out, _ := c.run("", "systemctl", "is-active", "postern"); strings.TrimSpace(out) == "active" {
		t.Error("the daemon still runs after apt remove")
	}
	if got := rxFindSubject(t, inbox, "over port 25"); len(got) != 1 {
		t.Errorf("after apt remove the mail is gone: %d messages", len(got))
	}
}

// container is a Debian booted by systemd-nspawn, entered with nsenter.
type container struct {
	t       *testing.T
	nsenter string
	leader  int // the container's PID 1, seen from here
}

// bootContainer boots root with systemd as PID 1 and waits until it has started (or
// degraded). The container is powered off at the end of the test.
func bootContainer(t *testing.T, ctx context.Context, nspawn, nsenter, root string) *container {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.CommandContext(ctx, nspawn, "--register=no", "--keep-unit", "--quiet", "--boot",
		"--private-network", "--directory", root)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // nspawn: an orderly poweroff of the container
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	c := &container{t: t, nsenter: nsenter}
	for deadline := time.Now().Add(2 * time.Minute); ; {
		select {
		case err := <-exited:
			t.Fatalf("systemd-nspawn exited: %v\n%s", err, log.String())
		default:
		}
		if c.leader == 0 {
			c.leader = firstChild(cmd.Process.Pid)
		}
		if c.leader != 0 {
			if out, _ := c.run("", "systemctl", "is-system-running", "--wait"); strings.Contains(out, "running") || strings.Contains(out, "degraded") {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container did not boot within 2 minutes\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond) // polling for PID 1 and its bus, not waiting blind
	}
}

// firstChild is the first child process of pid, or 0.
func firstChild(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// run runs a command inside the container as root, with stdin, and returns its output
// and exit status.
func (c *container) run(stdin string, args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(c.nsenter, append([]string{"-t", strconv.Itoa(c.leader), "-a", "--"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		return string(out) + err.Error(), -1
	}
	return string(out), 0
}

func (c *container) mustRun(args ...string) string {
	c.t.Helper()
	out, code := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("%v in the container: exit %d\n%s", args, code, out)
	}
	return out
}

// waitActive waits until unit is active (Type=notify: the daemon said READY=1).
func (c *container) waitActive(unit string) {
	c.t.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		out, _ := c.run("", "systemctl", "is-active", unit)
		if strings.TrimSpace(out) == "active" {
			return
		}
		if time.Now().After(deadline) {
			st, _ := c.run("", "systemctl", "status", "--no-pager", "-l", unit)
			c.t.Fatalf("%s is %q after a minute\n%s", unit, strings.TrimSpace(out), st)
		}
		time.Sleep(100 * time.Millisecond) // polling systemd's state
	}
}
