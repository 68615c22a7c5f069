package store

import (
	"context"
	"strings"
	"testing"
)

func TestImportedHashUpgradedAtFirstLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.test")
	// doveadm pw -s SHA512-CRYPT -p 'pässwörd 1'
	const h = "{SHA512-CRYPT}$6$pf2ByLsWoFvfXINQ$HSWaw/g31A6Zx878pLS2FBCwg6R5Ghn1/k5Dc8cGI8XbQeRGenqRfgyjun0jNJwglvVGo6STkNuld1TbBEW7x0"
	if _, err := s.ImportUser(ctx, "alice@example.test", h, UserOptions{QuotaBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.test", "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if got := storedHash(t, s, "alice@example.test"); got != h {
		t.Fatalf("a failed login changed the hash to %q", got)
	}
	if _, err := s.Authenticate(ctx, "alice@example.test", "pässwörd 1"); err != nil {
		t.Fatalf("imported password refused: %v", err)
	}
	if got := storedHash(t, s, "alice@example.test"); !strings.HasPrefix(got, "$argon2id$") {
		t.Fatalf("hash not upgraded after login: %q", got)
	}
	if _, err := s.Authenticate(ctx, "alice@example.test", "pässwörd 1"); err != nil {
		t.Fatalf("upgraded password refused: %v", err)
	}
}

func TestImportUserRefusesUnknownScheme(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	mustDomain(t, s, "example.test")
	for _, h := range []string{"{RPA}abc", "plain", "{PLAIN}a\nb"} {
		_, err := s.ImportUser(context.Background(), "bob@example.test", h, UserOptions{})
		wantErr(t, err, ErrInvalid)
	}
}

func storedHash(t *testing.T, s *Store, addr string) string {
	t.Helper()
	var h string
	if err := s.r.QueryRow("SELECT password_hash FROM users WHERE address = ?", addr).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}
