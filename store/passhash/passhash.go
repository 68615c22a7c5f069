package passhash

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// ErrUnsupported is wrapped when a hash's scheme is unknown or its data malformed.
var ErrUnsupported = errors.New("passhash: unsupported or malformed hash")

// IsForeign reports whether stored is in the "{SCHEME}..." form this package verifies
// (as opposed to the store's own bare argon2id PHC string).
func IsForeign(stored string) bool {
	return strings.HasPrefix(stored, "{") && strings.Contains(stored, "}")
}

// Scheme returns the upper-case scheme name of stored without its encoding suffix
// ("SHA512-CRYPT"), CRYPT for a hash without braces.
func Scheme(stored string) string {
	s, _, _ := split(stored)
	return s
}

// split separates "{SCHEME.enc}data".
func split(stored string) (scheme, enc, data string) {
	if !strings.HasPrefix(stored, "{") {
		return "CRYPT", "", stored
	}
	end := strings.IndexByte(stored, '}')
	if end < 0 {
		return "", "", stored
	}
	scheme = strings.ToUpper(stored[1:end])
	scheme, enc, _ = strings.Cut(scheme, ".")
	return scheme, strings.ToLower(enc), stored[end+1:]
}

// Verify reports whether password matches stored. The error (wrapping ErrUnsupported)
// says the hash cannot be checked at all: unknown scheme, malformed data or a work factor
// beyond the bounds.
func Verify(stored, password string) (bool, error) {
	scheme, enc, data := split(stored)
	switch scheme {
	case "PLAIN", "CLEAR", "CLEARTEXT":
		a, b := sha256.Sum256([]byte(data)), sha256.Sum256([]byte(password))
		return subtle.ConstantTimeCompare(a[:], b[:]) == 1, nil
	case "ARGON2ID", "ARGON2I":
		return verifyArgon2(data, password)
	case "SHA512-CRYPT", "SHA256-CRYPT", "MD5-CRYPT", "BLF-CRYPT", "CRYPT", "DES-CRYPT":
		return verifyCrypt(data, password)
	case "PBKDF2":
		return verifyPBKDF2(data, password)
	case "SSHA512":
		return verifySalted(sha512.New, enc, data, password)
	case "SSHA256":
		return verifySalted(sha256.New, enc, data, password)
	case "SSHA":
		return verifySalted(sha1.New, enc, data, password)
	case "SMD5":
		return verifySalted(md5.New, enc, data, password)
	case "SHA512":
		return verifyPlainDigest(sha512.New, enc, data, password)
	case "SHA256":
		return verifyPlainDigest(sha256.New, enc, data, password)
	case "SHA", "SHA1":
		return verifyPlainDigest(sha1.New, enc, data, password)
	case "PLAIN-MD5", "LDAP-MD5":
		if enc == "" && scheme == "PLAIN-MD5" {
			enc = "hex"
		}
		return verifyPlainDigest(md5.New, enc, data, password)
	}
	return false, fmt.Errorf("%w: scheme %q", ErrUnsupported, scheme)
}

// verifyCrypt dispatches a crypt(3) string by its prefix.
func verifyCrypt(data, password string) (bool, error) {
	var got string
	var err error
	switch {
	case strings.HasPrefix(data, "$6$"):
		got, err = shaCrypt(sha512.New, "$6$", data, password)
	case strings.HasPrefix(data, "$5$"):
		got, err = shaCrypt(sha256.New, "$5$", data, password)
	case strings.HasPrefix(data, "$1$"):
		got, err = md5Crypt(data, password)
	case strings.HasPrefix(data, "$2"):
		return verifyBcrypt(data, password)
	case len(data) == 13 && !strings.HasPrefix(data, "$"):
		got, err = desCrypt(data, password)
	default:
		return false, fmt.Errorf("%w: crypt string with an unknown prefix", ErrUnsupported)
	}
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(data)) == 1, nil
}

// decode reads a digest in Dovecot's encoding: base64 by default (or .b64), hex (.hex).
// A plain-digest scheme written as hex without the suffix is recognised by its length.
func decode(enc, data string, want int) ([]byte, error) {
	if enc == "hex" || (enc == "" && want > 0 && len(data) == 2*want && isHex(data)) {
		b, err := hex.DecodeString(data)
		if err != nil {
			return nil, fmt.Errorf("%w: bad hex", ErrUnsupported)
		}
		return b, nil
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64", ErrUnsupported)
	}
	return b, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// verifySalted checks {SSHA*}: encoding of digest(password + salt) + salt.
func verifySalted(h func() hash.Hash, enc, data, password string) (bool, error) {
	size := h().Size()
	raw, err := decode(enc, data, 0)
	if err != nil {
		return false, err
	}
	if len(raw) <= size {
		return false, fmt.Errorf("%w: salted digest too short", ErrUnsupported)
	}
	d := h()
	d.Write([]byte(password))
	d.Write(raw[size:])
	return subtle.ConstantTimeCompare(d.Sum(nil), raw[:size]) == 1, nil
}

// verifyPlainDigest checks an unsalted digest.
func verifyPlainDigest(h func() hash.Hash, enc, data, password string) (bool, error) {
	d := h()
	raw, err := decode(enc, data, d.Size())
	if err != nil {
		return false, err
	}
	if len(raw) != d.Size() {
		return false, fmt.Errorf("%w: digest of %d bytes, want %d", ErrUnsupported, len(raw), d.Size())
	}
	d.Write([]byte(password))
	return subtle.ConstantTimeCompare(d.Sum(nil), raw) == 1, nil
}

// Known reports whether Verify handles scheme (as Scheme returns it).
func Known(scheme string) bool {
	switch scheme {
	case "PLAIN", "CLEAR", "CLEARTEXT", "ARGON2ID", "ARGON2I", "SHA512-CRYPT", "SHA256-CRYPT",
		"MD5-CRYPT", "BLF-CRYPT", "CRYPT", "DES-CRYPT", "PBKDF2", "SSHA512", "SSHA256", "SSHA",
		"SMD5", "SHA512", "SHA256", "SHA", "SHA1", "PLAIN-MD5", "LDAP-MD5":
		return true
	}
	return false
}
