package deliver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/postern/postern/store"
)

// directoryTTL is how long a lookup answer is reused. A message's recipients are looked
// up at RCPT and again at delivery a moment later, and a busy inbound burst asks the same
// few questions thousands of times; two seconds removes almost all of those queries while
// an admin's change (a new alias, a removed user) still takes effect at once for any
// practical purpose.
const directoryTTL = 2 * time.Second

// maxDirectoryCache bounds the cache; a flood of distinct addresses only evicts.
const maxDirectoryCache = 4096

// Directory answers resolution lookups from a short-lived cache in front of the
// store. Errors are never cached.
type Directory struct {
	dir addressStore
	now func() time.Time

	mu sync.Mutex
	m  map[string]cachedAnswer
}

type cachedAnswer struct {
	expires time.Time
	b       bool
	user    store.User
	targets []string
	err     error // only store.ErrNotFound is kept
}

func NewDirectory(dir addressStore, now func() time.Time) *Directory {
	return &Directory{dir: dir, now: now, m: map[string]cachedAnswer{}}
}

func (c *Directory) get(key string) (cachedAnswer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[key]
	if !ok || c.now().After(a.expires) {
		return cachedAnswer{}, false
	}
	return a, true
}

func (c *Directory) put(key string, a cachedAnswer) {
	a.expires = c.now().Add(directoryTTL)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxDirectoryCache {
		now := c.now()
		for k, v := range c.m {
			if now.After(v.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxDirectoryCache {
			c.m = map[string]cachedAnswer{}
		}
	}
	c.m[key] = a
}

func (c *Directory) HasDomain(ctx context.Context, name string) (bool, error) {
	if a, ok := c.get("d:" + name); ok {
		return a.b, nil
	}
	b, err := c.dir.HasDomain(ctx, name)
	if err == nil {
		c.put("d:"+name, cachedAnswer{b: b})
	}
	return b, err
}

func (c *Directory) GetUser(ctx context.Context, address string) (store.User, error) {
	if a, ok := c.get("u:" + address); ok {
		return a.user, a.err
	}
	u, err := c.dir.GetUser(ctx, address)
	if err == nil || isNotFound(err) {
		c.put("u:"+address, cachedAnswer{user: u, err: err})
	}
	return u, err
}

func (c *Directory) AliasTargets(ctx context.Context, source string) ([]string, error) {
	if a, ok := c.get("a:" + source); ok {
		return a.targets, nil
	}
	t, err := c.dir.AliasTargets(ctx, source)
	if err == nil {
		c.put("a:"+source, cachedAnswer{targets: t})
	}
	return t, err
}

func isNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound)
}

// Flush forgets every answer: an admin change takes effect at the next lookup.
func (c *Directory) Flush() {
	c.mu.Lock()
	c.m = map[string]cachedAnswer{}
	c.mu.Unlock()
}
