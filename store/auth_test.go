package store

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "correct horse")

	u, err := s.Authenticate(ctx, "Alice@EXAMPLE.org", "correct horse")
	if err != nil || u.Address != "alice@example.org" {
		t.Fatalf("Authenticate(good) = %+v, %v", u, err)
	}
	for _, c := range []struct{ addr, pw, reason string }{
		{"alice@example.org", "Correct horse", "wrong password"},
		{"alice@example.org", "", "malformed"},
		{"alice@example.org", strings.Repeat("p", 5000), "malformed"},
		{"bob@example.org", "correct horse", "unknown user"},
		{"not-an-address", "correct horse", "malformed"},
	} {
		_, err := s.Authenticate(ctx, c.addr, c.pw)
		wantErr(t, err, ErrAuthFailed)
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("Authenticate(%q) error %q lacks reason %q", c.addr, err, c.reason)
		}
	}

	// Disabled: refused even with the right password, and the cached success does not help.
	if err := s.SetDisabled(ctx, "alice@example.org", true); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, "alice@example.org", "correct horse")
	wantErr(t, err, ErrAuthFailed)
	if !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("error %q does not say disabled", err)
	}
	if err := s.SetDisabled(ctx, "alice@example.org", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.org", "correct horse"); err != nil {
		t.Fatalf("re-enabled user: %v", err)
	}

	// A new password replaces the old one at once, cache or not.
	if err := s.SetPassword(ctx, "alice@example.org", "battery staple"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, "alice@example.org", "correct horse")
	wantErr(t, err, ErrAuthFailed)
	if _, err := s.Authenticate(ctx, "alice@example.org", "battery staple"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}

// The hash semaphore lets a test see whether Authenticate runs argon2id: with every slot
// taken, a call that needs a hash waits for one until its context expires, and a call that
// does not (cached success, app password) goes through.
func TestAuthenticateWorkIsPredictable(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	secret, _, err := s.AddAppPassword(ctx, "alice@example.org", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}

	for range cap(s.hashSem) {
		s.hashSem <- struct{}{}
	}
	// Unknown user, wrong password and garbage all pay for a hash: no shortcut reveals which.
	for _, c := range [][2]string{{"nobody@example.org", "pw"}, {"alice@example.org", "wrong"}, {"x", "pw"}} {
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := s.Authenticate(short, c[0], c[1])
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting to hash") {
			t.Errorf("Authenticate(%q, %q) = %v; want it to wait for a hash slot", c[0], c[1], err)
		}
	}
	// Cached success and app passwords need no argon2id (they would block forever).
	long, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := s.Authenticate(long, "alice@example.org", "pw"); err != nil {
		t.Errorf("cached password needed a hash: %v", err)
	}
	if _, err := s.Authenticate(long, "alice@example.org", secret); err != nil {
		t.Errorf("app password needed a hash: %v", err)
	}
}

func TestAuthCacheIsBoundToTheStoredHash(t *testing.T) {
	t.Parallel()
	c := newAuthCache()
	now := time.Unix(1000, 0)
	c.put("a@x.org", "hash1", "pw", now)
	if !c.hit("a@x.org", "hash1", "pw", now) {
		t.Fatal("no hit for what was put")
	}
	for _, miss := range []struct{ addr, phc, pw string }{
		{"a@x.org", "hash2", "pw"}, {"a@x.org", "hash1", "pw2"}, {"b@x.org", "hash1", "pw"},
	} {
		if c.hit(miss.addr, miss.phc, miss.pw, now) {
			t.Errorf("hit for %+v", miss)
		}
	}
	if c.hit("a@x.org", "hash1", "pw", now.Add(authCacheTTL)) {
		t.Error("hit after expiry")
	}
	c.forget("a@x.org")
	if c.hit("a@x.org", "hash1", "pw", now) {
		t.Error("hit after forget")
	}
	for i := range authCacheMax + 10 {
		c.put("u"+strconv.Itoa(i)+"@x.org", "h", "p", now)
	}
	if len(c.m) > authCacheMax {
		t.Fatalf("cache grew to %d entries, max %d", len(c.m), authCacheMax)
	}
}

func TestAppPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "main password")
	mustUser(t, s, "bob@example.org", "bobs password")

	secret, ap, err := s.AddAppPassword(ctx, "alice@example.org", "phone")
	if err != nil || ap.Name != "phone" || ap.CreatedAt.IsZero() || !ap.LastUsed.IsZero() {
		t.Fatalf("AddAppPassword = %q %+v %v", secret, ap, err)
	}
	if !regexp.MustCompile(`^[a-z0-9]{4}(-[a-z0-9]{4}){3}$`).MatchString(secret) {
		t.Fatalf("secret %q is not four groups of four", secret)
	}
	secret2, _, err := s.AddAppPassword(ctx, "alice@example.org", "laptop")
	if err != nil || secret2 == secret {
		t.Fatalf("second secret %q (first %q), %v", secret2, secret, err)
	}
	_, _, err = s.AddAppPassword(ctx, "alice@example.org", "phone")
	wantErr(t, err, ErrExists)
	_, _, err = s.AddAppPassword(ctx, "nobody@example.org", "phone")
	wantErr(t, err, ErrNotFound)
	for _, bad := range []string{"", " phone", "a\x00b", strings.Repeat("n", 65)} {
		_, _, err = s.AddAppPassword(ctx, "alice@example.org", bad)
		wantErr(t, err, ErrInvalid)
	}

	// Usable wherever the password is, typed any reasonable way.
	for _, typed := range []string{secret, strings.ToUpper(secret), strings.ReplaceAll(secret, "-", ""), strings.ReplaceAll(secret, "-", " ")} {
		u, err := s.Authenticate(ctx, "alice@example.org", typed)
		if err != nil || u.Address != "alice@example.org" {
			t.Fatalf("Authenticate with app password %q: %v", typed, err)
		}
	}
	if _, err := s.Authenticate(ctx, "alice@example.org", "main password"); err != nil {
		t.Fatalf("main password stopped working: %v", err)
	}
	// Not another user's.
	_, err = s.Authenticate(ctx, "bob@example.org", secret)
	wantErr(t, err, ErrAuthFailed)

	list, err := s.ListAppPasswords(ctx, "alice@example.org")
	if err != nil || len(list) != 2 || list[0].Name != "laptop" || list[1].Name != "phone" {
		t.Fatalf("ListAppPasswords = %+v, %v", list, err)
	}
	if list[1].LastUsed.IsZero() || !list[0].LastUsed.IsZero() {
		t.Fatalf("LastUsed not recorded for the used one only: %+v", list)
	}
	if u, _ := s.GetUser(ctx, "alice@example.org"); u.AppPasswords != 2 {
		t.Fatalf("User.AppPasswords = %d, want 2", u.AppPasswords)
	}
	_, err = s.ListAppPasswords(ctx, "nobody@example.org")
	wantErr(t, err, ErrNotFound)

	// Disabled users cannot use app passwords either.
	if err := s.SetDisabled(ctx, "alice@example.org", true); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, "alice@example.org", secret)
	wantErr(t, err, ErrAuthFailed)
	if err := s.SetDisabled(ctx, "alice@example.org", false); err != nil {
		t.Fatal(err)
	}

	if err := s.RevokeAppPassword(ctx, "alice@example.org", "phone"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.RevokeAppPassword(ctx, "alice@example.org", "phone"), ErrNotFound)
	_, err = s.Authenticate(ctx, "alice@example.org", secret)
	wantErr(t, err, ErrAuthFailed)
	if _, err := s.Authenticate(ctx, "alice@example.org", secret2); err != nil {
		t.Fatalf("revoking one app password broke another: %v", err)
	}
}

func TestNewAppSecretIsUniform(t *testing.T) {
	t.Parallel()
	counts := map[byte]int{}
	const n = 2000
	for range n {
		s, err := newAppSecret()
		if err != nil {
			t.Fatal(err)
		}
		c, ok := canonicalAppSecret(s)
		if !ok {
			t.Fatalf("generated secret %q is not canonicalisable", s)
		}
		for i := 0; i < len(c); i++ {
			counts[c[i]]++
		}
	}
	if len(counts) != len(appAlphabet) {
		t.Fatalf("only %d of %d characters seen", len(counts), len(appAlphabet))
	}
	mean := n * appSecretLen / len(appAlphabet)
	for c, k := range counts {
		if k < mean*7/10 || k > mean*13/10 {
			t.Errorf("character %q seen %d times, mean %d", c, k, mean)
		}
	}
}

func TestAuthenticateUpgradesHashParameters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := t.TempDir() + "/postern.db"
	s := openAt(t, path)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "alice@example.org", "pw")
	s.Close()

	opts := testOptions()
	opts.Argon2 = Argon2Params{MemoryKiB: 128, Time: 2, Threads: 1}
	s2, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Authenticate(ctx, "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	var phc string
	if err := s2.r.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE address = 'alice@example.org'").Scan(&phc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(phc, "$m=128,t=2,p=1$") {
		t.Fatalf("hash not upgraded: %s", phc)
	}
	if _, err := s2.Authenticate(ctx, "alice@example.org", "pw"); err != nil {
		t.Fatalf("upgraded hash does not verify: %v", err)
	}
	_, err = s2.Authenticate(ctx, "alice@example.org", "wrong")
	wantErr(t, err, ErrAuthFailed)
}

// TestConcurrentLoginsShareOneHash: identical logins at the same moment run argon2id once.
func TestConcurrentLoginsShareOneHash(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	mustDomain(t, s, "example.test")
	mustUser(t, s, "alice@example.test", "correct horse")
	// Hold the only hash slot so every login queues behind the first verification.
	s.hashSem = make(chan struct{}, 1)
	s.hashSem <- struct{}{}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Authenticate(context.Background(), "alice@example.test", "correct horse")
		}()
	}
	// Wait until one verification is in flight and the seven others joined it.
	for joined := 0; joined < len(errs)-1; runtime.Gosched() {
		s.flights.mu.Lock()
		joined = 0
		for _, c := range s.flights.m {
			joined = c.waiters
		}
		s.flights.mu.Unlock()
	}
	<-s.hashSem // let the single hash run
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if s.flights.runs != 1 {
		t.Fatalf("%d argon2id verifications for 8 identical logins, want 1", s.flights.runs)
	}
}
