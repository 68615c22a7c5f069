package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const dovecotPassword = "dovecot-Passw0rd"

// dovecotState is migratePy's dump.
type dovecotState struct {
	Folders map[string]struct {
		UIDValidity int               `json:"uidvalidity"`
		UIDNext     int               `json:"uidnext"`
		Messages    int               `json:"messages"`
		Flags       map[string]string `json:"flags"`
		SpecialUse  string            `json:"special_use"`
	} `json:"folders"`
	Subscribed []string `json:"subscribed"`
}

func runMigratePy(t *testing.T, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "migrate.py")
	if err := os.WriteFile(path, []byte(migratePy), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "python3", append([]string{path}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("migrate.py %s: %v\n%s\n%s", args[0], err, out, stderr)
	}
	return string(out)
}

func dumpIMAP(t *testing.T, port string, tls bool) dovecotState {
	t.Helper()
	var st dovecotState
	out := runMigratePy(t, "dump", "127.0.0.1", port, "alice@example.test", dovecotPassword, map[bool]string{true: "1", false: "0"}[tls])
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("dump: %v\n%s", err, out)
	}
	return st
}

// mbsyncrcFor writes one mbsync configuration for alice's local copy, pointed at imap.
func mbsyncrcFor(t *testing.T, path, local, port, sslType, cert string) {
	t.Helper()
	extra := ""
	if cert != "" {
		extra = "CertificateFile " + cert + "\n"
	}
	rc := fmt.Sprintf(`IMAPAccount alice
Host 127.0.0.1
Port %s
User alice@example.test
Pass %s
SSLType %s
%sAuthMechs LOGIN

IMAPStore remote
Account alice

MaildirStore local
Inbox %s
SubFolders Maildir++

Channel alice
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
`, port, dovecotPassword, sslType, extra, local)
	if err := os.WriteFile(path, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func runMbsync(t *testing.T, rc string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "mbsync", "-c", rc, "alice").CombinedOutput()
	if err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
}

// TestImportFromDovecot is the move a user makes: a real Dovecot holds alice's mail
// (put there over LMTP, IMAP and ManageSieve), mbsync has a local copy, and after
// `postern import passwd-file` and `postern import dovecot` Postern shows every folder
// with the same UIDVALIDITY, UIDNEXT, message count and per-UID flags; alice logs in
// with her Dovecot password; the same mbsync configuration pointed at Postern
// transfers nothing; her active Sieve script files the next delivery as Dovecot did.
func TestImportFromDovecot(t *testing.T) {
	t.Parallel()
	needDovecot(t)
	needTool(t, "mbsync")
	dv := startDovecot(t, map[string]string{
		"alice@example.test": doveadmHash(t, "SHA512-CRYPT", dovecotPassword),
		"bob@example.test":   doveadmHash(t, "BLF-CRYPT", "bob-Passw0rd"),
	})
	runMigratePy(t, "populate", "127.0.0.1", strconv.Itoa(dv.IMAP), strconv.Itoa(dv.LMTP), strconv.Itoa(dv.ManageSieve), "alice@example.test", dovecotPassword)
	want := dumpIMAP(t, strconv.Itoa(dv.IMAP), false)
	if f := want.Folders["Archive"]; f.Messages != 1 {
		t.Fatalf("Dovecot's Sieve did not file the sorted message into Archive: %+v", want.Folders)
	}
	if len(want.Folders["Lists/golang"].Flags) != 4 || want.Folders["INBOX"].Messages != 5 {
		t.Fatalf("Dovecot state not as populated: %+v", want)
	}
	if want.Folders["&AMk-t&AOk-"].SpecialUse != `\Archive` || want.Folders["Archive"].SpecialUse != "" || !slices.Contains(want.Subscribed, "Gone") {
		t.Fatalf("Dovecot did not take the special-use config or keep the subscription of a deleted folder: %+v", want)
	}

	dir := t.TempDir()
	local := filepath.Join(dir, "local")
	rc := filepath.Join(dir, "mbsyncrc")
	mbsyncrcFor(t, rc, local, strconv.Itoa(dv.IMAP), "None", "")
	runMbsync(t, rc)
	dv.stop(t)

	s := NewServer(t, Options{NoStart: true})
	if r := s.CLI("", "import", "passwd-file", dv.Users); r.Code != 0 || !strings.Contains(r.Stdout, "created") {
		t.Fatalf("import passwd-file: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	// doveconf -n (includes done by Dovecot itself) on stdin, in a dry run.
	doveconf, err := exec.Command("doveconf", "-c", dv.Conf, "-n").Output()
	if err != nil {
		t.Fatalf("doveconf -n: %v", err)
	}
	if r := s.CLI(string(doveconf), "import", "dovecot", "--dry-run", "--dovecot-conf", "-", "alice@example.test", dv.home("alice@example.test")); r.Code != 0 ||
		!strings.Contains(r.Stdout, "would import") || !regexp.MustCompile(`(?m)^Été .*\\Archive`).MatchString(r.Stdout) {
		t.Fatalf("import dovecot --dry-run --dovecot-conf -: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	imp := func() string {
		start := time.Now()
		r := s.CLI("", "import", "dovecot", "--dovecot-conf", dv.Conf, "--users", dv.Users, "--home", filepath.Join(dv.Root, "mail", "%d", "%n"))
		if r.Code != 0 {
			t.Fatalf("import dovecot: %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
		}
		t.Logf("import took %v:\n%s", time.Since(start), r.Stdout)
		return r.Stdout
	}
	if out := imp(); !strings.Contains(out, "sieve: stored rules (active)") {
		t.Fatalf("the active script was not imported:\n%s", out)
	}
	if out := imp(); !strings.Contains(out, "imported 0 of") || !strings.Contains(out, "unchanged rules") {
		t.Fatalf("a second import changed something:\n%s", out)
	}
	s.Start()

	got := dumpIMAP(t, portOf(t, s.Addrs["imaps"]), true)
	for name, f := range want.Folders {
		g, ok := got.Folders[name]
		if !ok {
			t.Errorf("folder %s missing in Postern", name)
			continue
		}
		if !reflect.DeepEqual(g, f) {
			t.Errorf("folder %s differs:\n dovecot %+v\n postern %+v", name, f, g)
		}
	}
	if len(got.Folders) != len(want.Folders) {
		t.Errorf("Postern has folders %v, Dovecot had %v", keys(got.Folders), keys(want.Folders))
	}
	if !reflect.DeepEqual(got.Subscribed, want.Subscribed) {
		t.Errorf("subscriptions: postern %q, dovecot %q", got.Subscribed, want.Subscribed)
	}

	var hash string
	if err := rxOpenIndex(t, s).QueryRow("SELECT password_hash FROM users WHERE address = 'alice@example.test'").Scan(&hash); err != nil || !strings.HasPrefix(hash, "$argon2id$") {
		t.Errorf("alice's Dovecot hash was not replaced by argon2id at her first login: %q %v", hash, err)
	}

	before := mbSnapshot(t, local)
	mbsyncrcFor(t, rc, local, portOf(t, s.Addrs["imaps"]), "IMAPS", selfSignedCert(t, s))
	runMbsync(t, rc)
	if after := mbSnapshot(t, local); !reflect.DeepEqual(before, after) {
		t.Errorf("mbsync against Postern changed the local copy:\n before %q\n after  %q", before, after)
	}
	if again := dumpIMAP(t, portOf(t, s.Addrs["imaps"]), true); !reflect.DeepEqual(again, got) {
		t.Errorf("mbsync against Postern changed the server:\n before %+v\n after  %+v", got, again)
	}

	if out, code := rxSwaks(t, s, "--to", "alice@example.test", "--from", "bob@example.org", "--header", "Subject: sorted under postern"); code != 0 {
		t.Fatalf("swaks: %s", out)
	}
	if got := rxFindSubject(t, filepath.Join(rxUserDir(s, "alice@example.test"), ".Archive"), "sorted under postern"); len(got) != 1 {
		t.Fatal("the imported Sieve script did not file the delivery into Archive")
	}

	// Leaving: the export, put where Dovecot looks for alice's Maildir, is what Postern
	// served, UIDs and all.
	final := dumpIMAP(t, portOf(t, s.Addrs["imaps"]), true)
	s.Stop()
	out := filepath.Join(dir, "export")
	if r := s.CLI("", "export", "alice@example.test", out); r.Code != 0 {
		t.Fatalf("export: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	if r := s.CLI("", "export", "--mbox", "alice@example.test", filepath.Join(dir, "mbox")); r.Code != 0 {
		t.Fatalf("export --mbox: %d %s %s", r.Code, r.Stdout, r.Stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "mbox", "Lists", "golang.mbox")); err != nil || strings.Count(string(b), "\nFrom MAILER-DAEMON ")+1 != 4 {
		t.Errorf("Lists/golang.mbox does not hold its 4 messages: %v", err)
	}
	md := filepath.Join(dv.home("alice@example.test"), "Maildir")
	if err := os.Rename(md, md+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(out, md); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("chown", "-R", "nobody:nogroup", md).Run(); err != nil {
		t.Fatal(err)
	}
	dv.start(t)
	back := dumpIMAP(t, strconv.Itoa(dv.IMAP), false)
	if !reflect.DeepEqual(back, final) {
		t.Errorf("Dovecot reading the export differs from what Postern served:\n postern %+v\n dovecot %+v", final, back)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func selfSignedCert(t *testing.T, s *Server) string {
	t.Helper()
	var cert string
	filepath.Walk(s.StateDir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == "selfsigned.crt" {
			cert = p
		}
		return nil
	})
	if cert == "" {
		t.Fatal("no selfsigned.crt under the state dir")
	}
	return cert
}
