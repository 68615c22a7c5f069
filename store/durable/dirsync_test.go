package durable

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

func TestDirSyncerShares(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var s DirSyncer
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = LinkShared(&s, src, filepath.Join(dir, "l"+strconv.Itoa(i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "l"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	left := len(s.dirs)
	s.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d directory groups left after every caller returned", left)
	}
	// A failing sync reaches its callers.
	if err := s.Sync(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("sync of a missing directory succeeded")
	}
}
