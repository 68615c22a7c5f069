package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id cost parameters (RFC 9106).
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2Params are used when Options.Argon2 is zero: m=19 MiB, t=2, p=1, the
// argon2id setting OWASP's password storage guidance recommends. A homelab box answers
// bursts of logins (a phone opens several IMAP connections at once), and 64 MiB per hash
// made a burst cost hundreds of MiB of memory for no gain a mail password needs; hashes
// made under other parameters are upgraded at the next successful login.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}
}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
	// maxPasswordLen bounds the work one login attempt can cause.
	maxPasswordLen = 1024
)

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// hashPassword returns the PHC string $argon2id$v=19$m=M,t=T,p=P$SALT$HASH.
func hashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, argonKeyLen)
	return formatPHC(p, salt, key), nil
}

func formatPHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

// parsePHC parses what formatPHC writes. It is strict: a hash it cannot parse fails
// authentication instead of being guessed at. Limits keep a corrupted row from asking
// for absurd work.
func parsePHC(s string) (phc, error) {
	var out phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return out, fmt.Errorf("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return out, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var m, t, p uint64
	seen := 0
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return out, fmt.Errorf("bad parameter %q", kv)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return out, fmt.Errorf("bad parameter %q", kv)
		}
		switch k {
		case "m":
			m, seen = n, seen|1
		case "t":
			t, seen = n, seen|2
		case "p":
			p, seen = n, seen|4
		default:
			return out, fmt.Errorf("unknown parameter %q", k)
		}
	}
	if seen != 7 {
		return out, fmt.Errorf("missing parameter in %q", parts[3])
	}
	if t < 1 || t > 100 || p < 1 || p > 255 || m < 8*p || m > 4<<20 {
		return out, fmt.Errorf("parameters out of range: m=%d t=%d p=%d", m, t, p)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return out, fmt.Errorf("bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return out, fmt.Errorf("bad hash")
	}
	out.params = Argon2Params{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(p)}
	out.salt, out.key = salt, key
	return out, nil
}

// verify recomputes the key under the stored parameters and compares in constant time.
func (h phc) verify(password string) bool {
	got := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// dummyHash is a well-formed hash no password matches (its key is random, not derived),
// verified against for unknown users so they cost what known users cost.
func dummyHash(p Argon2Params) (string, error) {
	salt := make([]byte, argonSaltLen)
	key := make([]byte, argonKeyLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return formatPHC(p, salt, key), nil
}

func checkNewPassword(pw string) error {
	switch {
	case pw == "":
		return fmt.Errorf("%w: empty password", ErrInvalid)
	case len(pw) > maxPasswordLen:
		return fmt.Errorf("%w: password longer than %d bytes", ErrInvalid, maxPasswordLen)
	}
	return nil
}
