package milter

import (
	"testing"

	gomilter "github.com/emersion/go-milter"
)

func TestSpamScore(t *testing.T) {
	t.Parallel()
	add := func(name, value string) gomilter.ModifyAction {
		return gomilter.ModifyAction{Code: gomilter.ActAddHeader, HeaderName: name, HeaderValue: value}
	}
	for _, c := range []struct {
		mods        []gomilter.ModifyAction
		score, spam string
	}{
		{[]gomilter.ModifyAction{add("X-Spamd-Result", "default: False [3.50 / 15.00];\n\tR_SPF_ALLOW(-0.20)"), add("X-Spam", "Yes")}, "3.50/15.00", "Yes"},
		{[]gomilter.ModifyAction{add("X-Spam-Status", "No, score=-1.5 required=5.0 tests=NONE")}, "-1.5/5.0", ""},
		{[]gomilter.ModifyAction{add("X-Spam-Status", "Yes, score=7")}, "7", ""},
		{[]gomilter.ModifyAction{add("X-Rspamd-Score", "12.3")}, "12.3", ""},
		{[]gomilter.ModifyAction{add("Subject", "score=9")}, "", ""},
		{nil, "", ""},
	} {
		if score, spam := spamScore(c.mods); score != c.score || spam != c.spam {
			t.Errorf("spamScore(%v) = %q, %q; want %q, %q", c.mods, score, spam, c.score, c.spam)
		}
	}
}
