package config

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/postern/postern/sieve"
)

// ScoreTest says where spamtest or virustest reads a scanner's verdict: the keys of
// Pigeonhole's sieve_spamtest_* (sieve_virustest_*) settings.
type ScoreTest struct {
	StatusType   string   `toml:"status_type" enum:"score|strlen|text" doc:"How the value in status_header reads: score (a number out of max_value), strlen (the length of the match, e.g. \"*****\"), text (one of text_values)."`
	StatusHeader string   `toml:"status_header" example:"" doc:"The header read, as \"Name\" or \"Name: regex\" (the regex's first group is the value), as sieve_spamtest_status_header; \"\" keeps the built-in default."`
	MaxValue     float64  `toml:"max_value" doc:"The score that is certainly spam (a virus), as sieve_spamtest_max_value; for status_type score and strlen."`
	MaxHeader    string   `toml:"max_header" example:"" doc:"A header holding the maximum score instead (\"Name\" or \"Name: regex\"), as sieve_spamtest_max_header; \"\" uses max_value."`
	TextValues   []string `toml:"text_values" type:"array of strings" example:"" doc:"For status_type text: the texts of the values 1 to 10 (virustest 1 to 5) in order, as sieve_spamtest_text_value1..10; \"\" leaves a value out."`
	TextValue0   string   `toml:"text_value0" example:"" doc:"For status_type text: the text of value 0 (surely clean), as sieve_spamtest_text_value0; the test then answers 1 (0 with :percent), as Pigeonhole does; \"\" for none."`
}

func defaultScoreTest() ScoreTest {
	return ScoreTest{StatusType: "score", TextValues: []string{}}
}

// Sources returns the engine's view of t; def when StatusHeader is "" (the built-in).
func (t ScoreTest) Sources(def []sieve.ScoreSource, top int) ([]sieve.ScoreSource, error) {
	if t.StatusHeader == "" {
		return def, nil
	}
	src := sieve.ScoreSource{Max: t.MaxValue}
	switch t.StatusType {
	case "strlen":
		src.Type = sieve.ScoreStrlen
	case "text":
		src.Type = sieve.ScoreText
	default:
		src.Type = sieve.ScoreNumber
	}
	var err error
	if src.Header, src.Pattern, err = sieve.ParseStatusHeader(t.StatusHeader); err != nil {
		return nil, fmt.Errorf("status_header: %w", err)
	}
	if t.MaxHeader != "" {
		if src.MaxHeader, src.MaxPattern, err = sieve.ParseStatusHeader(t.MaxHeader); err != nil {
			return nil, fmt.Errorf("max_header: %w", err)
		}
	}
	if len(t.TextValues) > top {
		return nil, fmt.Errorf("text_values: at most %d values", top)
	}
	if src.Type == sieve.ScoreText {
		src.Text = map[int]string{}
		if t.TextValue0 != "" {
			src.Text[0] = t.TextValue0
		}
		for i, v := range t.TextValues {
			if v != "" {
				src.Text[i+1] = v
			}
		}
	}
	if src.Type != sieve.ScoreText && src.MaxHeader == "" && src.Max <= 0 {
		return nil, fmt.Errorf("max_value: must be above 0 (or set max_header)")
	}
	return []sieve.ScoreSource{src}, nil
}

// SpamSources and VirusSources are [sieve] spamtest and virustest for the engine.
func (s Sieve) SpamSources() ([]sieve.ScoreSource, error) {
	return s.SpamTest.Sources(sieve.DefaultSpamSources(), 10)
}

// VirusSources: see SpamSources.
func (s Sieve) VirusSources() ([]sieve.ScoreSource, error) {
	return s.VirusTest.Sources(sieve.DefaultVirusSources(), 5)
}

// IMAPSieveRule is one [[sieve.imapsieve]] table: which scripts run when a message
// arrives in or changes in a mailbox through IMAP.
type IMAPSieveRule struct {
	Mailbox  string   `toml:"mailbox" required:"true" example:"Junk" doc:"The mailbox (or a pattern: * matches within one level, ? one character, as Pigeonhole's imapsieve_mailboxN_name; \"*\" is every mailbox)."`
	From     string   `toml:"from" example:"" doc:"For COPY: only messages copied or moved from this mailbox (pattern as mailbox); \"\" for any, as imapsieve_mailboxN_from."`
	Causes   []string `toml:"causes" type:"array of APPEND, COPY, FLAG" example:"COPY" doc:"The IMAP events the scripts run on: APPEND, COPY (COPY and MOVE) and FLAG (a STORE that changed flags); [] means APPEND and COPY, as imapsieve_mailboxN_causes."`
	Before   string   `toml:"before" path:"config" type:"path" example:"imapsieve/report-spam.sieve" doc:"A global Sieve script run first, as imapsieve_mailboxN_before; \"\" for none."`
	Personal string   `toml:"personal" example:"" doc:"The name of a script the user stored (ManageSieve or postern sieve put; need not be the active one) run after before, if the user has one by that name; \"\" for none."`
	After    string   `toml:"after" path:"config" type:"path" example:"" doc:"A global Sieve script run last, as imapsieve_mailboxN_after; \"\" for none."`
}

// imapsieveCauses are the causes a rule may name.
var imapsieveCauses = []string{"APPEND", "COPY", "FLAG"}

// RuleCauses returns the rule's causes upper-cased, with the default filled in.
func (r IMAPSieveRule) RuleCauses() []string {
	if len(r.Causes) == 0 {
		return []string{"APPEND", "COPY"}
	}
	out := make([]string, 0, len(r.Causes))
	for _, c := range r.Causes {
		out = append(out, strings.ToUpper(c))
	}
	return out
}

func (s *Sieve) validate(pr *problems) {
	if _, err := s.SpamSources(); err != nil {
		pr.addf("sieve.spamtest", "%v", err)
	}
	if _, err := s.VirusSources(); err != nil {
		pr.addf("sieve.virustest", "%v", err)
	}
	for i, r := range s.IMAPSieve {
		key := fmt.Sprintf("sieve.imapsieve.%d", i+1)
		if r.Mailbox == "" {
			pr.addf(key+".mailbox", "is required (the mailbox the rule watches, e.g. \"Junk\")")
		}
		for _, p := range []string{r.Mailbox, r.From} {
			if _, err := path.Match(p, ""); err != nil {
				pr.addf(key+".mailbox", "%q is not a valid pattern", p)
			}
		}
		for _, c := range r.RuleCauses() {
			if !slices.Contains(imapsieveCauses, c) {
				pr.addf(key+".causes", "%q is not APPEND, COPY or FLAG", c)
			}
		}
		if r.Before == "" && r.After == "" && r.Personal == "" {
			pr.addf(key, "names no script: set before, personal or after")
		}
	}
}
