package store

import (
	"context"
	"strings"
	"testing"
)

func TestUsersLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustDomain(t, s, "example.net")

	u, err := s.AddUser(ctx, "Alice@Example.org", "pw1", UserOptions{QuotaBytes: 1 << 30})
	if err != nil || u.Address != "alice@example.org" || u.Domain != "example.org" || u.QuotaBytes != 1<<30 {
		t.Fatalf("AddUser = %+v, %v", u, err)
	}
	_, err = s.AddUser(ctx, "alice@example.org", "pw2", UserOptions{})
	wantErr(t, err, ErrExists)
	_, err = s.AddUser(ctx, "bob@unknown.org", "pw", UserOptions{})
	wantErr(t, err, ErrNotFound)
	_, err = s.AddUser(ctx, "not an address", "pw", UserOptions{})
	wantErr(t, err, ErrInvalid)
	_, err = s.AddUser(ctx, "carol@example.org", "", UserOptions{})
	wantErr(t, err, ErrInvalid)
	_, err = s.AddUser(ctx, "carol@example.org", strings.Repeat("x", 2000), UserOptions{})
	wantErr(t, err, ErrInvalid)
	_, err = s.AddUser(ctx, "carol@example.org", "pw", UserOptions{QuotaBytes: -1})
	wantErr(t, err, ErrInvalid)
	mustUser(t, s, "bob@example.net", "pw")
	mustUser(t, s, "aaron@example.org", "pw")

	g, err := s.GetUser(ctx, "ALICE@example.org")
	if err != nil || g.Address != "alice@example.org" || g.Disabled || g.QuotaBytes != 1<<30 || g.CreatedAt.IsZero() {
		t.Fatalf("GetUser = %+v, %v", g, err)
	}
	_, err = s.GetUser(ctx, "nobody@example.org")
	wantErr(t, err, ErrNotFound)
	_, err = s.GetUser(ctx, "garbage")
	wantErr(t, err, ErrNotFound)

	all, err := s.ListUsers(ctx, "")
	if err != nil || addrs(all) != "aaron@example.org alice@example.org bob@example.net" {
		t.Fatalf("ListUsers(all) = %v, %v", addrs(all), err)
	}
	org, err := s.ListUsers(ctx, "Example.ORG")
	if err != nil || addrs(org) != "aaron@example.org alice@example.org" {
		t.Fatalf("ListUsers(example.org) = %v, %v", addrs(org), err)
	}
	_, err = s.ListUsers(ctx, "unknown.org")
	wantErr(t, err, ErrNotFound)

	if err := s.SetQuota(ctx, "alice@example.org", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, "alice@example.org", true); err != nil {
		t.Fatal(err)
	}
	g, _ = s.GetUser(ctx, "alice@example.org")
	if !g.Disabled || g.QuotaBytes != 0 {
		t.Fatalf("after SetQuota/SetDisabled: %+v", g)
	}
	wantErr(t, s.SetQuota(ctx, "alice@example.org", -5), ErrInvalid)
	wantErr(t, s.SetQuota(ctx, "nobody@example.org", 5), ErrNotFound)
	wantErr(t, s.SetDisabled(ctx, "nobody@example.org", true), ErrNotFound)
	wantErr(t, s.SetPassword(ctx, "nobody@example.org", "x"), ErrNotFound)
	wantErr(t, s.SetPassword(ctx, "alice@example.org", ""), ErrInvalid)

	if _, _, err := s.AddAppPassword(ctx, "alice@example.org", "phone"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.RemoveUser(ctx, "alice@example.org"), ErrNotFound)
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM app_passwords").Scan(&n); err != nil || n != 0 {
		t.Fatalf("app passwords left after RemoveUser: %d, %v", n, err)
	}
	// The address can be reused after removal.
	mustUser(t, s, "alice@example.org", "again")
}

func addrs(us []User) string {
	var b []string
	for _, u := range us {
		b = append(b, u.Address)
	}
	return strings.Join(b, " ")
}
