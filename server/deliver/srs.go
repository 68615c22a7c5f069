package deliver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/postern/postern/store/durable"
)

// srs rewrites the envelope sender of forwarded mail (the Sender Rewriting Scheme), so
// that the relay accepts it as ours and SPF passes at the destination, while a bounce can
// still find its way back to the original sender:
//
//	alice@example.org  ->  SRS0=HHHHHHHH=TT=example.org=alice@ourdomain
//
// TT is the day (base32, two characters, modulo 1024), HHHHHHHH an HMAC over the day and
// the original address with a key kept in state_dir, 8 base32 characters (40 bits that
// survive case folding: a local part may come back lower-cased), so nobody can make us
// forward bounces to an address of their choice (no open relay through forged SRS
// addresses; guessing takes 2^40 tries, and bad SRS recipients count against the
// client's network in the limiter). Addresses older than srsMaxAge days, or dated in
// the future, are refused. The 4-character hashes of earlier versions still decode
// until srsMaxAge days after the first start with 8 (state_dir/srs.v2since).
type srs struct {
	key         []byte
	now         func() time.Time
	legacyUntil time.Time // 4-character hashes are accepted before this
}

const srsMaxAge = 21 // days

var errSRS = errors.New("not a valid SRS address")

// srsHashLen is the length of the hash in the addresses we make.
const srsHashLen = 8

// loadSRS reads the SRS key from dir/srs.key, creating it on first use.
func loadSRS(dir string, now func() time.Time) (*srs, error) {
	path := filepath.Join(dir, "srs.key")
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := durable.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("srs key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("srs key: %w", err)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("srs key %s is too short", path)
	}
	since, err := srsV2Since(dir, now)
	if err != nil {
		return nil, err
	}
	return &srs{key: key, now: now, legacyUntil: since.Add(srsMaxAge * 24 * time.Hour)}, nil
}

// srsV2Since reads (or records, on the first start with 8-character hashes) when this
// server began making them; the old 4-character ones are honoured srsMaxAge days after.
func srsV2Since(dir string, now func() time.Time) (time.Time, error) {
	path := filepath.Join(dir, "srs.v2since")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t := now().UTC()
		if err := durable.WriteFile(path, []byte(t.Format(time.RFC3339)+"\n"), 0o600); err != nil {
			return time.Time{}, fmt.Errorf("srs: %w", err)
		}
		return t, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("srs: %w", err)
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}, fmt.Errorf("srs: %s: %w", path, err)
	}
	return t, nil
}

// srsAlphabet is base32's (RFC 4648): two characters carry a day number modulo 1024.
const srsAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func (s *srs) day(t time.Time) string {
	d := (t.Unix() / 86400) % 1024
	return string([]byte{srsAlphabet[d>>5], srsAlphabet[d&31]})
}

func (s *srs) mac(tt, domain, local string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.ToLower(tt + "=" + domain + "=" + local)))
	return m.Sum(nil)
}

// hash is the 8-character base32 hash (upper case; compared after upper-casing).
func (s *srs) hash(tt, domain, local string) string {
	return base32.StdEncoding.EncodeToString(s.mac(tt, domain, local))[:srsHashLen]
}

// legacyHash is the 4-character hash of earlier versions (compared lower-cased).
func (s *srs) legacyHash(tt, domain, local string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(tt, domain, local))[:4]
}

// validHash checks hh against the current hash, or against the legacy one while the
// transition window is open.
func (s *srs) validHash(hh, tt, domain, local string) bool {
	switch {
	case len(hh) == srsHashLen:
		return hmac.Equal([]byte(strings.ToUpper(hh)), []byte(s.hash(tt, domain, local)))
	case len(hh) == 4 && s.now().Before(s.legacyUntil):
		return hmac.Equal([]byte(strings.ToLower(hh)), []byte(strings.ToLower(s.legacyHash(tt, domain, local))))
	}
	return false
}

// Forward rewrites sender for mail we forward from ourDomain. The null sender and
// addresses already in our domain are left alone.
func (s *srs) Forward(sender, ourDomain string) string {
	at := strings.LastIndexByte(sender, '@')
	if sender == "" || at < 0 || strings.EqualFold(sender[at+1:], ourDomain) {
		return sender
	}
	local, domain := sender[:at], sender[at+1:]
	if strings.HasPrefix(strings.ToUpper(local), "SRS0=") {
		// Forwarding an SRS address again: keep it (SRS1 chains are not needed for one hop
		// of our own, and a foreign SRS0 address bounces back to its forwarder anyway).
		return sender
	}
	tt := s.day(s.now())
	return fmt.Sprintf("SRS0=%s=%s=%s=%s@%s", s.hash(tt, domain, local), tt, domain, local, ourDomain)
}

// Reverse returns the original sender of an SRS0 local part, or errSRS.
func (s *srs) Reverse(local string) (string, error) {
	if len(local) < 5 || !strings.EqualFold(local[:5], "SRS0=") {
		return "", errSRS
	}
	parts := strings.SplitN(local[5:], "=", 4)
	if len(parts) != 4 {
		return "", errSRS
	}
	hh, tt, domain, orig := parts[0], parts[1], parts[2], parts[3]
	if !s.validHash(hh, strings.ToUpper(tt), domain, orig) {
		return "", fmt.Errorf("%w: bad hash", errSRS)
	}
	if !s.fresh(strings.ToUpper(tt)) {
		return "", fmt.Errorf("%w: expired", errSRS)
	}
	return orig + "@" + domain, nil
}

// fresh checks the day stamp is within srsMaxAge days of today (modulo 1024).
func (s *srs) fresh(tt string) bool {
	if len(tt) != 2 {
		return false
	}
	hi, lo := strings.IndexByte(srsAlphabet, tt[0]), strings.IndexByte(srsAlphabet, tt[1])
	if hi < 0 || lo < 0 {
		return false
	}
	then := int64(hi)<<5 | int64(lo)
	today := (s.now().Unix() / 86400) % 1024
	age := (today - then + 1024) % 1024
	return age <= srsMaxAge
}
