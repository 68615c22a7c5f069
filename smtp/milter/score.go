package milter

import (
	"regexp"
	"strings"

	gomilter "github.com/emersion/go-milter"
)

// scorePatterns find the spam score in the header fields a milter adds: Rspamd's
// X-Spamd-Result ("default: False [3.50 / 15.00]") and X-Rspamd-Score, SpamAssassin's
// X-Spam-Status ("No, score=1.5 required=5.0") and X-Spam-Score.
var scorePatterns = map[string]*regexp.Regexp{
	"x-spamd-result": regexp.MustCompile(`\[\s*(-?[0-9.]+)\s*/\s*(-?[0-9.]+)\s*\]`),
	"x-spam-status":  regexp.MustCompile(`score=(-?[0-9.]+)(?:\s+required=(-?[0-9.]+))?`),
	"x-rspamd-score": regexp.MustCompile(`^\s*(-?[0-9.]+)`),
	"x-spam-score":   regexp.MustCompile(`^\s*(-?[0-9.]+)`),
}

// spamScore returns the score a milter's header changes state ("3.5/15" with the
// threshold when given) and its X-Spam verdict, "" when they state none; for the mail
// log and postern trace.
func spamScore(mods []gomilter.ModifyAction) (score, spam string) {
	for _, m := range mods {
		name := strings.ToLower(m.HeaderName)
		if name == "x-spam" || name == "x-spam-flag" {
			spam = strings.TrimSpace(m.HeaderValue)
		}
		re := scorePatterns[name]
		if re == nil || score != "" {
			continue
		}
		if sm := re.FindStringSubmatch(m.HeaderValue); sm != nil {
			score = sm[1]
			if len(sm) > 2 && sm[2] != "" {
				score += "/" + sm[2]
			}
		}
	}
	return score, spam
}
