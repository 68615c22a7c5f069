package maildir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func TestParseKeywords(t *testing.T) {
	t.Parallel()
	k := ParseKeywords([]byte("0 $Junk\n2 Work\nbogus\n30 TooFar\n-1 Neg\n1 has\"quote\n3 $junk\n4 Later\n"))
	if got := k.Names(); !slices.Equal(got, []string{"$Junk", "Work", "Later"}) {
		t.Errorf("Names = %v", got)
	}
	if l, ok := k.Letter("work"); !ok || l != 'c' {
		t.Errorf("Letter(work) = %q, %v", l, ok)
	}
	if n, ok := k.Name('e'); !ok || n != "Later" {
		t.Errorf("Name(e) = %q, %v", n, ok)
	}
	if _, ok := k.Name('b'); ok {
		t.Error("empty slot b has a name")
	}
	if _, ok := k.Name('S'); ok {
		t.Error("upper-case letter resolved as keyword")
	}
	var nilK *Keywords
	if _, ok := nilK.Name('a'); ok {
		t.Error("nil table has names")
	}
	if got := string(k.Marshal()); got != "0 $Junk\n2 Work\n4 Later\n" {
		t.Errorf("Marshal = %q", got)
	}
}

func TestEnsureKeywordsFileAndLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if k, err := LoadKeywords(dir); err != nil || len(k.Names()) != 0 {
		t.Fatalf("missing file: %v, %v", k, err)
	}
	if _, err := EnsureKeywords(dir, []string{"$Forwarded", "Work"}); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureKeywords(dir, []string{"work", "Home"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, KeywordsFile))
	if err != nil || string(data) != "0 $Forwarded\n1 Work\n2 Home\n" {
		t.Fatalf("file = %q, %v", data, err)
	}
	var more []string
	for i := 3; i < MaxKeywords; i++ {
		more = append(more, fmt.Sprintf("k%d", i))
	}
	k, err := EnsureKeywords(dir, more)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := k.Letter("k25"); l != 'z' {
		t.Errorf("26th keyword got %q", l)
	}
	if _, err := EnsureKeywords(dir, []string{"one-too-many"}); !errors.Is(err, ErrTooManyKeywords) {
		t.Errorf("27th keyword: err = %v", err)
	}
	if _, err := EnsureKeywords(dir, []string{"Home"}); err != nil {
		t.Errorf("known keyword in a full table: %v", err)
	}
	if _, err := EnsureKeywords(dir, []string{"bad kw"}); err == nil {
		t.Error("keyword with a space accepted")
	}
}

func TestEnsureKeywordsConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := EnsureKeywords(dir, []string{fmt.Sprintf("kw%d", i), "shared"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	k, err := LoadKeywords(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(k.Names()); got != 21 {
		t.Errorf("%d keywords after concurrent adds, want 21: %v", got, k.Names())
	}
}
