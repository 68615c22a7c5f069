package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeFailureUnderJournal: when `postern serve` cannot start and its standard error
// is the journal's stream ($JOURNAL_STREAM names it), the reason carries priority err
// (<3>), so `journalctl -p err -u postern` shows why the unit failed; on any other
// output the line is plain.
func TestServeFailureUnderJournal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "postern.toml")
	if err := os.WriteFile(cfg, []byte("no_such_key = 1\nother_key = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, journal := range []bool{true, false} {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("stderr-%v", journal)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		if journal {
			env["JOURNAL_STREAM"] = fmt.Sprintf("%d:%d", st.Dev, st.Ino)
		}
		code := run([]string{"/usr/bin/postern", "serve", "--config", cfg}, strings.NewReader(""), os.Stdout, f,
			func(k string) string { return env[k] })
		if code != exitConfig {
			t.Errorf("journal=%v: exit %d for a config that cannot be loaded, want %d (EX_CONFIG)", journal, code, exitConfig)
		}
		out, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		want := "postern: "
		if journal {
			want = "<3>postern: "
		}
		if !strings.HasPrefix(string(out), want) || !strings.Contains(string(out), "no_such_key") {
			t.Errorf("journal=%v: stderr %q, want a line starting %q naming the bad key", journal, out, want)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			if journal && !strings.HasPrefix(line, "<3>") {
				t.Errorf("a line of the error is not at priority err: %q", line)
			}
		}
	}
}
