package config

import (
	"context"
	"strings"
	"testing"

	"github.com/postern/postern/sieve"
)

// spamtestValue runs "spamtest :value eq want" with the sources of c's [sieve] spamtest
// on a message with header hdr, and says whether it matched.
func spamtestValue(t *testing.T, c *Config, hdr, want string) bool {
	t.Helper()
	src, err := c.Sieve.SpamSources()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sieve.Compile("t", []byte(`require ["fileinto", "spamtest", "relational", "comparator-i;ascii-numeric"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "`+want+`" { fileinto "Hit"; }`), sieve.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg := sieve.NewRawMessage([]byte(hdr + "\r\nSubject: x\r\n\r\nbody\r\n"))
	res, err := sc.Execute(context.Background(), msg, sieve.Envelope{}, sieve.ExecOptions{SpamTest: src})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Actions {
		if f, ok := a.(sieve.FileInto); ok && f.Mailbox == "Hit" {
			return true
		}
	}
	return false
}

func TestSpamTestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, hdr, want string
	}{
		// The built-in: X-Spam-Score out of 15, X-Spamd-Result out of its own max.
		{"default X-Spam-Score", "", "X-Spam-Score: 7.5", "5"},
		{"default X-Spamd-Result", "", "X-Spamd-Result: default: False [10.00 / 20.00]", "5"},
		{"default no header", "", "X-Other: 1", "0"},
		// A configured header and max (an integer or a float in the file).
		{"header and max", "[sieve.spamtest]\nstatus_header = \"X-Score\"\nmax_value = 4\n", "X-Score: 4", "10"},
		{"float max", "[sieve.spamtest]\nstatus_header = \"X-Score\"\nmax_value = 20.0\n", "X-Score: 2", "1"},
		{"configured header ignores the default one", "[sieve.spamtest]\nstatus_header = \"X-Score\"\nmax_value = 10.0\n", "X-Spam-Score: 15", "0"},
		{"regex capture", "[sieve.spamtest]\nstatus_header = \"X-Spamd-Result: \\\\[ *([0-9.]+) */\"\nmax_value = 10.0\n", "X-Spamd-Result: default: True [10.00 / 15.00]", "10"},
		{"max from a header", "[sieve.spamtest]\nstatus_header = \"X-Score\"\nmax_header = \"X-Max\"\n", "X-Score: 3\r\nX-Max: 6", "5"},
		{"strlen", "[sieve.spamtest]\nstatus_type = \"strlen\"\nstatus_header = \"X-Spam-Level\"\nmax_value = 5.0\n", "X-Spam-Level: *****", "10"},
		{"text", "[sieve.spamtest]\nstatus_type = \"text\"\nstatus_header = \"X-Verdict\"\ntext_values = [\"ham\", \"\", \"\", \"\", \"\", \"\", \"\", \"\", \"\", \"spam\"]\n", "X-Verdict: spam", "10"},
		{"text value 0", "[sieve.spamtest]\nstatus_type = \"text\"\nstatus_header = \"X-Verdict\"\ntext_value0 = \"clean\"\ntext_values = [\"ham\"]\n", "X-Verdict: clean", "1"},
	} {
		c, err := Parse([]byte(valid+tc.doc), file)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !spamtestValue(t, c, tc.hdr, tc.want) {
			t.Errorf("%s: spamtest of %q is not %s", tc.name, tc.hdr, tc.want)
		}
	}
}

func TestSieveConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ doc, want string }{
		{"[sieve.spamtest]\nmax_value = \"15\"\n", `sieve.spamtest.max_value: expected a number (15 or 7.5), got a string`},
		{"[sieve.spamtest]\nstatus_header = \"X-Score\"\n", `sieve.spamtest: max_value: must be above 0`},
		{"[sieve.spamtest]\nstatus_header = \"X-Score: (\"\n", `sieve.spamtest: status_header:`},
		{"[sieve.spamtest]\nstatus_type = \"stars\"\n", `"stars" is not allowed`},
		{"[sieve.virustest]\nstatus_type = \"text\"\nstatus_header = \"X-Virus\"\ntext_values = [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\"]\n", `text_values: at most 5 values`},
		{"[[sieve.imapsieve]]\nmailbox = \"Junk\"\n", `names no script`},
		{"[[sieve.imapsieve]]\nmailbox = \"Junk\"\npersonal = \"x\"\ncauses = [\"MOVE\"]\n", `"MOVE" is not APPEND, COPY or FLAG`},
		{"[[sieve.imapsieve]]\nmailbox = \"[\"\npersonal = \"x\"\n", `"[" is not a valid pattern`},
		{"[[sieve.imapsieve]]\npersonal = \"x\"\n", `mailbox`},
	} {
		_, err := Parse([]byte(valid+tc.doc), file)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestIMAPSieveRuleCauses(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(valid+"[[sieve.imapsieve]]\nmailbox = \"Junk\"\nbefore = \"learn.sieve\"\n[[sieve.imapsieve]]\nmailbox = \"*\"\ncauses = [\"flag\"]\npersonal = \"flags\"\n"), file)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Sieve.IMAPSieve
	if len(r) != 2 || r[0].Before != "/etc/postern/learn.sieve" {
		t.Fatalf("rules %+v", r)
	}
	if got := strings.Join(r[0].RuleCauses(), ","); got != "APPEND,COPY" {
		t.Errorf("default causes %s", got)
	}
	if got := strings.Join(r[1].RuleCauses(), ","); got != "FLAG" {
		t.Errorf("causes %s", got)
	}
}
