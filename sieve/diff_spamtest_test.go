package sieve

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The differential test of spamtest's and virustest's settings: the main suite reads
// X-Spam-Score out of 15 (our default); here each case configures Pigeonhole's
// sieve_spamtest_* (sieve_virustest_*) one way and our engine the same way (the
// ScoreSource that server/config builds from [sieve.spamtest] or [sieve.virustest] with
// the same ParseStatusHeader), and every message must get the same spamtest and
// spamtestplus (virustest) values from both. Like the main suite it runs only with
// POSTERN_SIEVE_DIFF=1.

// spamtestValues flags the message with spamtest's value (v0..v10) and spamtestplus's
// percentage in steps of ten (p0..p100).
func spamtestValues() string {
	var b strings.Builder
	b.WriteString(`require ["spamtestplus", "relational", "comparator-i;ascii-numeric", "imap4flags"];` + "\n")
	for n := 0; n <= 10; n++ {
		fmt.Fprintf(&b, "if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"%d\" { addflag \"v%d\"; }\n", n, n)
	}
	for p := 0; p <= 100; p += 10 {
		fmt.Fprintf(&b, "if spamtest :percent :value \"ge\" :comparator \"i;ascii-numeric\" \"%d\" { addflag \"p%d\"; }\n", p, p)
	}
	b.WriteString("keep;\n")
	return b.String()
}

// virustestValues flags the message with virustest's value (v0..v5). RFC 5235 gives
// virustest no :percent (virustestPercent must not compile, in either engine).
func virustestValues() string {
	var b strings.Builder
	b.WriteString(`require ["virustest", "relational", "comparator-i;ascii-numeric", "imap4flags"];` + "\n")
	for n := 0; n <= 5; n++ {
		fmt.Fprintf(&b, "if virustest :value \"eq\" :comparator \"i;ascii-numeric\" \"%d\" { addflag \"v%d\"; }\n", n, n)
	}
	b.WriteString("keep;\n")
	return b.String()
}

const virustestPercent = `require ["virustest", "spamtestplus", "relational", "comparator-i;ascii-numeric", "imap4flags"];
if virustest :percent :value "ge" :comparator "i;ascii-numeric" "50" { addflag "p50"; }
`

type spamtestSetting struct {
	name     string
	virus    bool              // virustest and sieve_virustest_*, else spamtest and sieve_spamtest_*
	settings map[string]string // sieve_spamtest_* (sieve_virustest_*) without the prefix
	headers  []string          // one message per header line
}

func (c spamtestSetting) prefix() string {
	if c.virus {
		return "virustest"
	}
	return "spamtest"
}

func (c spamtestSetting) sources(t *testing.T) []ScoreSource {
	t.Helper()
	src := ScoreSource{Type: ScoreNumber}
	switch c.settings["status_type"] {
	case "strlen":
		src.Type = ScoreStrlen
	case "text":
		src.Type = ScoreText
		src.Text = map[int]string{}
	}
	var err error
	if src.Header, src.Pattern, err = ParseStatusHeader(c.settings["status_header"]); err != nil {
		t.Fatal(err)
	}
	if h := c.settings["max_header"]; h != "" {
		if src.MaxHeader, src.MaxPattern, err = ParseStatusHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if v := c.settings["max_value"]; v != "" {
		if _, err := fmt.Sscan(v, &src.Max); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i <= 10; i++ {
		if v, ok := c.settings[fmt.Sprintf("text_value%d", i)]; ok {
			src.Text[i] = v
		}
	}
	return []ScoreSource{src}
}

var spamtestSettings = []spamtestSetting{
	{"rspamd result with its max", false, map[string]string{"status_type": "score",
		"status_header": `X-Spamd-Result: \[[[:space:]]*(-?[[:digit:]]+(\.[[:digit:]]+)?)[[:space:]]*/`,
		"max_header":    `X-Spamd-Result: /[[:space:]]*([[:digit:]]+(\.[[:digit:]]+)?)[[:space:]]*\]`},
		[]string{"X-Spamd-Result: default: False [0.00 / 15.00]", "X-Spamd-Result: default: False [4.50 / 15.00]",
			"X-Spamd-Result: default: True [12.00 / 20.00]", "X-Spamd-Result: default: True [30.00 / 15.00]",
			"X-Spamd-Result: default: False [-2.10 / 15.00]", "X-Spamd-Result: garbage", "X-Other: 1"}},
	{"a header of its own, a fractional max", false, map[string]string{"status_type": "score",
		"status_header": "X-Custom-Score", "max_value": "7.5"},
		[]string{"X-Custom-Score: 0", "X-Custom-Score: 3.75", "X-Custom-Score: 7.5", "X-Custom-Score: 100",
			"X-Custom-Score: -1", "X-Custom-Score: high", "X-Other: 1"}},
	{"stars", false, map[string]string{"status_type": "strlen", "status_header": "X-Spam-Level", "max_value": "5"},
		[]string{"X-Spam-Level: ", "X-Spam-Level: *", "X-Spam-Level: ***", "X-Spam-Level: *****", "X-Spam-Level: **********", "X-Other: 1"}},
	{"texts", false, map[string]string{"status_type": "text", "status_header": "X-Verdict",
		"text_value1": "clean", "text_value5": "unsure", "text_value10": "spam"},
		[]string{"X-Verdict: clean", "X-Verdict: unsure", "X-Verdict: spam", "X-Verdict: other", "X-Other: 1"}},
	{"texts from 0", false, map[string]string{"status_type": "text", "status_header": "X-Verdict",
		"text_value0": "ham", "text_value3": "probably ham", "text_value9": "probably spam"},
		[]string{"X-Verdict: ham", "X-Verdict: probably ham", "X-Verdict: probably spam", "X-Verdict: spam"}},
	{"virus score", true, map[string]string{"status_type": "score", "status_header": "X-Virus-Score", "max_value": "5"},
		[]string{"X-Virus-Score: 0", "X-Virus-Score: 1", "X-Virus-Score: 2.5", "X-Virus-Score: 4.99", "X-Virus-Score: 5",
			"X-Virus-Score: 9", "X-Virus-Score: -3", "X-Virus-Score: none", "X-Other: 1"}},
	{"virus score, a max header", true, map[string]string{"status_type": "score",
		"status_header": `X-Virus-Result: ([[:digit:]]+(\.[[:digit:]]+)?) of`, "max_header": `X-Virus-Result: of ([[:digit:]]+)`},
		[]string{"X-Virus-Result: 0 of 10", "X-Virus-Result: 3 of 10", "X-Virus-Result: 7.5 of 10", "X-Virus-Result: 10 of 10",
			"X-Virus-Result: 3 of 0", "X-Virus-Result: 3", "X-Other: 1"}},
	{"virus stars", true, map[string]string{"status_type": "strlen", "status_header": "X-Virus-Level", "max_value": "5"},
		[]string{"X-Virus-Level: ", "X-Virus-Level: *", "X-Virus-Level: ***", "X-Virus-Level: *****", "X-Virus-Level: ********", "X-Other: 1"}},
	{"virus texts", true, map[string]string{"status_type": "text", "status_header": `X-Virus-Scan: Found to be (.+)\.`,
		"text_value1": "clean", "text_value3": "suspicious", "text_value5": "infected"},
		[]string{"X-Virus-Scan: Found to be clean.", "X-Virus-Scan: Found to be suspicious.", "X-Virus-Scan: Found to be infected.",
			"X-Virus-Scan: Found to be harmless.", "X-Virus-Scan: not scanned", "X-Other: 1"}},
	{"virus texts from 0", true, map[string]string{"status_type": "text", "status_header": "X-Virus",
		"text_value0": "none", "text_value2": "adware", "text_value4": "trojan", "text_value5": "worm"},
		[]string{"X-Virus: none", "X-Virus: adware", "X-Virus: trojan", "X-Virus: worm", "X-Virus: other"}},
}

func TestDifferentialSpamtestSettings(t *testing.T) {
	if os.Getenv("POSTERN_SIEVE_DIFF") != "1" {
		t.Skip("set POSTERN_SIEVE_DIFF=1 to compare with Pigeonhole's sieve-test")
	}
	bin, err := exec.LookPath("sieve-test")
	if err != nil {
		t.Fatalf("POSTERN_SIEVE_DIFF=1 but sieve-test is missing: %v", err)
	}
	agree, total := 0, 0
	for _, c := range spamtestSettings {
		script := []byte(spamtestValues())
		if c.virus {
			script = []byte(virustestValues())
		}
		work, err := os.MkdirTemp("", "sievediff")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(work)
		mustChmod(t, work)
		var plugin strings.Builder
		plugin.WriteString("  sieve_extensions = +spamtest +spamtestplus +virustest\n")
		for k, v := range c.settings {
			fmt.Fprintf(&plugin, "  sieve_%s_%s = %s\n", c.prefix(), k, v)
		}
		conf := filepath.Join(work, "dovecot.conf")
		writeFile(t, conf, "mail_uid = 65534\nmail_gid = 65534\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"+
			"plugin {\n  sieve = file:"+work+"/personal\n  sieve_global = "+work+"/global\n"+plugin.String()+"}\n")
		src := c.sources(t)
		for _, h := range c.headers {
			total++
			msg := []byte(h + "\r\nFrom: a@example.org\r\nSubject: score\r\n\r\nbody\r\n")
			ours := spamtestOutcome(t, script, msg, c.virus, src)
			theirs, detail := pigeonholeOutcome(t, bin, conf, work, script, msg)
			if ours != theirs {
				t.Errorf("%s, %q differs\n--- ours:\n%s--- pigeonhole:\n%s%s", c.name, h, ours, theirs, detail)
				continue
			}
			agree++
		}
		if c.virus && c.settings["status_type"] == "text" {
			// virustest has no :percent: both refuse the script.
			total++
			msg := []byte(c.headers[0] + "\r\nFrom: a@example.org\r\n\r\nbody\r\n")
			ours := spamtestOutcome(t, []byte(virustestPercent), msg, true, src)
			theirs, detail := pigeonholeOutcome(t, bin, conf, work, []byte(virustestPercent), msg)
			if ours != theirs || !strings.HasPrefix(ours, "error compile") {
				t.Errorf("virustest :percent: ours %q, pigeonhole %q%s", ours, theirs, detail)
			} else {
				agree++
			}
		}
	}
	t.Logf("spamtest and virustest settings: %d/%d agree", agree, total)
}

func spamtestOutcome(t *testing.T, script, msg []byte, virus bool, src []ScoreSource) string {
	t.Helper()
	s, err := Compile("script", script, CompileOptions{})
	if err != nil {
		return FormatOutcome(err)
	}
	spam, vir := src, []ScoreSource(nil)
	if virus {
		spam, vir = nil, src
	}
	res, err := s.Execute(context.Background(), NewRawMessage(msg), Envelope{From: diffFrom, To: diffTo, User: diffTo},
		ExecOptions{SpamTest: spam, VirusTest: vir, MailboxExists: func(_ context.Context, name string) bool { return strings.EqualFold(name, "INBOX") }})
	if err != nil {
		return FormatOutcome(err)
	}
	return FormatOutcome(res)
}
