package store

import (
	"regexp"
	"testing"
)

func TestPasswordHashPHC(t *testing.T) {
	t.Parallel()
	p := Argon2Params{MemoryKiB: 256, Time: 2, Threads: 2}
	h, err := hashPassword("hunter2", p)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=256,t=2,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h) {
		t.Fatalf("hash %q is not the PHC form", h)
	}
	parsed, err := parsePHC(h)
	if err != nil || parsed.params != p {
		t.Fatalf("parsePHC = %+v, %v", parsed, err)
	}
	if !parsed.verify("hunter2") || parsed.verify("hunter3") || parsed.verify("") {
		t.Fatal("verify gives wrong answers")
	}
	h2, _ := hashPassword("hunter2", p)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	if got := DefaultArgon2Params(); got != (Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}) {
		t.Fatalf("DefaultArgon2Params = %+v", got)
	}
}

func TestParsePHCRejects(t *testing.T) {
	t.Parallel()
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	for _, s := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
	} {
		if _, err := parsePHC(s); err == nil {
			t.Errorf("parsePHC(%q) accepted it", s)
		}
	}
	if _, err := parsePHC("$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key); err != nil {
		t.Fatalf("valid string refused: %v", err)
	}
}

// FuzzParsePHC: the stored hash comes from the database, which an operator may edit by
// hand; a malformed one must fail cleanly and never ask for unbounded work.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if h.params.Time < 1 || h.params.Threads < 1 || h.params.MemoryKiB > 4<<20 || len(h.key) < 16 {
			t.Fatalf("accepted out-of-range %+v", h.params)
		}
		if again, err := parsePHC(formatPHC(h.params, h.salt, h.key)); err != nil || again.params != h.params {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
