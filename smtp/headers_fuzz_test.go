package smtp

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzParseHeader: the parser never reads past its bound, End is inside the
// input, every field name is ftext, and a field inserted at End is found by a
// second parse next to the original fields (at the end, or first when the
// header had no final line end) — so the fields a submission adds never end up
// in the body or inside another field.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{
		"From: a@b.c\r\nSubject: x\r\n\r\nbody\r\n",
		"Subject: folded\r\n line two\r\n\tthree\r\n\r\n",
		"From : obs@space\r\n\r\n",
		"no header line\r\n",
		" leading continuation\r\n",
		"\r\nbody only",
		"A: 1\r\nB: 2",
		"A: 1\n\nlf only",
		"A: 1\r\n\r",
		"",
	} {
		f.Add([]byte(s))
	}
	const max = 2048
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &countingReader{r: bytes.NewReader(data)}
		h, err := parseHeader(r, max)
		if r.n > max+1 {
			t.Fatalf("read %d octets with a bound of %d", r.n, max)
		}
		if err != nil {
			if !errors.Is(err, errHeaderTooBig) && !errors.Is(err, errHeaderMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			if errors.Is(err, errHeaderTooBig) && len(data) <= max {
				t.Fatalf("too big at %d octets", len(data))
			}
			return
		}
		if h.End < 0 || h.End > int64(len(data)) {
			t.Fatalf("End %d outside 0..%d", h.End, len(data))
		}
		for _, fl := range h.Fields {
			if fl.Name == "" || strings.ContainsAny(fl.Name, ": \t\r\n") {
				t.Fatalf("field name %q", fl.Name)
			}
		}
		added := "X-Added: yes\r\n"
		fixed := string(data[:h.End]) + added + string(data[h.End:])
		h2, err := parseHeader(strings.NewReader(fixed), max+int64(len(added)))
		if err != nil {
			t.Fatalf("reparse of %q: %v", fixed, err)
		}
		extra := headerField{Name: "X-Added", Value: "yes"}
		appended := append(slices.Clone(h.Fields), extra)
		prepended := append([]headerField{extra}, h.Fields...)
		if !slices.Equal(h2.Fields, appended) && !(h.End == 0 && slices.Equal(h2.Fields, prepended)) {
			t.Fatalf("after inserting at %d:\n%q\nfields %q\nwere %q", h.End, fixed, h2.Fields, h.Fields)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestParseHeader(t *testing.T) {
	t.Parallel()
	h, err := parseHeader(strings.NewReader("From: Alice\r\n <alice@example.test>\r\nSUBJECT : hi  \r\n\r\nFrom: body@example.test\r\n"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []headerField{{"From", "Alice <alice@example.test>"}, {"SUBJECT", "hi"}}
	if !slices.Equal(h.Fields, want) || h.End != 52 {
		t.Fatalf("fields %q end %d", h.Fields, h.End)
	}
	if got := h.get("subject"); len(got) != 1 || got[0] != "hi" {
		t.Errorf("get: %q", got)
	}
	if got := h.get("from"); len(got) != 1 {
		t.Errorf("a From in the body was taken as a header field: %q", got)
	}
	if _, err := parseHeader(strings.NewReader(strings.Repeat("X: y\r\n", 100)), 100); !errors.Is(err, errHeaderTooBig) {
		t.Errorf("big header: %v", err)
	}
	// A big body after a small header is fine.
	if _, err := parseHeader(strings.NewReader("X: y\r\n\r\n"+strings.Repeat("b", 1000)), 100); err != nil {
		t.Errorf("big body: %v", err)
	}
}

func TestInsertedMessage(t *testing.T) {
	t.Parallel()
	sp := &spool{dir: t.TempDir(), threshold: 4}
	sp.Write([]byte("A: 1\r\n\r\nbody\r\n"))
	m, err := sp.message()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.discard()
	im := &insertedMessage{orig: m, at: 6, text: "B: 2\r\n"}
	for range 2 { // Open may be called again
		rc, err := im.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "A: 1\r\nB: 2\r\n\r\nbody\r\n" || int64(len(b)) != im.Size() {
			t.Fatalf("got %q size %d", b, im.Size())
		}
	}
}
