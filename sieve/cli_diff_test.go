package sieve

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDifferentialCLI runs the real `postern sieve test` binary and Pigeonhole's
// sieve-test side by side over the differential corpus (testdata/diff) and the include
// corpus (testdata/clidiff, whose personal/ and global/ directories are what include
// :personal and :global find, for both programs). It checks the whole path a user
// takes: flags, files, include directories, --mailboxes and the printed outcome.
// Like TestDifferentialPigeonhole it runs only with POSTERN_SIEVE_DIFF=1.
func TestDifferentialCLI(t *testing.T) {
	if os.Getenv("POSTERN_SIEVE_DIFF") != "1" {
		t.Skip("set POSTERN_SIEVE_DIFF=1 to compare postern sieve test with Pigeonhole's sieve-test")
	}
	pigeon, err := exec.LookPath("sieve-test")
	if err != nil {
		t.Fatalf("POSTERN_SIEVE_DIFF=1 but sieve-test is missing: %v", err)
	}
	postern := filepath.Join(t.TempDir(), "postern")
	if out, err := exec.Command("go", "build", "-o", postern, "../cmd/postern").CombinedOutput(); err != nil {
		t.Fatalf("building postern: %v\n%s", err, out)
	}
	scripts, _ := filepath.Glob("testdata/diff/*.sieve")
	more, _ := filepath.Glob("testdata/clidiff/*.sieve")
	scripts = append(scripts, more...)
	msgs, _ := filepath.Glob("testdata/diff/msgs/*.eml")
	if len(more) == 0 || len(msgs) == 0 {
		t.Fatal("empty corpus")
	}
	work, err := os.MkdirTemp("", "sieveclidiff")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	mustChmod(t, work)
	conf := filepath.Join(work, "dovecot.conf")
	writeFile(t, conf, "mail_uid = 65534\nmail_gid = 65534\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"+
		"plugin {\n  sieve = file:"+work+"/personal\n  sieve_global = "+work+"/global\n"+diffPluginSettings+"}\n")
	for _, d := range []string{"personal", "global"} {
		_ = os.MkdirAll(filepath.Join(work, d), 0o777)
		incs, _ := filepath.Glob(filepath.Join("testdata/clidiff", d, "*.sieve"))
		for _, p := range incs {
			src, _ := os.ReadFile(p)
			writeFile(t, filepath.Join(work, d, filepath.Base(p)), string(src))
		}
	}
	_ = exec.Command("chmod", "-R", "a+rwX", work).Run()
	agree, total := 0, 0
	for _, sp := range scripts {
		script, _ := os.ReadFile(sp)
		for _, mp := range msgs {
			total++
			msg, _ := os.ReadFile(mp)
			name := filepath.Base(sp) + "/" + filepath.Base(mp)
			var out, errb bytes.Buffer
			cmd := exec.Command(postern, "sieve", "test", "--script", sp, "--message", mp,
				"--from", diffFrom, "--to", diffTo, "--mailboxes", "Archive",
				"--personal", filepath.Join(work, "personal"), "--global", filepath.Join(work, "global"))
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			ours := out.String()
			if compileErr := strings.HasPrefix(ours, "error compile"); (err != nil) != compileErr {
				t.Errorf("%s: exit %v with outcome %q (stderr %q): exit 1 is for scripts that do not compile", name, err, ours, errb.String())
			}
			theirs, detail := pigeonholeOutcome(t, pigeon, conf, work, script, msg)
			if ours == theirs {
				agree++
				continue
			}
			t.Errorf("%s differs\n--- postern sieve test:\n%s--- pigeonhole:\n%s%s", name, ours, theirs, detail)
		}
	}
	t.Logf("postern sieve test vs sieve-test: %d/%d agree", agree, total)
}
