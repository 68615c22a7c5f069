package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeInstall: `make install DESTDIR=...` lays out the binary, its sendmail and mailq
// names, the unit, sysusers/tmpfiles entries and a config; the unit passes
// `systemd-analyze verify` against that tree.
func TestMakeInstall(t *testing.T) {
	t.Parallel()
	needTool(t, "make")
	analyze := needTool(t, "systemd-analyze")
	dest := t.TempDir()
	out, err := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest).CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for _, f := range []string{
		"usr/bin/postern", "usr/sbin/sendmail", "usr/bin/mailq", "lib/systemd/system/postern.service",
		"usr/lib/sysusers.d/postern.conf", "usr/lib/tmpfiles.d/postern.conf", "etc/postern/postern.toml",
		"usr/share/doc/postern/postern.toml.example",
	} {
		if _, err := os.Stat(filepath.Join(dest, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dest, "etc/postern/relay.password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("relay.password placeholder: %v %v, want mode 0600", fi, err)
	}
	// The installed config is complete and valid.
	if r := runCLIBin(t, filepath.Join(dest, "usr/bin/postern"), "config", "check", filepath.Join(dest, "etc/postern/postern.toml")); r.Code != 0 {
		t.Fatalf("installed config: %s", r.Stderr)
	}
	// sendmail is Postern under another name.
	link, err := os.Readlink(filepath.Join(dest, "usr/sbin/sendmail"))
	if err != nil || link != "../bin/postern" {
		t.Fatalf("sendmail link %q %v", link, err)
	}
	if r := runCLIBin(t, filepath.Join(dest, "usr/sbin/sendmail"), "--version"); !strings.Contains(r.Stdout+r.Stderr, "postern") {
		t.Fatalf("usr/sbin/sendmail is not postern: %q %q", r.Stdout, r.Stderr)
	}
	installed, _ := os.ReadFile(filepath.Join(dest, "lib/systemd/system/postern.service"))
	repo, _ := os.ReadFile("../packaging/postern.service")
	if string(installed) != string(repo) {
		t.Fatal("installed unit differs from packaging/postern.service")
	}

	// systemd-analyze verify resolves ExecStart and the targets inside --root: give the
	// tree what a real system has.
	if err := os.MkdirAll(filepath.Join(dest, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, "/bin/kill", filepath.Join(dest, "bin/kill"), 0o755)
	for _, u := range []string{"sysinit.target", "basic.target", "shutdown.target", "multi-user.target",
		"network-online.target", "network.target", "sockets.target", "paths.target", "timers.target",
		"slices.target", "local-fs.target", "swap.target", "system.slice", "-.slice"} {
		if _, err := os.Stat("/lib/systemd/system/" + u); err == nil {
			copyFile(t, "/lib/systemd/system/"+u, filepath.Join(dest, "lib/systemd/system", u), 0o644)
		}
	}
	cmd := exec.Command(analyze, "verify", "--root="+dest, "/lib/systemd/system/postern.service")
	out, err = cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}

// runCLIBin runs another postern binary (an installed copy) with args.
func runCLIBin(t *testing.T, path string, args ...string) CLIResult {
	t.Helper()
	cmd := exec.Command(path, args...)
	var r CLIResult
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r.Stdout, r.Stderr = so.String(), se.String()
	return r
}
