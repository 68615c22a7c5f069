package integration

import (
	"strings"
	"testing"
)

// TestAbuseLoginGuessing: 60 guesses at alice's password in mixed case from one
// client, with a successful login to the attacker's own account every fifth try, lock
// alice for that client (even with the right password), while alice's own other
// network still logs in and the attacker's own account is not locked.
func TestAbuseLoginGuessing(t *testing.T) {
	t.Parallel()
	s := abuseServer(t, "[limits]\nauth_max_delay = \"20ms\"\n")
	pw := strings.TrimSpace(rxPassword)
	variants := []string{"aLiCe@Example.test", "ALICE@example.test", "alice@EXAMPLE.TEST", "Alice+x@example.test", "alice@example.test"}
	locked := 0
	for i := 0; i < 60; i++ {
		if i%5 == 4 {
			if r := imapsLogin(t, s, "127.0.0.1", "mallory@example.test", pw); !strings.HasPrefix(r, "a1 OK") {
				t.Fatalf("the attacker's own login %d: %q", i, r)
			}
		}
		r := imapsLogin(t, s, "127.0.0.1", variants[i%len(variants)], "guess-"+variants[i%len(variants)])
		switch {
		case strings.HasPrefix(r, "a1 NO [UNAVAILABLE]"):
			locked++
		case strings.HasPrefix(r, "a1 NO"):
		default:
			t.Fatalf("guess %d: %q", i, r)
		}
	}
	if locked < 45 {
		t.Fatalf("only %d of 60 guesses met the lock", locked)
	}
	if r := imapsLogin(t, s, "127.0.0.1", "alice@example.test", pw); !strings.HasPrefix(r, "a1 NO [UNAVAILABLE]") {
		t.Fatalf("the right password from the attacker's client got through the lock: %q", r)
	}
	if r := imapsLogin(t, s, ownerIP, "alice@example.test", pw); !strings.HasPrefix(r, "a1 OK") {
		t.Fatalf("the owner's other network is locked out: %q", r)
	}
	if r := sieveLogin(t, s, ownerIP, "ALICE@example.test", pw); !strings.HasPrefix(r, "OK") {
		t.Fatalf("the owner's other network on ManageSieve: %q", r)
	}
	if !s.Running() {
		t.Fatal("daemon died")
	}
}
