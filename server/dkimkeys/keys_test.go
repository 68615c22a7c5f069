package dkimkeys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerateActivateRotate(t *testing.T) {
	t.Parallel()
	d := Dir(t.TempDir())
	if _, err := d.Active("example.org"); err != ErrNoKey {
		t.Fatalf("Active before any key: %v, want ErrNoKey", err)
	}
	k1, active, err := d.Generate("Example.ORG", "one", Ed25519)
	if err != nil || !active {
		t.Fatalf("first key: active=%v err=%v", active, err)
	}
	if !strings.HasPrefix(k1.TXT(), "v=DKIM1; k=ed25519; p=") || k1.RecordName() != "one._domainkey.example.org." {
		t.Errorf("record %s %s", k1.RecordName(), k1.TXT())
	}
	fi, err := os.Stat(filepath.Join(string(d), "example.org", "one.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	// A second key does not take over until activated (rotation).
	k2, active, err := d.Generate("example.org", "two", RSA)
	if err != nil || active {
		t.Fatalf("second key: active=%v err=%v", active, err)
	}
	if got, _ := d.Active("example.org"); got.Selector != "one" {
		t.Errorf("active = %s, want one", got.Selector)
	}
	if err := d.Activate("example.org", "two"); err != nil {
		t.Fatal(err)
	}
	got, err := d.Active("example.org")
	if err != nil || got.Selector != "two" || got.TXT() != k2.TXT() {
		t.Fatalf("after rotation: %+v %v", got, err)
	}
	// An RSA record is split into 255-octet strings.
	if line := k2.ZoneLine(); !strings.Contains(line, `" "`) {
		t.Errorf("RSA zone line not split: %s", line)
	}
	if _, _, err := d.Generate("example.org", "two", Ed25519); err == nil {
		t.Error("an existing selector was overwritten")
	}
	for _, bad := range []string{"", "UPPER", "a/b", "-x", "a.b"} {
		if _, _, err := d.Generate("example.org", bad, Ed25519); err == nil {
			t.Errorf("selector %q accepted", bad)
		}
	}
	if _, _, err := d.Generate("../etc", "x", Ed25519); err == nil {
		t.Error("domain ../etc accepted")
	}
	if err := d.Activate("example.org", "missing"); err == nil {
		t.Error("activating a missing selector succeeded")
	}
	if s := DefaultSelector(time.Date(2026, 7, 15, 0, 0, 0, 0, time.UTC), Ed25519); s != "20260715-ed25519" || !selectorRE.MatchString(s) {
		t.Errorf("DefaultSelector = %s", s)
	}
}
