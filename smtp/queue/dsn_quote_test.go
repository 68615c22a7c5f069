package queue

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestHeaderSectionQuotesOnlyFields: what a DSN quotes of an attacker's message is its
// header fields, never the body, whatever the shape of the text.
func TestHeaderSectionQuotesOnlyFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, want string }{
		{"usual", "Subject: hi\r\nTo: a@b\r\n\r\nSECRET body\r\n", "Subject: hi\r\nTo: a@b\r\n"},
		{"folded", "Subject: hi\r\n there\r\n\r\nSECRET\r\n", "Subject: hi\r\n there\r\n"},
		{"no separator", "Subject: hi\r\nSECRET body line without a colon\r\nX: y\r\n", "Subject: hi\r\n"},
		{"bare LF", "Subject: hi\nTo: a@b\n\nSECRET\n", "Subject: hi\r\nTo: a@b\r\n"},
		{"body first", "SECRET: looks like a field\r\n", "SECRET: looks like a field\r\n"},
		{"continuation first", " SECRET\r\nSubject: x\r\n\r\n", ""},
		{"boundary", "Subject: hi\r\n--b--: x\r\nSECRET: y\r\n\r\n", "Subject: hi\r\n"},
		{"bare CR", "Subject: hi\rSECRET: x\r\nTo: a\r\n\r\n", ""},
		{"cut line", "Subject: hi\r\nX-Long: SECRET", "Subject: hi\r\n"},
		{"space in name", "Subject: hi\r\nNot A Field: SECRET\r\n", "Subject: hi\r\n"},
	} {
		if got := string(headerSection([]byte(tc.text))); got != tc.want {
			t.Errorf("%s: quoted %q, want %q", tc.name, got, tc.want)
		}
	}
	big := "Subject: hi\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("a", 990)+"\r\n", 100) + "\r\nSECRET\r\n"
	if got := headerSection([]byte(big)); len(got) > maxDSNHeaders || !bytes.HasSuffix(got, []byte("\r\n")) {
		t.Errorf("a large header: %d octets quoted (limit %d), ends %q", len(got), maxDSNHeaders, got[len(got)-2:])
	}
}

// TestBuildDSNQuotesNoBody: the agent's DSN of a message without a header/body
// separator carries no line of its body.
func TestBuildDSNQuotesNoBody(t *testing.T) {
	t.Parallel()
	raw := BuildDSN(DSN{Hostname: "mail.example.com", ID: "T.1", Sender: "s@example.org", Arrival: time.Unix(0, 0), Now: time.Unix(60, 0),
		Rcpts:    []RcptInfo{{Addr: "carol@example.com", Status: StatusFailed, Code: 550, Enhanced: "5.7.1", LastError: "no"}},
		Original: []byte("Subject: lunch?\r\nMessage-ID: <1@example.com>\r\nAt noon. SECRET\r\n--T.1.failed/mail.example.com--\r\n")})
	if bytes.Contains(raw, []byte("SECRET")) || bytes.Count(raw, []byte("--T.1.failed/mail.example.com--")) != 1 {
		t.Fatalf("the DSN quotes the body:\n%s", raw)
	}
	checkDSN(t, raw, "failed", "carol@example.com", "5.7.1")
}

// FuzzHeaderSection: whatever the text, the quote is whole CRLF lines of fields, no
// empty line, nothing that starts a MIME delimiter, within the limit, and taken from
// the start of the text.
func FuzzHeaderSection(f *testing.F) {
	f.Add([]byte("Subject: hi\r\nTo: a@b\r\n\r\nbody\r\n"))
	f.Add([]byte("Subject: hi\n x\nbody\n"))
	f.Add([]byte("--b\r\nX: y\r\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		q := headerSection(text)
		if len(q) > maxDSNHeaders {
			t.Fatalf("quoted %d octets", len(q))
		}
		if len(q) == 0 {
			return
		}
		if !bytes.HasSuffix(q, []byte("\r\n")) || bytes.Contains(q, []byte("\r\n\r\n")) || bytes.HasPrefix(q, []byte("--")) ||
			bytes.Contains(q, []byte("\n--")) || bytes.ContainsRune(q, 0) {
			t.Fatalf("bad quote %q", q)
		}
		for _, l := range bytes.Split(q[:len(q)-2], []byte("\r\n")) {
			if bytes.ContainsAny(l, "\r\n") {
				t.Fatalf("line %q holds a line break", l)
			}
		}
		norm := bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
		if !bytes.HasPrefix(norm, bytes.ReplaceAll(q, []byte("\r\n"), []byte("\n"))) {
			t.Fatalf("quote %q is not the start of the text", q)
		}
	})
}
