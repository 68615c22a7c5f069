package store

import (
	"context"
	"reflect"
	"testing"
)

func TestAliases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustDomain(t, s, "example.net")

	if err := s.AddAlias(ctx, "Postmaster@Example.org", []string{"Alice@example.org", "ops@Far.Away"}); err != nil {
		t.Fatal(err)
	}
	// Idempotent per target; new targets are added.
	if err := s.AddAlias(ctx, "postmaster@example.org", []string{"alice@example.org", "bob@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAlias(ctx, "@example.net", []string{"catchall@example.org"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.AddAlias(ctx, "x@unknown.org", []string{"a@example.org"}), ErrNotFound)
	wantErr(t, s.AddAlias(ctx, "x@example.org", nil), ErrInvalid)
	wantErr(t, s.AddAlias(ctx, "x@example.org", []string{"not an address"}), ErrInvalid)
	wantErr(t, s.AddAlias(ctx, "x@example.org", []string{"X@example.org"}), ErrInvalid)
	wantErr(t, s.AddAlias(ctx, "bad source", []string{"a@example.org"}), ErrInvalid)

	got, err := s.AliasTargets(ctx, "POSTMASTER@example.org")
	want := []string{"alice@example.org", "bob@example.org", "ops@far.away"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("AliasTargets = %v, %v; want %v", got, err, want)
	}
	if got, err := s.AliasTargets(ctx, "nobody@example.org"); got != nil || err != nil {
		t.Fatalf("AliasTargets(none) = %v, %v; want nil, nil", got, err)
	}
	if got, err := s.AliasTargets(ctx, "@example.net"); err != nil || len(got) != 1 || got[0] != "catchall@example.org" {
		t.Fatalf("catch-all targets = %v, %v", got, err)
	}

	all, err := s.ListAliases(ctx, "")
	wantAll := []Alias{{"@example.net", []string{"catchall@example.org"}}, {"postmaster@example.org", want}}
	if err != nil || !reflect.DeepEqual(all, wantAll) {
		t.Fatalf("ListAliases = %+v, %v; want %+v", all, err, wantAll)
	}
	net, err := s.ListAliases(ctx, "example.net")
	if err != nil || !reflect.DeepEqual(net, wantAll[:1]) {
		t.Fatalf("ListAliases(example.net) = %+v, %v", net, err)
	}

	wantErr(t, s.RemoveAlias(ctx, "postmaster@example.org", []string{"alice@example.org", "nobody@example.org"}), ErrNotFound)
	if got, _ := s.AliasTargets(ctx, "postmaster@example.org"); len(got) != 3 {
		t.Fatalf("a failed RemoveAlias removed something: %v", got)
	}
	if err := s.RemoveAlias(ctx, "postmaster@example.org", []string{"ALICE@example.org"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AliasTargets(ctx, "postmaster@example.org"); !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("after removing one target: %v", got)
	}
	if err := s.RemoveAlias(ctx, "postmaster@example.org", nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.RemoveAlias(ctx, "postmaster@example.org", nil), ErrNotFound)
	if got, _ := s.AliasTargets(ctx, "postmaster@example.org"); got != nil {
		t.Fatalf("alias still has targets: %v", got)
	}
}
