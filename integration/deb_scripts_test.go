package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebScriptsStopAndRestart: the package's maintainer scripts, run as dpkg runs them
// on a systemd machine, stop the daemon before dpkg removes or replaces its files (prerm
// remove, upgrade, deconfigure) and start it again through postinst (here its
// abort-upgrade path, which restarts what prerm stopped when an upgrade fails). The
// scripts run with stand-ins for deb-systemd-invoke, deb-systemd-helper and systemctl
// that record their calls, and with "systemd is running" pointed at a directory of the
// test: nothing on this machine is touched.
func TestDebScriptsStopAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	running := filepath.Join(dir, "run-systemd-system")
	calls := filepath.Join(dir, "calls")
	for _, d := range []string{bin, running} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"deb-systemd-invoke", "deb-systemd-helper", "systemctl"} {
		stub := "#!/bin/sh\necho \"" + tool + " $*\" >> " + calls + "\n"
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "packaging", "deb", name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "/run/systemd/system", running)), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(name string, args ...string) string {
		t.Helper()
		os.Remove(calls)
		cmd := exec.Command("sh", append([]string{script(name)}, args...)...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v %s", name, args, err, out)
		}
		b, _ := os.ReadFile(calls)
		return string(b)
	}
	for _, args := range [][]string{{"remove"}, {"upgrade", "0.9.0"}, {"deconfigure", "in-favour", "exim4", "4.96"}} {
		if got := run("prerm", args...); got != "deb-systemd-invoke stop postern.service\n" {
			t.Errorf("prerm %v called %q, want the service stopped", args, got)
		}
	}
	// failed-upgrade: the new prerm is run because the old one failed; nothing to stop.
	if got := run("prerm", "failed-upgrade", "0.9.0"); got != "" {
		t.Errorf("prerm failed-upgrade called %q, want nothing", got)
	}
	got := run("postinst", "abort-upgrade", "0.9.0")
	if !strings.HasSuffix(got, "systemctl --system daemon-reload\ndeb-systemd-invoke restart postern.service\n") {
		t.Errorf("postinst abort-upgrade called %q, want daemon-reload then restart", got)
	}
	// Without systemd running, the scripts leave services alone.
	if err := os.Remove(running); err != nil {
		t.Fatal(err)
	}
	if got := run("prerm", "upgrade", "0.9.0"); got != "" {
		t.Errorf("prerm upgrade without systemd called %q", got)
	}
}
