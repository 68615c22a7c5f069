package sieve

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// counted is a message source that counts how often it is opened and how many bytes
// are read from it.
type counted struct {
	data  string
	opens int
	read  int64
}

func (c *counted) open() (io.ReadCloser, error) {
	c.opens++
	return io.NopCloser(&countReader{r: strings.NewReader(c.data), n: &c.read}), nil
}

type countReader struct {
	r io.Reader
	n *int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

func TestStreamMessageMatchesRawMessage(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{
		"Subject: a\r\nX-Folded: one\r\n two\r\nTo: b@example.org\r\n\r\nbody line\r\n",
		"Subject: all header, no blank line\r\n",
		"Subject: lf only\n\nbody\n",
		"\r\nno header at all\r\n",
	} {
		src := &counted{data: msg}
		sm, err := ReadMessage(src.open, int64(len(msg)))
		if err != nil {
			t.Fatal(err)
		}
		rm := NewRawMessage([]byte(msg))
		for _, name := range []string{"subject", "x-folded", "to", "missing"} {
			if got, want := strings.Join(sm.HeaderFields(name), "|"), strings.Join(rm.HeaderFields(name), "|"); got != want {
				t.Errorf("%.20q: %s = %q, want %q", msg, name, got, want)
			}
		}
		for range 3 {
			r, err := sm.Body()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			want, _ := io.ReadAll(mustBody(t, rm))
			if !bytes.Equal(got, want) {
				t.Errorf("%.20q: body %q, want %q", msg, got, want)
			}
		}
		if src.opens != 2 || sm.Size() != int64(len(msg)) {
			t.Errorf("%.20q: opened %d times (want 2: header, then body once), size %d", msg, src.opens, sm.Size())
		}
	}
}

func mustBody(t *testing.T, m Message) io.Reader {
	t.Helper()
	r, err := m.Body()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStreamMessageBounded: a 30 MiB message costs the header and maxBodyScan of
// body, and a header test reads no body at all.
func TestStreamMessageBounded(t *testing.T) {
	t.Parallel()
	msg := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", (30<<20)/18)
	src := &counted{data: msg}
	sm, err := ReadMessage(src.open, int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if src.read > 64<<10 {
		t.Errorf("reading the header read %d bytes", src.read)
	}
	r, _ := sm.Body()
	b, _ := io.ReadAll(r)
	if len(b) != maxBodyScan || src.read > maxBodyScan+128<<10 {
		t.Errorf("body prefix %d bytes, %d read from the source", len(b), src.read)
	}
	// A header past the 10 MiB block limit: the fields within it are kept, the body
	// still starts after the real blank line.
	huge := strings.Repeat("X-Pad: "+strings.Repeat("p", 100)+"\r\n", (11<<20)/109) + "X-Late: 1\r\n\r\nthe body\r\n"
	sm, err = ReadMessage((&counted{data: "Subject: s\r\n" + huge}).open, int64(len(huge)+12))
	if err != nil {
		t.Fatal(err)
	}
	r, _ = sm.Body()
	b, _ = io.ReadAll(r)
	if len(sm.HeaderFields("subject")) != 1 || len(sm.HeaderFields("x-late")) != 0 || string(b) != "the body\r\n" {
		t.Errorf("oversized header: subject %v, x-late %v, body %q", sm.HeaderFields("subject"), sm.HeaderFields("x-late"), b)
	}
}

// TestStreamMessageExecutesLikeRawMessage: the same script gives the same result on
// both Message forms, editheader included.
func TestStreamMessageExecutesLikeRawMessage(t *testing.T) {
	t.Parallel()
	src := `require ["fileinto", "body", "editheader", "mime", "foreverypart", "imap4flags"];
addheader "X-Seen" "yes";
deleteheader "X-Drop";
if body :contains "needle" { fileinto "Found"; }
if header :contains "subject" "hello" { addflag "\\Seen"; }
foreverypart { if header :mime :type "content-type" "image" { fileinto "Images"; } }`
	sc, cerr := Compile("t", []byte(src), CompileOptions{})
	if cerr != nil {
		t.Fatal(cerr)
	}
	msg := "Subject: hello\r\nX-Drop: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\na needle\r\n--b\r\nContent-Type: image/png\r\n\r\nPNG\r\n--b--\r\n"
	rr, err := sc.Execute(t.Context(), NewRawMessage([]byte(msg)), Envelope{}, ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sm, err := ReadMessage((&counted{data: msg}).open, int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := sc.Execute(t.Context(), sm, Envelope{}, ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%+v", sr), fmt.Sprintf("%+v", rr); got != want {
		t.Errorf("stream: %s\n  raw: %s", got, want)
	}
	if !strings.Contains(fmt.Sprintf("%+v", rr), "Found") {
		t.Errorf("the script did not match as written: %+v", rr)
	}
}
