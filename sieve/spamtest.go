package sieve

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// spamtest, spamtestplus and virustest (RFC 5235). The value comes from a
// header a scanner added, read as Pigeonhole's sieve_spamtest_* and
// sieve_virustest_* settings describe (ScoreSource).

// ScoreType says how a ScoreSource turns the captured text into a value.
type ScoreType int

// The score types of Pigeonhole's sieve_*test_status_type.
const (
	ScoreNumber ScoreType = iota // "score": a number, compared with Max
	ScoreStrlen                  // "strlen": the length of the capture ("*****")
	ScoreText                    // "text": the capture equals one of Text[0..]
)

// ScoreSource is one way of reading a scanner's verdict from the message.
type ScoreSource struct {
	Type ScoreType
	// Header is the field read; Pattern, if set, is an extended regular
	// expression whose first group captures the value (Pigeonhole's
	// "Name: regex" form of sieve_spamtest_status_header). Nil: the whole
	// field value.
	Header  string
	Pattern *regexp.Regexp
	// Max is the score that counts as certainly spam (sieve_spamtest_max_value).
	// MaxHeader/MaxPattern read it from the message instead, when present.
	Max        float64
	MaxHeader  string
	MaxPattern *regexp.Regexp
	// Text maps a ScoreText capture to a value: Text[i] is the text of
	// value i (sieve_spamtest_text_valueN), 0 <= i <= 10 (5 for virustest).
	Text map[int]string
}

// ParseStatusHeader splits Pigeonhole's "Header: regex" setting.
func ParseStatusHeader(s string) (string, *regexp.Regexp, error) {
	name, pat, found := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !found || strings.TrimSpace(pat) == "" {
		return name, nil, nil
	}
	re, err := regexp.Compile(strings.TrimSpace(pat))
	if err != nil {
		return "", nil, err
	}
	return name, re, nil
}

// DefaultSpamSources reads Rspamd's verdict: X-Spam-Score (a number,
// max 15, Rspamd's default reject score) or X-Spamd-Result
// ("default: False [4.20 / 15.00]", max from the header itself).
func DefaultSpamSources() []ScoreSource {
	return []ScoreSource{
		{Type: ScoreNumber, Header: "X-Spam-Score", Pattern: spamScoreRe, Max: 15},
		{Type: ScoreNumber, Header: "X-Spamd-Result", Pattern: spamdScoreRe,
			Max: 15, MaxHeader: "X-Spamd-Result", MaxPattern: spamdMaxRe},
	}
}

// Compiled once; a *regexp.Regexp is immutable and safe to share.
var (
	spamScoreRe  = regexp.MustCompile(`^[[:space:]]*(-?[[:digit:]]+(\.[[:digit:]]+)?)`)
	spamdScoreRe = regexp.MustCompile(`\[[[:space:]]*(-?[[:digit:]]+(\.[[:digit:]]+)?)[[:space:]]*/`)
	spamdMaxRe   = regexp.MustCompile(`/[[:space:]]*([[:digit:]]+(\.[[:digit:]]+)?)[[:space:]]*\]`)
)

// DefaultVirusSources reads nothing: without a configured virus scanner
// header, virustest answers "0" (not tested), as Pigeonhole does.
func DefaultVirusSources() []ScoreSource { return nil }

var scoreTestTags = mergeTags(matchTags, map[string]tagSpec{"percent": {cap: "spamtestplus"}})

type scoreTest struct {
	virus   bool
	percent bool
	m       *matcher
}

func buildScoreTest(virus bool) func(*compiler, *parsedArgs) (test, *CompileError) {
	return func(c *compiler, pa *parsedArgs) (test, *CompileError) {
		if err := pa.positional(pString); err != nil {
			return nil, err
		}
		m, err := c.matcher(pa, pa.pos[0])
		if err != nil {
			return nil, err
		}
		return &scoreTest{virus: virus, percent: pa.has("percent"), m: m}, nil
	}
}

func (x *scoreTest) eval(st *runState) (bool, error) {
	srcs := st.opts.SpamTest
	top := 10
	if x.virus {
		srcs, top = st.opts.VirusTest, 5
	}
	v := scoreValue(st, srcs, top, x.percent)
	return x.m.test(st, []string{v})
}

// scoreValue is the RFC 5235 value: "0" when no source applies, else
// 1..top (or 0..100 with :percent).
func scoreValue(st *runState, srcs []ScoreSource, top int, percent bool) string {
	for _, src := range srcs {
		if src.Type == ScoreText {
			// Text i is the value i itself, and i tenths (fifths for virustest) with
			// :percent, as Pigeonhole has it (the differential suite's "texts" cases);
			// text 0 (surely clean) is the lowest tested value, 1, and 0 with :percent.
			i, ok := src.textValue(st, top)
			if !ok {
				continue
			}
			if percent {
				return strconv.Itoa(i * 100 / top)
			}
			return strconv.Itoa(max(i, 1))
		}
		ratio, ok := src.ratio(st, top)
		if !ok {
			continue
		}
		if percent {
			return strconv.Itoa(int(math.Floor(ratio*100 + 1e-9)))
		}
		return strconv.Itoa(1 + int(math.Floor(ratio*float64(top-1)+1e-9)))
	}
	return "0"
}

func capture(st *runState, header string, re *regexp.Regexp) (string, bool) {
	vals := st.msg.HeaderFields(header)
	if len(vals) == 0 {
		return "", false
	}
	v := strings.TrimSpace(vals[0])
	if re == nil {
		return v, true
	}
	m := re.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	if len(m) > 1 {
		return m[1], true
	}
	return m[0], true
}

// textValue is the i of the Text[i] the capture equals (ScoreText).
func (src ScoreSource) textValue(st *runState, top int) (int, bool) {
	s, ok := capture(st, src.Header, src.Pattern)
	if !ok {
		return 0, false
	}
	for i := 0; i <= top; i++ {
		if t, ok := src.Text[i]; ok && t == s {
			return i, true
		}
	}
	return 0, false
}

// ratio is a score's verdict as a fraction of certain spam, in [0, 1] (ScoreNumber,
// ScoreStrlen).
func (src ScoreSource) ratio(st *runState, top int) (float64, bool) {
	s, ok := capture(st, src.Header, src.Pattern)
	if !ok {
		return 0, false
	}
	max := src.Max
	if src.MaxHeader != "" {
		if ms, ok := capture(st, src.MaxHeader, src.MaxPattern); ok {
			if f, err := strconv.ParseFloat(ms, 64); err == nil && f > 0 {
				max = f
			}
		}
	}
	if max <= 0 {
		return 0, false
	}
	var score float64
	if src.Type == ScoreStrlen {
		score = float64(len(s))
	} else {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) {
			return 0, false
		}
		score = f
	}
	return math.Min(1, math.Max(0, score/max)), true
}
