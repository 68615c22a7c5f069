package deliver

import (
	"context"
	"testing"
	"time"
)

// countingDirectory counts the lookups that reach the store.
type countingDirectory struct {
	fakeDirectory
	calls int
}

func (c *countingDirectory) HasDomain(ctx context.Context, name string) (bool, error) {
	c.calls++
	return c.fakeDirectory.HasDomain(ctx, name)
}

func TestCachedDirectory(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	inner := &countingDirectory{fakeDirectory: *newFakeDirectory()}
	c := NewDirectory(inner, func() time.Time { return now })
	r := &expander{dir: c, delimiter: "+"}
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if _, err := r.Expand(ctx, "team@example.test"); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 1 {
		t.Fatalf("%d domain lookups reached the store for 5 resolutions, want 1", inner.calls)
	}
	// An unknown user stays unknown until the cache expires or is flushed.
	if _, err := r.Expand(ctx, "newbie@example.test"); err == nil {
		t.Fatal("newbie resolved before being added")
	}
	inner.users["newbie@example.test"] = false
	c.Flush() // what the admin socket does after `postern user add`
	if _, err := r.Expand(ctx, "newbie@example.test"); err != nil {
		t.Fatalf("after a flush the new user must resolve: %v", err)
	}
	delete(inner.users, "newbie@example.test")
	now = now.Add(directoryTTL + time.Millisecond)
	if _, err := r.Expand(ctx, "newbie@example.test"); err == nil {
		t.Fatal("a removed user still resolved after the cache expired")
	}
}
