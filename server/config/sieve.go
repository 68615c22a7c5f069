package config

import (
	"fmt"

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

func (s *Sieve) validate(pr *problems) {
	if _, err := s.SpamSources(); err != nil {
		pr.addf("sieve.spamtest", "%v", err)
	}
	if _, err := s.VirusSources(); err != nil {
		pr.addf("sieve.virustest", "%v", err)
	}
}
