package passhash

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Work-factor bounds: far above what Dovecot writes, low enough that one login cannot
// take minutes or exhaust memory.
const (
	maxArgonMemKiB   = 1 << 20 // 1 GiB
	maxArgonTime     = 64
	maxBcryptCost    = 16
	maxPBKDF2Rounds  = 2_000_000
	maxSHACryptRound = 2_000_000
)

// verifyArgon2 checks a PHC string $argon2id$v=19$m=..,t=..,p=..$salt$key (or argon2i).
func verifyArgon2(data, password string) (bool, error) {
	parts := strings.Split(data, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return false, fmt.Errorf("%w: not an argon2 PHC string", ErrUnsupported)
	}
	if parts[2] != "v=19" {
		return false, fmt.Errorf("%w: argon2 version %q", ErrUnsupported, parts[2])
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return false, fmt.Errorf("%w: argon2 parameter %q", ErrUnsupported, kv)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return false, fmt.Errorf("%w: argon2 parameter %q", ErrUnsupported, kv)
		}
	}
	if t < 1 || t > maxArgonTime || p < 1 || p > 255 || m < 8*p || m > maxArgonMemKiB {
		return false, fmt.Errorf("%w: argon2 parameters out of bounds (m=%d t=%d p=%d)", ErrUnsupported, m, t, p)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 4 || len(key) > 1024 {
		return false, fmt.Errorf("%w: argon2 salt or key", ErrUnsupported)
	}
	var got []byte
	if parts[1] == "argon2id" {
		got = argon2.IDKey([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(len(key)))
	} else {
		got = argon2.Key([]byte(password), salt, uint32(t), uint32(m), uint8(p), uint32(len(key)))
	}
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// verifyBcrypt checks $2a$/$2b$/$2y$ strings. bcrypt compares in constant time.
func verifyBcrypt(data, password string) (bool, error) {
	cost, err := bcrypt.Cost([]byte(data))
	if err != nil {
		return false, fmt.Errorf("%w: bcrypt: %w", ErrUnsupported, err)
	}
	if cost > maxBcryptCost {
		return false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrUnsupported, cost, maxBcryptCost)
	}
	if len(password) > 72 {
		// bcrypt ignores bytes past 72; x/crypto refuses them. Dovecot (libxcrypt)
		// truncates, so a user's long password must keep working.
		password = password[:72]
	}
	err = bcrypt.CompareHashAndPassword([]byte(data), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("%w: bcrypt: %w", ErrUnsupported, err)
}

// verifyPBKDF2 checks Dovecot's PBKDF2 form $1$SALT$ROUNDS$HEX: PBKDF2-HMAC-SHA1 over the
// salt's bytes as written, the key length being the hex string's.
func verifyPBKDF2(data, password string) (bool, error) {
	parts := strings.Split(data, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "1" {
		return false, fmt.Errorf("%w: not a $1$salt$rounds$hex PBKDF2 string", ErrUnsupported)
	}
	rounds, err := strconv.Atoi(parts[3])
	if err != nil || rounds < 1 || rounds > maxPBKDF2Rounds {
		return false, fmt.Errorf("%w: PBKDF2 rounds %q", ErrUnsupported, parts[3])
	}
	want, err := hex.DecodeString(parts[4])
	if err != nil || len(want) < 8 || len(want) > 64 {
		return false, fmt.Errorf("%w: PBKDF2 key", ErrUnsupported)
	}
	got, err := pbkdf2.Key(sha1.New, password, []byte(parts[2]), rounds, len(want))
	if err != nil {
		return false, fmt.Errorf("%w: PBKDF2: %w", ErrUnsupported, err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
