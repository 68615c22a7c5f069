package smtp

import (
	"bytes"
	"strings"
	"testing"
)

// refCheck is the obvious, slow version of textChecker on the whole text.
func refCheck(b []byte, maxLine int) (bare, long bool) {
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			bare = true
		}
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			bare = true
		}
	}
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) > maxLine {
			long = true
		}
	}
	return
}

func TestTextChecker(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in         string
		bare, long bool
	}{
		{"a\r\nb\r\n", false, false},
		{"a\nb\r\n", true, false},
		{"a\rb\r\n", true, false},
		{"a\r\n", false, false},
		{"a\r", true, false},
		{"\n.\n", true, false},
		{"12345678\r\n", false, false},
		{"123456789\r\n", false, true},
		{"12345678901", false, true},
	} {
		chk := &textChecker{maxLine: 10}
		// Feed byte by byte: state must carry across writes.
		for i := range len(tc.in) {
			chk.Write([]byte{tc.in[i]})
		}
		chk.finish()
		if chk.bare != tc.bare || chk.long != tc.long {
			t.Errorf("%q: bare %v long %v, want %v %v", tc.in, chk.bare, chk.long, tc.bare, tc.long)
		}
	}
}

// refHops counts the header lines that start with "Received:" (any case), up to the
// first empty line.
func refHops(b []byte) int {
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || l[0] == '\r' {
			break
		}
		if len(l) >= 9 && strings.EqualFold(l[:9], "received:") {
			n++
		}
	}
	return n
}

func TestHopCount(t *testing.T) {
	t.Parallel()
	msg := strings.Repeat("Received: from a by b\r\n\tid 1\r\n", 49) + "RECEIVED:x\r\nX-Received: no\r\n\r\nReceived: in the body\r\n"
	chk := &textChecker{maxHops: 50}
	chk.Write([]byte(msg))
	if chk.hops != 50 || chk.failed() != errTooManyHops {
		t.Fatalf("hops %d, failed %v", chk.hops, chk.failed())
	}
	chk = &textChecker{maxHops: 51}
	chk.Write([]byte(msg))
	if chk.failed() != nil {
		t.Fatalf("under the limit: %v", chk.failed())
	}
}

// FuzzTextChecker compares the streaming checker, fed in arbitrary pieces,
// with the whole-text reference.
func FuzzTextChecker(f *testing.F) {
	for _, s := range []string{"a\r\n", "\n.\n", "\r.\r", "\n.\r\n", "x\r", "\r\n.\r\n", "ab\r\ncd\r\n"} {
		f.Add([]byte(s), uint8(3), uint8(4))
		f.Add([]byte("Received: x\r\nreceived:\r\n\r\nReceived: y\r\n"), uint8(5), uint8(15))
	}
	f.Fuzz(func(t *testing.T, b []byte, split, maxLine uint8) {
		ml := int(maxLine%16) + 2
		chk := &textChecker{maxLine: ml}
		cut := 0
		if len(b) > 0 {
			cut = int(split) % (len(b) + 1)
		}
		chk.Write(b[:cut])
		chk.Write(b[cut:])
		chk.finish()
		bare, long := refCheck(b, ml)
		if h := refHops(b); chk.hops != h {
			t.Fatalf("%q: %d Received: fields counted, want %d", b, chk.hops, h)
		}
		if chk.bare != bare || chk.long != long || chk.size != int64(len(b)) {
			t.Fatalf("%q (max %d): got bare %v long %v size %d, want %v %v %d", b, ml, chk.bare, chk.long, chk.size, bare, long, len(b))
		}
		if (chk.failed() == nil) != (!bare && !long) {
			t.Fatalf("failed() disagrees")
		}
	})
}

// FuzzDotScan checks the raw-stream scan for CRLF "." CR <not LF> against a
// direct search, with the stream split anywhere.
func FuzzDotScan(f *testing.F) {
	for _, s := range []string{"a\r\n.\rb", "a\r\n.\r\n", "\r\n..\r", ".\rx", "x\r\n.\r"} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		c := &conn{}
		c.startDotScan()
		cut := 0
		if len(b) > 0 {
			cut = int(split) % (len(b) + 1)
		}
		c.scan(b[:cut])
		c.scan(b[cut:])
		// The text starts at a line start, as if preceded by CRLF.
		full := append([]byte("\r\n"), b...)
		want := false
		for i := 0; i+4 < len(full); i++ {
			if bytes.HasPrefix(full[i:], []byte("\r\n.\r")) && full[i+4] != '\n' {
				want = true
			}
		}
		if c.sawDotCR() != want {
			t.Fatalf("%q: scan %v, want %v", b, c.sawDotCR(), want)
		}
	})
}

func TestHeaderBounds(t *testing.T) {
	t.Parallel()
	hdr := strings.Repeat("A: b\r\n\tc\r\n", 10) + "\r\n" // 10 fields, 102 octets
	for _, tc := range []struct {
		max    int64
		fields int
		fail   bool
	}{{102, 10, false}, {101, 10, true}, {102, 9, true}, {0, 0, false}} {
		chk := &textChecker{maxHeader: tc.max, maxFields: tc.fields}
		chk.Write([]byte(hdr + strings.Repeat("body line\r\n", 1000)))
		if got := chk.failed() != nil; got != tc.fail {
			t.Errorf("limits %d/%d: failed %v (%d octets, %d fields)", tc.max, tc.fields, chk.failed(), chk.hdrSize, chk.fields)
		}
	}
}
