package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour, "90s": 90 * time.Second} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "d", "30x", "1.5d", "99999999d", "-5m"} {
		if got, err := ParseAge(bad); err == nil {
			t.Errorf("ParseAge(%q) = %v, want an error", bad, got)
		}
	}
}

func TestAutoexpungeOffByDefault(t *testing.T) {
	t.Parallel()
	if junk, trash := Default().Mailbox.Ages(); junk != 0 || trash != 0 {
		t.Errorf("default autoexpunge junk=%v trash=%v, want off", junk, trash)
	}
	_, err := Parse([]byte("hostname = \"mail.example.org\"\n[mailbox]\nautoexpunge_junk = \"soon\"\n"), "/etc/postern/postern.toml")
	if err == nil || !strings.Contains(err.Error(), "mailbox.autoexpunge_junk") {
		t.Errorf("a bad age was not reported on its key: %v", err)
	}
}
