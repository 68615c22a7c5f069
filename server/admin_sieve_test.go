package server

import (
	"context"
	"strings"
	"testing"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/store"
)

func TestAdminSieveOverStore(t *testing.T) {
	t.Parallel()
	b, st := newTestAdminBackend(t)
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, "alice@example.org", "pw", store.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := b.PutSieveScript(ctx, "alice@example.org", "bad", "keep;\nfrobnicate;\n")
	wantCode(t, "broken script", err, admin.CodeInvalid, "postern sieve check")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("broken script error without its line: %v", err)
	}
	// include :personal resolves from the user's stored scripts.
	inc := "require \"include\";\ninclude :personal \"lib\";\n"
	_, err = b.PutSieveScript(ctx, "alice@example.org", "main", inc)
	wantCode(t, "missing include", err, admin.CodeInvalid, "")
	if _, err := b.PutSieveScript(ctx, "alice@example.org", "lib", "keep;"); err != nil {
		t.Fatal(err)
	}
	s, err := b.PutSieveScript(ctx, "alice@example.org", "main", inc)
	if err != nil || s.Name != "main" || s.Size != int64(len(inc)) {
		t.Fatalf("put = %+v, %v", s, err)
	}
	if err := b.ActivateSieveScript(ctx, "alice@example.org", "main"); err != nil {
		t.Fatal(err)
	}
	if name, _, ok, _ := st.ActiveScript(ctx, "alice@example.org"); !ok || name != "main" {
		t.Fatalf("active script = %q %v", name, ok)
	}
	list, err := b.ListSieveScripts(ctx, "alice@example.org")
	if err != nil || len(list) != 2 || !list[1].Active || list[0].Active {
		t.Fatalf("list = %+v, %v", list, err)
	}
	got, err := b.GetSieveScript(ctx, "alice@example.org", "main")
	if err != nil || got.Content != inc {
		t.Fatalf("get = %+v, %v", got, err)
	}
	wantCode(t, "delete active", b.DeleteSieveScript(ctx, "alice@example.org", "main"), admin.CodeInUse, "postern sieve activate alice@example.org")
	wantCode(t, "activate missing", b.ActivateSieveScript(ctx, "alice@example.org", "nope"), admin.CodeNotFound, "postern sieve list")
	_, err = b.ListSieveScripts(ctx, "nobody@example.org")
	wantCode(t, "unknown user", err, admin.CodeNotFound, "postern user list")
	if err := b.ActivateSieveScript(ctx, "alice@example.org", ""); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteSieveScript(ctx, "alice@example.org", "main"); err != nil {
		t.Fatal(err)
	}
}
