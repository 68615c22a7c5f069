package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// authCache remembers recent successful argon2id verifications so that a phone that
// reconnects to IMAP every few minutes does not cost 100 ms and 64 MiB each time.
//
// It is safe by construction rather than by invalidation: an entry holds the PHC string
// it was verified against and an HMAC (under a per-process random key) of that string and
// the password. A hit requires the user's *current* stored hash to equal the entry's, so a
// password change, in this process or another, makes old entries dead; the disabled flag
// and the user's existence are read from the database on every call and never cached.
// Calls to forget on passwd/disable/remove only free memory early.
type authCache struct {
	mu  sync.Mutex
	key [32]byte
	m   map[string]authEntry
}

type authEntry struct {
	phc     string
	mac     [32]byte
	expires time.Time
}

const (
	authCacheTTL = 15 * time.Minute
	authCacheMax = 4096
)

func newAuthCache() *authCache {
	c := &authCache{m: make(map[string]authEntry)}
	if _, err := rand.Read(c.key[:]); err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+ panics itself).
		panic("store: crypto/rand: " + err.Error())
	}
	return c
}

func (c *authCache) mac(phc, password string) [32]byte {
	h := hmac.New(sha256.New, c.key[:])
	h.Write([]byte(phc))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// hit reports whether password was verified against exactly this phc recently.
func (c *authCache) hit(addr, phc, password string, now time.Time) bool {
	c.mu.Lock()
	e, ok := c.m[addr]
	c.mu.Unlock()
	if !ok || e.phc != phc || !now.Before(e.expires) {
		return false
	}
	want := c.mac(phc, password)
	return hmac.Equal(want[:], e.mac[:])
}

func (c *authCache) put(addr, phc, password string, now time.Time) {
	e := authEntry{phc: phc, mac: c.mac(phc, password), expires: now.Add(authCacheTTL)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= authCacheMax {
		c.evict(now)
	}
	c.m[addr] = e
}

// evict drops expired entries, or, if none are, an arbitrary tenth of them: a bounded
// cache only ever costs a re-verification.
func (c *authCache) evict(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
	n := authCacheMax / 10
	for k := range c.m {
		if len(c.m) < authCacheMax || n == 0 {
			break
		}
		delete(c.m, k)
		n--
	}
}

func (c *authCache) forget(addr string) {
	c.mu.Lock()
	delete(c.m, addr)
	c.mu.Unlock()
}
