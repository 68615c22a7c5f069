package imapsieve

import (
	"context"
	"errors"
	"sync"

	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/sieve"
	"github.com/postern/postern/store"
)

// personalCache keeps users' compiled personal scripts until the store's sieve
// generation moves (any script stored, renamed or deleted).
type personalCache struct {
	st        *store.Store
	globalDir string

	mu      sync.Mutex
	gen     uint64
	scripts map[[2]string]*sieve.Script // (user, name) -> script; nil: the user has none
}

func newPersonalCache(st *store.Store, globalDir string) *personalCache {
	return &personalCache{st: st, globalDir: globalDir, scripts: map[[2]string]*sieve.Script{}}
}

// get returns the user's script of that name compiled for IMAP events, nil when the
// user has none.
func (c *personalCache) get(ctx context.Context, user, name string) (*sieve.Script, error) {
	gen := c.st.SieveGeneration()
	key := [2]string{user, name}
	c.mu.Lock()
	if c.gen != gen {
		c.gen, c.scripts = gen, map[[2]string]*sieve.Script{}
	}
	sc, ok := c.scripts[key]
	c.mu.Unlock()
	if ok {
		return sc, nil
	}
	stored, err := c.st.GetScript(ctx, user, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		sc = nil
	case err != nil:
		return nil, err
	default:
		if sc, err = sieve.Compile(name, []byte(stored.Content), sieve.CompileOptions{IMAP: true,
			Loader: deliver.ScriptLoader(ctx, c.st, user, c.globalDir)}); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	if c.gen == gen {
		c.scripts[key] = sc
	}
	c.mu.Unlock()
	return sc, nil
}
