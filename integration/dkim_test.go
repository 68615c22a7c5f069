package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDKIMSignedMailVerifies: outgoing mail carries a DKIM signature that an independent
// verifier (python3-dkim, Debian's) accepts against the record `postern dkim keygen`
// printed, for both key types.
func TestDKIMSignedMailVerifies(t *testing.T) {
	t.Parallel()
	py := needPythonModule(t, "dkim", "python3-dkim")
	for _, algo := range []string{"rsa", "ed25519"} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			st := newRelayStub(t, "starttls")
			st.Start()
			s := sxServer(t, st, st.RelayConfig(t, "", 0o400), "[dkim]\nsign_via_relay = true\n")
			out := s.MustCLI("dkim", "keygen", "example.test", "--algo", algo, "--selector", "s1")
			m := regexp.MustCompile(`s1\._domainkey\.example\.test\.? IN TXT (.*)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("keygen printed no TXT record:\n%s", out)
			}
			txt := strings.Join(regexp.MustCompile(`"([^"]*)"`).FindAllString(m[1], -1), "")
			txt = strings.ReplaceAll(txt, `"`, "")

			subject := "signed " + algo
			if out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls"}, append(sxAuth("PLAIN", sxPassword),
				"--from", "alice@example.test", "--to", "bob@example.org", "--header", "Subject: "+subject)...)...); code != 0 {
				t.Fatalf("swaks: %s", out)
			}
			ms := st.WaitFor(60*time.Second, "the signed message", func(ms []stubMessage) bool { return len(withSubject(ms, subject)) == 1 })
			msg := withSubject(ms, subject)[0]
			if !strings.Contains(msg.Body, "DKIM-Signature:") {
				t.Fatalf("no DKIM-Signature in the relayed message:\n%s", msg.Body)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "msg.eml")
			if err := os.WriteFile(path, []byte(msg.Body), 0o600); err != nil {
				t.Fatal(err)
			}
			script := `import sys, dkim
data = open(sys.argv[1], "rb").read()
def dns(name, timeout=5):
    assert name == b"s1._domainkey.example.test.", name
    return sys.argv[2].encode()
ok = dkim.verify(data, dnsfunc=dns)
print("verified" if ok else "FAILED")
sys.exit(0 if ok else 1)
`
			cmd := exec.Command(py, "-c", script, path, txt)
			res, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(res), "verified") {
				t.Fatalf("python3-dkim does not verify the signature: %v\n%s\n--- message ---\n%s", err, res, msg.Body)
			}
		})
	}
}

// needPythonModule finds a python3 that can import module (Debian's packages live in
// /usr/bin/python3's path). Missing: skip, or fail under CI=true.
func needPythonModule(t testing.TB, module, pkg string) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if p, err := exec.LookPath(py); err == nil {
			if exec.Command(p, "-c", "import "+module).Run() == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("python module %s is missing; CI must install %s (.ci/deps)", module, pkg)
	}
	t.Skipf("python module %s (%s) is not installed", module, pkg)
	return ""
}
