package imap

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/postern/postern/store/maildir"
)

// keywordCache keeps each folder's dovecot-keywords table in memory, keyed by the
// file's identity (inode, size, mtime): one stat per command instead of a read and a
// parse. maildir.EnsureKeywords replaces the file (a new inode), and another program
// writing it changes its mtime or size, so a stale table is never served. Tables are
// never modified once loaded, so they are shared freely.
type keywordCache struct {
	mu sync.Mutex
	m  map[string]keywordEntry
}

type keywordEntry struct {
	ino   uint64
	size  int64
	mtime time.Time
	kw    *maildir.Keywords
}

// maxKeywordDirs bounds the cache; past it the cache starts over (it is only a cache).
const maxKeywordDirs = 4096

func (c *keywordCache) load(dir string) (*maildir.Keywords, error) {
	fi, err := os.Stat(filepath.Join(dir, maildir.KeywordsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &maildir.Keywords{}, nil
	}
	if err != nil {
		return nil, err
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	c.mu.Lock()
	e, ok := c.m[dir]
	c.mu.Unlock()
	if ok && e.ino == ino && e.size == fi.Size() && e.mtime.Equal(fi.ModTime()) {
		return e.kw, nil
	}
	kw, err := maildir.LoadKeywords(dir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxKeywordDirs {
		c.m = map[string]keywordEntry{}
	}
	c.m[dir] = keywordEntry{ino: ino, size: fi.Size(), mtime: fi.ModTime(), kw: kw}
	c.mu.Unlock()
	return kw, nil
}
