package deliver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
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
//	alice@example.org  ->  SRS0=HHHH=TT=example.org=alice@ourdomain
//
// TT is the day (base32, two characters, modulo 1024), HHHH an HMAC over the day and the
// original address with a key kept in state_dir, so nobody can make us forward bounces to
// an address of their choice (no open relay through forged SRS addresses). Addresses
// older than srsMaxAge are refused. Local parts are compared case-insensitively, as they
// may come back lower-cased.
type srs struct {
	key []byte
	now func() time.Time
}

const srsMaxAge = 21 // days

var errSRS = errors.New("not a valid SRS address")

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
	return &srs{key: key, now: now}, nil
}

// srsAlphabet is base32's (RFC 4648): two characters carry a day number modulo 1024.
const srsAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func (s *srs) day(t time.Time) string {
	d := (t.Unix() / 86400) % 1024
	return string([]byte{srsAlphabet[d>>5], srsAlphabet[d&31]})
}

func (s *srs) hash(tt, domain, local string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.ToLower(tt + "=" + domain + "=" + local)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:4]
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
	if !hmac.Equal([]byte(strings.ToLower(hh)), []byte(strings.ToLower(s.hash(strings.ToUpper(tt), domain, orig)))) {
		return "", errSRS
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
