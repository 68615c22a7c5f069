package backup

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func ownerOf(t *testing.T, p string) (int, int) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// TestOutsideFiles: the files the config names outside the state directory go into
// the backup with their paths and modes, and back where the config in use names them;
// what is there already and differs, or is no longer named, is put aside to compare.
func TestOutsideFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	state := t.TempDir()
	st := openStore(t, state)
	defer st.Close()
	etc := t.TempDir()
	key := filepath.Join(etc, "tls", "key.pem")
	writeFile(t, key, "private", 0o600)
	writeFile(t, filepath.Join(etc, "tls", "cert.pem"), "public", 0o644)
	writeFile(t, filepath.Join(etc, "global", "spam.sieve"), "keep;", 0o640)
	writeFile(t, filepath.Join(etc, "postern.toml"), "hostname = 'a'\n", 0o640)
	writeFile(t, filepath.Join(state, "selfsigned.crt"), "in state", 0o644)
	asRoot := os.Geteuid() == 0
	if asRoot {
		os.Chown(key, 4242, 4242) // the service user's on the old machine
	}
	named := []Named{{ConfigKey, filepath.Join(etc, "postern.toml")}, {"tls.key", key}, {"tls.cert", filepath.Join(etc, "tls", "cert.pem")},
		{"relay.ca_file", filepath.Join(etc, "tls", "cert.pem")}, {"sieve.global_dir", filepath.Join(etc, "global")},
		{"acme.dns_credentials", filepath.Join(etc, "gone.toml")}, {"tls.state", filepath.Join(state, "selfsigned.crt")}}
	dest := filepath.Join(t.TempDir(), "b")
	m, err := Take(ctx, st, state, dest, named)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range m.Outside {
		keys = append(keys, f.Key)
		if b, err := os.Stat(filepath.Join(dest, f.Stored)); err != nil || b.Mode().Perm() != f.Mode {
			t.Errorf("%s stored as %v (%v), recorded %v", f.Key, b.Mode(), err, f.Mode)
		}
	}
	if want := []string{"config", "tls.key", "tls.cert", "relay.ca_file", "sieve.global_dir"}; !slices.Equal(keys, want) {
		t.Errorf("outside keys %q, want %q", keys, want)
	}
	if len(m.Skipped) != 1 || !strings.Contains(m.Skipped[0], "acme.dns_credentials") {
		t.Errorf("skipped %q", m.Skipped)
	}
	if fi, err := os.Stat(filepath.Join(dest, outsideDir, strings.TrimPrefix(key, "/"))); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key in the backup: %v %v", fi, err)
	}

	// The new machine: the config names the key and the Sieve directory elsewhere,
	// its own config differs, and tls.cert is no longer set.
	etc2 := t.TempDir()
	writeFile(t, filepath.Join(etc2, "postern.toml"), "hostname = 'b'\n", 0o640)
	writeFile(t, filepath.Join(etc2, "ca.pem"), "public", 0o644)
	targets := map[string]string{ConfigKey: filepath.Join(etc2, "postern.toml"), "tls.key": filepath.Join(etc2, "ssl", "key.pem"),
		"sieve.global_dir": filepath.Join(etc2, "global"), "relay.ca_file": filepath.Join(etc2, "ca.pem")}
	spill := filepath.Join(t.TempDir(), "restored-files")
	owner := [2]int{-1, -1}
	if asRoot {
		owner = [2]int{5555, 5556}
	}
	lines, err := RestoreOutside(ctx, dest, m, targets, spill, owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.Join(lines, "\n"))
	if b, err := os.ReadFile(targets["tls.key"]); err != nil || string(b) != "private" {
		t.Fatalf("key not restored: %q %v", b, err)
	}
	if fi, _ := os.Stat(targets["tls.key"]); fi.Mode().Perm() != 0o600 {
		t.Errorf("restored key has mode %v", fi.Mode())
	}
	if fi, err := os.Stat(filepath.Join(targets["sieve.global_dir"], "spam.sieve")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("global Sieve script not restored with its mode: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(targets[ConfigKey]); string(b) != "hostname = 'b'\n" {
		t.Errorf("the config in use was overwritten: %q", b)
	}
	if b, err := os.ReadFile(filepath.Join(spill, ConfigKey, "postern.toml")); err != nil || string(b) != "hostname = 'a'\n" {
		t.Errorf("the backed-up config is not put aside: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(spill, "tls.cert", "cert.pem")); err != nil {
		t.Errorf("the certificate the config no longer names is not put aside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(spill, "relay.ca_file")); err == nil {
		t.Error("relay.ca_file, the same as what is there, was put aside")
	}
	if asRoot {
		if u, g := ownerOf(t, targets["tls.key"]); u != 5555 || g != 5556 {
			t.Errorf("the key belongs to %d:%d, want the service user 5555:5556", u, g)
		}
		if u, _ := ownerOf(t, filepath.Join(targets["sieve.global_dir"], "spam.sieve")); u != 0 {
			t.Errorf("a root-owned file was restored to uid %d", u)
		}
	}
}
