package localsubmit_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/deliver/delivertest"
)

// fullVerifier answers with whether it was allowed to show an alias's targets.
type fullVerifier struct{}

func (fullVerifier) Verify(_ context.Context, rcpt string, full bool) localsubmit.Verdict {
	how := "deliverable: delivered here"
	if full {
		how = "deliverable: alias -> " + rcpt + " targets"
	}
	return localsubmit.Verdict{Deliverable: true, How: how}
}

// verifyServer serves the socket with a Verifier, privileged or not, at most perMinute
// requests a minute (root, which runs these tests, has no limit).
func verifyServer(t *testing.T, privileged bool, perMinute int) string {
	t.Helper()
	dir := t.TempDir()
	ls, err := localsubmit.New(localsubmit.Options{Verifier: fullVerifier{}, Hostname: "mail.example.test", MaxSize: 1 << 20, MaxRcpts: 3,
		PickupDir: filepath.Join(dir, "pickup"), MaildropDir: filepath.Join(dir, "maildrop"), SpoolDir: dir,
		PerUIDPerMinute: perMinute, Logger: delivertest.DiscardLog(), UserName: func(uint32) string { return "u" },
		Privileged: func(uint32) bool { return privileged }})
	if err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "lv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ls.Serve(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ls.Shutdown(ctx)
		<-done
	})
	return sock
}

// TestVerifyShowsTargetsOnlyToPrivileged: -bv qualifies each address, asks the Verifier,
// and lets it name an alias's targets only for a privileged caller; an address that does
// not parse is undeliverable, and too many are refused.
func TestVerifyShowsTargetsOnlyToPrivileged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, priv := range []bool{false, true} {
		rep, err := localsubmit.Verify(ctx, verifyServer(t, priv, 0), []string{"root", "postmaster@example.test", "bad@"})
		if err != nil || rep.Error != "" || len(rep.Verified) != 3 {
			t.Fatalf("privileged %v: %+v, %v", priv, rep, err)
		}
		v := rep.Verified
		if v[0].Rcpt != "root@mail.example.test" || !v[0].Deliverable {
			t.Errorf("bare name: %+v, want qualified and deliverable", v[0])
		}
		if shows := v[1].How == "deliverable: alias -> postmaster@example.test targets"; shows != priv {
			t.Errorf("privileged %v: %q", priv, v[1].How)
		}
		if v[2].Deliverable || v[2].Temporary {
			t.Errorf("a bad address: %+v, want undeliverable for good", v[2])
		}
	}
	sock := verifyServer(t, false, 0)
	if rep, err := localsubmit.Verify(ctx, sock, []string{"a", "b", "c", "d"}); err != nil || rep.Error == "" {
		t.Errorf("four addresses over a limit of three: %+v, %v", rep, err)
	}
}
