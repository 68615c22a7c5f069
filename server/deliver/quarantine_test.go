package deliver

import (
	"reflect"
	"testing"
)

func TestQuarantinedGoesToJunkWithoutReplies(t *testing.T) {
	t.Parallel()
	d := quarantined(decision{
		Placements: []placement{{Mailbox: "INBOX"}, {Mailbox: "Work", Flags: []string{`\Flagged`}}},
		Redirects:  []string{"elsewhere@example.org"},
	})
	want := decision{Placements: []placement{{Mailbox: "Junk", Flags: []string{`\Flagged`}, Create: true}},
		Rules: []string{"quarantined into Junk"}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("quarantined = %+v, want %+v", d, want)
	}
	if d := quarantined(decision{Reject: "no"}); d.Reject != "no" || len(d.Placements) != 0 {
		t.Errorf("a Sieve reject must stand: %+v", d)
	}
	if d := quarantined(decision{}); len(d.Placements) != 0 {
		t.Errorf("a discard must stand: %+v", d)
	}
}
