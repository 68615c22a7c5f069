package store

import (
	"context"
	"strings"
	"testing"
)

func sieveStore(t *testing.T) *Store {
	t.Helper()
	s := openTest(t)
	mustDomain(t, s, "example.com")
	mustUser(t, s, "alice@example.com", "correct horse battery")
	mustUser(t, s, "bob@example.com", "correct horse battery")
	return s
}

func TestSieveScriptLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := sieveStore(t)
	if err := s.PutScript(ctx, "Alice@Example.com", "main", "keep;"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutScript(ctx, "alice@example.com", "vacation", `require "vacation"; vacation "away";`); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := s.ActiveScript(ctx, "alice@example.com"); ok || err != nil {
		t.Fatalf("active before SetActive: ok=%v err=%v", ok, err)
	}
	if err := s.SetActive(ctx, "alice@example.com", "main"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetActive(ctx, "alice@example.com", "vacation"); err != nil {
		t.Fatal(err)
	}
	name, content, ok, err := s.ActiveScript(ctx, "alice@example.com")
	if err != nil || !ok || name != "vacation" || !strings.Contains(content, "away") {
		t.Fatalf("ActiveScript = %q %q %v %v", name, content, ok, err)
	}
	list, err := s.ListScripts(ctx, "alice@example.com")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListScripts = %+v, %v", list, err)
	}
	if list[0].Name != "main" || list[0].Active || list[0].Size != 5 || list[0].Content != "" ||
		list[1].Name != "vacation" || !list[1].Active || list[1].UpdatedAt.IsZero() {
		t.Fatalf("ListScripts = %+v", list)
	}
	// Replacing the active script keeps it active.
	if err := s.PutScript(ctx, "alice@example.com", "vacation", "discard;"); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetScript(ctx, "alice@example.com", "vacation")
	if err != nil || got.Content != "discard;" || !got.Active || got.Size != 8 {
		t.Fatalf("GetScript = %+v, %v", got, err)
	}
	// RFC 5804 2.10: the active script cannot be deleted.
	wantErr(t, s.DeleteScript(ctx, "alice@example.com", "vacation"), ErrInUse)
	wantErr(t, s.RenameScript(ctx, "alice@example.com", "vacation", "main"), ErrExists)
	if err := s.RenameScript(ctx, "alice@example.com", "vacation", "away"); err != nil {
		t.Fatal(err)
	}
	if name, _, ok, _ := s.ActiveScript(ctx, "alice@example.com"); !ok || name != "away" {
		t.Fatalf("rename lost the active flag: %q %v", name, ok)
	}
	if err := s.SetActive(ctx, "alice@example.com", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.ActiveScript(ctx, "alice@example.com"); ok {
		t.Fatal(`SetActive("") left a script active`)
	}
	if err := s.DeleteScript(ctx, "alice@example.com", "away"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetScript(ctx, "alice@example.com", "away")
	wantErr(t, err, ErrNotFound)
}

func TestSieveScriptsErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := sieveStore(t)
	wantErr(t, s.PutScript(ctx, "nobody@example.com", "x", "keep;"), ErrNotFound)
	wantErr(t, s.PutScript(ctx, "alice@example.com", "", "keep;"), ErrInvalid)
	wantErr(t, s.PutScript(ctx, "alice@example.com", "a\nb", "keep;"), ErrInvalid)
	wantErr(t, s.PutScript(ctx, "alice@example.com", "a\u2028b", "keep;"), ErrInvalid)
	wantErr(t, s.PutScript(ctx, "alice@example.com", strings.Repeat("x", MaxSieveScriptName+1), "keep;"), ErrInvalid)
	wantErr(t, s.SetActive(ctx, "alice@example.com", "missing"), ErrNotFound)
	wantErr(t, s.DeleteScript(ctx, "alice@example.com", "missing"), ErrNotFound)
	wantErr(t, s.RenameScript(ctx, "alice@example.com", "missing", "other"), ErrNotFound)
	_, err := s.ListScripts(ctx, "nobody@example.com")
	wantErr(t, err, ErrNotFound)
	if _, _, ok, err := s.ActiveScript(ctx, "nobody@example.com"); ok || err != nil {
		t.Fatalf("ActiveScript of an unknown user: ok=%v err=%v", ok, err)
	}
}

func TestSieveScriptsPerUserAndCascade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := sieveStore(t)
	for _, u := range []string{"alice@example.com", "bob@example.com"} {
		if err := s.PutScript(ctx, u, "main", "keep; # "+u); err != nil {
			t.Fatal(err)
		}
		if err := s.SetActive(ctx, u, "main"); err != nil {
			t.Fatal(err)
		}
	}
	_, content, _, _ := s.ActiveScript(ctx, "bob@example.com")
	if !strings.Contains(content, "bob@") {
		t.Fatalf("bob sees %q", content)
	}
	if err := s.RemoveUser(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sieve_scripts WHERE user = 'alice@example.com'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("scripts of a removed user: %d, %v", n, err)
	}
	if _, _, ok, _ := s.ActiveScript(ctx, "bob@example.com"); !ok {
		t.Fatal("bob's script went with alice")
	}
}

// The partial unique index is the backstop for "one active script per user".
func TestSieveOneActiveIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := sieveStore(t)
	for _, n := range []string{"a", "b"} {
		if err := s.PutScript(ctx, "alice@example.com", n, "keep;"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE sieve_scripts SET active = 1 WHERE user = 'alice@example.com'"); err == nil {
		t.Fatal("two active scripts were accepted")
	}
}
