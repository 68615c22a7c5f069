package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLoggerFormats(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		format string
		check  func(string) bool
	}{
		{"json", func(s string) bool {
			var m map[string]any
			return json.Unmarshal([]byte(s), &m) == nil && m["msg"] == "delivered" && m["to"] == "a@b.test"
		}},
		{"logfmt", func(s string) bool { return strings.Contains(s, "msg=delivered") && strings.Contains(s, "to=a@b.test") }},
		{"text", func(s string) bool {
			return strings.Contains(s, "INFO  delivered") && strings.Contains(s, "service=smtp to=a@b.test") && strings.Contains(s, `reason="two words"`)
		}},
		{"auto", func(s string) bool { return json.Valid([]byte(s)) }}, // not a terminal
	} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, c.format, "info")
		if err != nil {
			t.Fatal(err)
		}
		log.Debug("hidden")
		log.With("service", "smtp").Info("delivered", "to", "a@b.test", "reason", "two words")
		if out := strings.TrimSpace(buf.String()); !c.check(out) || strings.Contains(out, "hidden") {
			t.Errorf("format %s: %q", c.format, out)
		}
	}
	if _, err := newLogger(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := newLogger(&bytes.Buffer{}, "json", "loud"); err == nil {
		t.Error("unknown level accepted")
	}
}
