package mimeparse

import (
	"strings"
	"testing"
)

// FuzzParse: any input parses without panic; offsets stay inside the message and in
// order; the tree respects the limits; and what Parse allocates is bounded by a
// constant plus a small multiple of the input, whatever its shape.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add(nested(120, false, "x"))
	f.Add(nested(120, true, "x"))
	f.Add("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: s\r\n\r\nb\r\n--d--\r\n")
	f.Add("To: g: ; , \"a\" <@r:b@c>, (c) d@e (x), ;;:::,\r\n\r\n")
	lim := Limits{MaxDepth: 20, MaxParts: 200}
	f.Fuzz(func(t *testing.T, m string) {
		var root *Part
		alloc := heapGrowth(func() { root, _ = Parse(strings.NewReader(m), lim) })
		if alloc > 1<<20+uint64(len(m))*64 {
			t.Fatalf("parsing %d bytes allocated %d", len(m), alloc)
		}
		n := 0
		root.Walk(func(q *Part) bool {
			n++
			if q.Offset < 0 || q.Offset > q.BodyOffset || q.BodyOffset > q.End || q.End > int64(len(m)) {
				t.Fatalf("offsets %d %d %d of %d", q.Offset, q.BodyOffset, q.End, len(m))
			}
			if q.Depth >= lim.MaxDepth {
				t.Fatalf("depth %d", q.Depth)
			}
			_ = q.Header.Envelope()
			return true
		})
		if n > lim.MaxParts {
			t.Fatalf("%d parts", n)
		}
	})
}
