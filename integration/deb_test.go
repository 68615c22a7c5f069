package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDebPackage: `make deb` builds a package lintian has no error for, that provides,
// conflicts with and replaces mail-transport-agent, ships everything an install needs, and
// whose unit passes `systemd-analyze verify` in the unpacked tree and lets the daemon make
// its setgid maildrop. (Installing it here would remove the Postfix the other tests use:
// TestDebInstallUnderSystemd installs it in a Debian 12 booted by systemd-nspawn.)
//
// Not parallel: `make deb` writes bin/postern, as TestMakeInstall's `make install` does.
func TestDebPackage(t *testing.T) {
	lintian := needTool(t, "lintian")
	analyze := needTool(t, "systemd-analyze")
	deb := makeDeb(t)
	lint, _ := exec.Command(lintian, "--tag-display-limit", "0", deb).CombinedOutput()
	for _, l := range strings.Split(string(lint), "\n") {
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "W: ") {
			t.Errorf("lintian: %s", l)
		}
	}
	control, err := exec.Command("dpkg-deb", "-f", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -f: %v %s", err, control)
	}
	for _, want := range []string{"Package: postern", "Architecture: amd64", "Provides: mail-transport-agent",
		"Conflicts: mail-transport-agent", "Replaces: mail-transport-agent"} {
		if !strings.Contains(string(control), want+"\n") {
			t.Errorf("control lacks %q:\n%s", want, control)
		}
	}
	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-R", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -R: %v %s", err, out)
	}
	for _, f := range []string{"usr/bin/postern", "usr/sbin/sendmail", "usr/lib/sendmail", "usr/bin/mailq",
		"lib/systemd/system/postern.service", "usr/lib/sysusers.d/postern.conf", "usr/lib/tmpfiles.d/postern.conf",
		"usr/share/man/man8/postern.8.gz", "usr/share/man/man5/postern.toml.5.gz", "usr/share/man/man8/sendmail.8.gz",
		"usr/share/bash-completion/completions/postern", "usr/share/zsh/vendor-completions/_postern",
		"usr/share/doc/postern/examples/postern.toml", "usr/share/doc/postern/copyright",
		"etc/fail2ban/filter.d/postern.conf", "DEBIAN/postinst", "DEBIAN/prerm", "DEBIAN/postrm"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the package lacks %s: %v", f, err)
		}
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if out, err := exec.Command("sh", "-n", filepath.Join(root, "DEBIAN", s)).CombinedOutput(); err != nil {
			t.Errorf("%s: %v %s", s, err, out)
		}
	}
	// The commented default config it ships is complete and valid.
	if r := runCLIBin(t, filepath.Join(root, "usr/bin/postern"), "config", "check", filepath.Join(root, "usr/share/doc/postern/examples/postern.toml")); r.Code != 0 {
		t.Errorf("shipped example config: %s", r.Stderr)
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "/bin/kill", filepath.Join(root, "bin/kill"), 0o755)
	for _, u := range []string{"sysinit.target", "basic.target", "shutdown.target", "multi-user.target",
		"network-online.target", "network.target", "sockets.target", "paths.target", "timers.target",
		"slices.target", "local-fs.target", "swap.target", "system.slice", "-.slice"} {
		if _, err := os.Stat("/lib/systemd/system/" + u); err == nil {
			copyFile(t, "/lib/systemd/system/"+u, filepath.Join(root, "lib/systemd/system", u), 0o644)
		}
	}
	unitRefusesSetgid(t, filepath.Join(root, "lib/systemd/system/postern.service"))
	if out, err := exec.Command(analyze, "verify", "--root="+root, "/lib/systemd/system/postern.service").CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// makeDeb runs `make deb` and moves the package it names into a temporary directory
// (so that tests beside it do not see it in bin/); it returns its path there.
func makeDeb(t *testing.T) string {
	t.Helper()
	needTool(t, "make")
	needTool(t, "dpkg-deb")
	out, err := exec.Command("make", "-s", "--no-print-directory", "-C", "..", "deb").CombinedOutput()
	if err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	built := filepath.Join("..", lines[len(lines)-1])
	if !strings.HasSuffix(built, "_amd64.deb") || !strings.HasPrefix(filepath.Base(built), "postern_") {
		t.Fatalf("make deb built %q, want postern_VERSION_amd64.deb", built)
	}
	deb := filepath.Join(t.TempDir(), filepath.Base(built))
	copyFile(t, built, deb, 0o644)
	if err := os.Remove(built); err != nil {
		t.Fatal(err)
	}
	return deb
}

// unitRefusesSetgid fails the test when the unit forbids setgid bits
// (RestrictSUIDSGID=yes): the daemon makes its maildrop (3733) and pickup (2730)
// directories setgid, so under such a unit it stops at start with "chmod ... operation
// not permitted", as it did when the package was first installed under systemd.
func unitRefusesSetgid(t *testing.T, unit string) {
	t.Helper()
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok && k == "RestrictSUIDSGID" && !slices.Contains([]string{"no", "false", "off", "0"}, strings.ToLower(strings.TrimSpace(v))) {
			t.Errorf("%s: %s: the daemon cannot create its setgid maildrop under it", unit, l)
		}
	}
}
