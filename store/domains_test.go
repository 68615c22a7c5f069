package store

import (
	"context"
	"testing"
	"time"
)

func TestDomainsLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s.now = func() time.Time { return now }

	d, err := s.AddDomain(ctx, "Example.ORG")
	if err != nil || d.Name != "example.org" || !d.CreatedAt.Equal(now) {
		t.Fatalf("AddDomain = %+v, %v", d, err)
	}
	_, err = s.AddDomain(ctx, "example.org.")
	wantErr(t, err, ErrExists)
	_, err = s.AddDomain(ctx, "no_dot")
	wantErr(t, err, ErrInvalid)
	mustDomain(t, s, "b.example")

	if ok, err := s.HasDomain(ctx, "EXAMPLE.org"); err != nil || !ok {
		t.Fatalf("HasDomain(existing) = %v, %v", ok, err)
	}
	if ok, err := s.HasDomain(ctx, "other.org"); err != nil || ok {
		t.Fatalf("HasDomain(missing) = %v, %v", ok, err)
	}
	if ok, err := s.HasDomain(ctx, "bad domain"); err != nil || ok {
		t.Fatalf("HasDomain(invalid) = %v, %v", ok, err)
	}

	mustUser(t, s, "a@example.org", "pw")
	if err := s.AddAlias(ctx, "@example.org", []string{"a@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "x@example.org", []string{"a@example.org", "b@far.away"}); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ListDomains(ctx)
	if err != nil || len(ds) != 2 {
		t.Fatalf("ListDomains = %+v, %v", ds, err)
	}
	if ds[0].Name != "b.example" || ds[1].Name != "example.org" || ds[1].Users != 1 || ds[1].Aliases != 2 || ds[0].Users != 0 {
		t.Fatalf("ListDomains = %+v", ds)
	}
	if g, err := s.GetDomain(ctx, "example.org"); err != nil || g != ds[1] {
		t.Fatalf("GetDomain = %+v, %v; want %+v", g, err, ds[1])
	}
	_, err = s.GetDomain(ctx, "nope.org")
	wantErr(t, err, ErrNotFound)

	wantErr(t, s.RemoveDomain(ctx, "example.org"), ErrInUse)
	wantErr(t, s.RemoveDomain(ctx, "missing.org"), ErrNotFound)
	wantErr(t, s.RemoveDomain(ctx, "bad domain"), ErrInvalid)

	if err := s.RemoveUser(ctx, "a@example.org"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.RemoveDomain(ctx, "example.org"), ErrInUse) // aliases remain
	if err := s.RemoveAlias(ctx, "@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAlias(ctx, "x@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveDomain(ctx, "EXAMPLE.org"); err != nil {
		t.Fatalf("RemoveDomain of an empty domain: %v", err)
	}
	if ok, _ := s.HasDomain(ctx, "example.org"); ok {
		t.Fatal("domain still there after RemoveDomain")
	}
}
