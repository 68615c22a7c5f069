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

// Concurrent CommitShared calls into one directory each end with their file, whole, under
// its final name and nothing left under a temporary name.
func TestCommitSharedRenamesIntoPlace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmp, final := filepath.Join(dir, "tmp"), filepath.Join(dir, "new")
	for _, d := range []string{tmp, final} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var s DirSyncer
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := CreateExcl(filepath.Join(tmp, "m"+strconv.Itoa(i)), 0o600)
			if err != nil {
				errs[i] = err
				return
			}
			defer f.Abort()
			if _, err := f.Write([]byte("message " + strconv.Itoa(i))); err != nil {
				errs[i] = err
				return
			}
			errs[i] = f.CommitShared(&s, filepath.Join(final, "m"+strconv.Itoa(i)))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		b, err := os.ReadFile(filepath.Join(final, "m"+strconv.Itoa(i)))
		if err != nil || string(b) != "message "+strconv.Itoa(i) {
			t.Fatalf("file %d: %q, %v", i, b, err)
		}
	}
	if left := entries(t, tmp); len(left) != 0 {
		t.Fatalf("left in tmp: %v", left)
	}
	// Into a directory that does not exist: an error, and the temporary file is gone.
	f, err := CreateExcl(filepath.Join(tmp, "lost"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CommitShared(&s, filepath.Join(dir, "missing", "lost")); err == nil {
		t.Fatal("commit into a missing directory succeeded")
	}
	if left := entries(t, tmp); len(left) != 0 {
		t.Fatalf("left in tmp after a failed commit: %v", left)
	}
}
