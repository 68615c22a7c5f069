package trace

import (
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"
)

// appendEvent appends e as one JSON object, the shape json.Marshal gives an Event (keys
// of attrs sorted), without reflection: the writer encodes every event, and this is
// most of what recording costs it.
func appendEvent(b []byte, e Event) []byte {
	b = append(b, `{"t":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","what":`...)
	b = appendString(b, e.What)
	b = append(b, `,"attrs":{`...)
	keys := make([]string, 0, len(e.Attrs))
	for k := range e.Attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, e.Attrs[k])
	}
	return append(b, "}}"...)
}

// appendString appends s as a JSON string; anything but plain printable text without
// quotes or backslashes is left to encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
