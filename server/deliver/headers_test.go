package deliver

import (
	"mime"
	"strings"
	"testing"
)

// checkOneField fails unless out is exactly one header field named name: every line
// break a fold, every line within RFC 5322's limit, no NUL, no other control but none.
func checkOneField(t *testing.T, name, out string) {
	t.Helper()
	if out == "" {
		return
	}
	if !strings.HasPrefix(out, name+": ") || !strings.HasSuffix(out, "\r\n") {
		t.Fatalf("not one %s field: %q", name, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	for i, l := range lines {
		if i > 0 && !strings.HasPrefix(l, " ") {
			t.Fatalf("line %d %q starts a new field in %q", i, l, out)
		}
		if strings.TrimSpace(l) == "" {
			t.Fatalf("empty line %d in %q", i, out)
		}
		if len(l) > maxLine {
			t.Fatalf("line %d has %d octets", i, len(l))
		}
		for _, r := range l {
			if r < 0x20 && r != '\t' || r == 0x7f {
				t.Fatalf("control %q in %q", r, l)
			}
		}
	}
}

func TestFieldWriter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Away", "Subject: Away\r\n"},
		{"Away\r\nBcc: victim@example.org", "Subject: Away Bcc: victim@example.org\r\n"},
		{"a\x00b\x07c\td", "Subject: a bc d\r\n"},
		{"Réponse automatique", "Subject: " + mime.QEncoding.Encode("utf-8", "Réponse automatique") + "\r\n"},
		{"\r\n", ""},
	} {
		var w fieldWriter
		w.text("Subject", tc.in)
		if got := string(w.Bytes()); got != tc.want {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var w fieldWriter
	w.text("Subject", strings.Repeat("word ", 500))
	checkOneField(t, "Subject", string(w.Bytes()))
	if len(w.Bytes()) > maxFieldValue+200 {
		t.Errorf("a long subject was not cut: %d octets", len(w.Bytes()))
	}
	var long fieldWriter
	long.field("References", "<"+strings.Repeat("x", 2000)+"@example.org>")
	if long.Bytes() != nil {
		t.Errorf("a 2000-octet message id was echoed: %q", long.Bytes()[:40])
	}
}

// FuzzFieldWriter: whatever a script or a sender put in a value, it stays one field.
func FuzzFieldWriter(f *testing.F) {
	f.Add("Away\r\nBcc: x@example.org", true)
	f.Add("Réponse\n\n.\r\n", false)
	f.Add(strings.Repeat("é", 600), true)
	f.Fuzz(func(t *testing.T, v string, text bool) {
		var w fieldWriter
		if text {
			w.text("Subject", v)
		} else {
			w.field("In-Reply-To", v)
		}
		name := "In-Reply-To"
		if text {
			name = "Subject"
		}
		checkOneField(t, name, string(w.Bytes()))
	})
}
