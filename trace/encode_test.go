package trace

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendEvent: whatever a client puts into a logged field (a HELO name, an address,
// a reply), the writer's encoding reads back as the same event json.Marshal would give.
func FuzzAppendEvent(f *testing.F) {
	f.Add("helo", "mx.example.net", "client", "192.0.2.7")
	f.Add("what \"quoted\"", "a\\b\r\n\x00", "to", "<alice@example.org>&")
	f.Add("ünïcode", "\xff\xfe invalid", "", "")
	f.Fuzz(func(t *testing.T, what, v1, k2, v2 string) {
		e := Event{Time: time.Date(2026, 12, 7, 21, 0, 0, 123456789, time.UTC), What: what,
			Attrs: map[string]string{"sid": "S1", "helo": v1, k2: v2}}
		var got, want Event
		if err := json.Unmarshal(appendEvent(nil, e), &got); err != nil {
			t.Fatalf("%q does not parse: %v", appendEvent(nil, e), err)
		}
		std, _ := json.Marshal(e)
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if !got.Time.Equal(want.Time) || got.What != want.What || len(got.Attrs) != len(want.Attrs) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		for k, v := range want.Attrs {
			if got.Attrs[k] != v {
				t.Fatalf("attr %q: got %q, want %q", k, got.Attrs[k], v)
			}
		}
	})
}

// TestAppendEventAsMarshal: plain events encode byte for byte as json.Marshal does.
func TestAppendEventAsMarshal(t *testing.T) {
	t.Parallel()
	e := Event{Time: time.Date(2026, 12, 7, 21, 0, 0, 5, time.UTC), What: "delivered",
		Attrs: map[string]string{"to": "alice@example.test", "sid": "S1", "mailbox": "alice@example.test/INBOX", "uid": "3"}}
	std, _ := json.Marshal(e)
	if got := appendEvent(nil, e); !bytes.Equal(got, std) {
		t.Errorf("got  %s\nwant %s", got, std)
	}
}
