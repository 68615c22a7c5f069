package mimeparse

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

const sample = "From: \"Bob B.\" <bob@example.net>, carol@example.net\r\n" +
	"To: undisclosed-recipients:;\r\nCc: Team: a@x.org, \"Q, R\" <q@y.org>;, z@z.org\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <m1@example.net>\r\nIn-Reply-To: <a@x> <b@y>\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
	"preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello =C3=BC\r\nline 2\r\n" +
	"--b1\r\nContent-Type: message/rfc822\r\n\r\n" +
	"From: x@y.org\r\nSubject: inner\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n" +
	"--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b1--\r\nepilogue\r\n"

func TestParseSample(t *testing.T) {
	t.Parallel()
	root, err := Parse(strings.NewReader(sample), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if root.Type != "multipart" || len(root.Parts) != 3 || root.Limited {
		t.Fatalf("root %s/%s with %d parts, limited %v", root.Type, root.Subtype, len(root.Parts), root.Limited)
	}
	text := root.Parts[0]
	if got := sample[text.BodyOffset:text.End]; got != "hello =C3=BC\r\nline 2" || text.Lines != 1 {
		t.Errorf("text body %q, %d lines", got, text.Lines)
	}
	var b strings.Builder
	_, _ = fmt.Fprint(&b, readAll(t, Decode(text, text.Body(strings.NewReader(sample)))))
	if b.String() != "hello ü\r\nline 2" {
		t.Errorf("decoded %q", b.String())
	}
	msg := root.Parts[1]
	if msg.Message == nil || msg.Message.Type != "text" || msg.Message.Subtype != "html" ||
		sample[msg.Message.BodyOffset:msg.Message.End] != "<p>hi</p>" || msg.Message.Header.Envelope().Subject != "inner" {
		t.Errorf("nested message %+v", msg.Message)
	}
	if got := sample[root.Parts[2].BodyOffset:root.Parts[2].End]; got != "AAAA" {
		t.Errorf("pdf body %q", got)
	}
	env := root.Header.Envelope()
	if env.Subject != "Grüße" || env.MessageID != "m1@example.net" || len(env.InReplyTo) != 2 {
		t.Errorf("envelope %+v", env)
	}
	wantCc := []Address{{Mailbox: "Team"}, {Mailbox: "a", Host: "x.org"}, {Name: "Q, R", Mailbox: "q", Host: "y.org"}, {}, {Mailbox: "z", Host: "z.org"}}
	if fmt.Sprint(env.Cc) != fmt.Sprint(wantCc) {
		t.Errorf("Cc %v, want %v", env.Cc, wantCc)
	}
	if want := []Address{{Mailbox: "undisclosed-recipients"}, {}}; fmt.Sprint(env.To) != fmt.Sprint(want) {
		t.Errorf("To %v, want %v", env.To, want)
	}
	if len(env.From) != 2 || env.From[0].Name != "Bob B." || env.From[1].Host != "example.net" {
		t.Errorf("From %v", env.From)
	}
}

func readAll(t *testing.T, r interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestParseLFOnlyAndDefaults(t *testing.T) {
	t.Parallel()
	m := "Subject: x\n\nline1\nline2\n"
	root, err := Parse(strings.NewReader(m), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if root.Type != "text" || root.Subtype != "plain" || root.Params["charset"] != "us-ascii" ||
		root.Size() != int64(len("line1\nline2\n")) || root.Lines != 2 {
		t.Errorf("got %s/%s %v size %d lines %d", root.Type, root.Subtype, root.Params, root.Size(), root.Lines)
	}
	h, err := ParseHeader(strings.NewReader(m), Limits{})
	if err != nil || h.Get("subject") != "x" {
		t.Errorf("ParseHeader: %v %+v", err, h)
	}
}

// nested builds depth levels of message/rfc822 (or multipart) around a text part.
func nested(depth int, multipart bool, payload string) string {
	var b strings.Builder
	b.WriteString("Subject: top\r\n")
	for i := range depth {
		if multipart {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		} else {
			fmt.Fprintf(&b, "Content-Type: message/rfc822\r\n\r\nSubject: level %d\r\n", i)
		}
	}
	b.WriteString("Content-Type: text/plain\r\n\r\n" + payload + "\r\n")
	if multipart {
		for i := depth - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
	}
	return b.String()
}

func TestParseDepthLimitFlattens(t *testing.T) {
	t.Parallel()
	for _, mp := range []bool{false, true} {
		m := nested(400, mp, "needle")
		root, err := Parse(strings.NewReader(m), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		depth, flat := 0, 0
		root.Walk(func(q *Part) bool {
			depth = max(depth, q.Depth)
			if q.Flattened {
				flat++
			}
			return true
		})
		if depth != 99 || flat != 1 || !root.Limited {
			t.Errorf("multipart=%v: depth %d, %d flattened, limited %v", mp, depth, flat, root.Limited)
		}
		var leaf *Part
		root.Leaves(func(q *Part) bool { leaf = q; return true })
		if !leaf.Flattened || !strings.Contains(m[leaf.BodyOffset:leaf.End], "needle") {
			t.Errorf("multipart=%v: the flattened leaf does not span the rest: %q", mp, m[leaf.BodyOffset:min(leaf.End, leaf.BodyOffset+80)])
		}
	}
}

func TestParsePartLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range 20 {
		b.WriteString("--x\r\n\r\npart\r\n")
	}
	b.WriteString("--x--\r\n")
	root, err := Parse(strings.NewReader(b.String()), Limits{MaxParts: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Parts) != 4 || !root.Limited || root.End != int64(b.Len()) {
		t.Errorf("%d parts, limited %v, end %d of %d", len(root.Parts), root.Limited, root.End, b.Len())
	}
	if last := root.Parts[len(root.Parts)-1]; !last.Flattened || last.End != int64(b.Len()) {
		t.Errorf("the last part (flattened %v) ends at %d of %d", last.Flattened, last.End, b.Len())
	}
}

func TestParseHeaderLimits(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "X-F%d: %s\r\n", i, strings.Repeat("v", 100))
	}
	b.WriteString("X-Long: " + strings.Repeat("w", 200<<10) + "\r\n\r\nbody\r\n")
	root, err := Parse(strings.NewReader(b.String()), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(root.Header.Fields) != 1000 || !root.Header.Truncated {
		t.Errorf("%d fields kept, truncated %v", len(root.Header.Fields), root.Header.Truncated)
	}
	if got := b.String()[root.BodyOffset:root.End]; got != "body\r\n" {
		t.Errorf("body %q", got)
	}
	short := "X-Long: " + strings.Repeat("w", 200<<10) + "\r\n\r\n"
	root, _ = Parse(strings.NewReader(short), DefaultLimits())
	if v := root.Header.Get("x-long"); len(v) > DefaultLimits().MaxFieldBytes+DefaultLimits().MaxFieldName {
		t.Errorf("a %d-byte field was kept", len(v))
	}
}

// heapGrowth runs fn and returns the bytes it allocated (garbage included): the
// peak memory a parse can need is at most that.
func heapGrowth(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestParseMemoryBounded: a 4 MiB message nested 400 deep allocates about what a flat
// message of the same size does, not depth times the size.
func TestParseMemoryBounded(t *testing.T) {
	payload := strings.Repeat("abcdefghij", 400<<10/10*10)
	for _, mp := range []bool{false, true} {
		m := nested(400, mp, payload)
		var root *Part
		alloc := heapGrowth(func() { root, _ = Parse(strings.NewReader(m), DefaultLimits()) })
		if root == nil || alloc > 2<<20 {
			t.Errorf("multipart=%v: parsing a %d-byte message allocated %d bytes", mp, len(m), alloc)
		}
	}
}

// TestParseUntil: parsing stops once the first part is complete, with the same
// offsets a whole parse gives it; the message's own end is not known then.
func TestParseUntil(t *testing.T) {
	t.Parallel()
	whole, err := Parse(strings.NewReader(sample), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReader(sample)
	root, complete, err := ParseUntil(r, Limits{}, func(root, closed *Part) bool { return len(root.Parts) > 0 && closed == root.Parts[0] })
	if err != nil || complete {
		t.Fatalf("ParseUntil: complete %v, %v", complete, err)
	}
	got, want := root.Parts[0], whole.Parts[0]
	if got.Offset != want.Offset || got.BodyOffset != want.BodyOffset || got.End != want.End || got.Lines != want.Lines {
		t.Errorf("first part %+v, whole parse %+v", got, want)
	}
	if root.End != 0 || len(root.Parts) != 2 {
		t.Errorf("root End %d with %d parts seen; want 0 (still open) and 2", root.End, len(root.Parts))
	}
	if _, complete, _ := ParseUntil(strings.NewReader(sample), Limits{}, func(_, _ *Part) bool { return false }); !complete {
		t.Error("a condition never met: want the whole message read")
	}
}
