package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
)

// recordingBoxes is a mailboxManager that records the expunges asked of it.
type recordingBoxes struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingBoxes) CreateMailbox(context.Context, string, string, string) error { return nil }
func (r *recordingBoxes) DeleteMailbox(context.Context, string, string) error         { return nil }
func (r *recordingBoxes) RenameMailbox(context.Context, string, string, string) error { return nil }
func (r *recordingBoxes) Sessions() []imap.SessionInfo                                { return nil }
func (r *recordingBoxes) Kick(string) int                                             { return 0 }

func (r *recordingBoxes) ExpungeBefore(_ context.Context, user, name string, cutoff time.Time) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s %s", user, name, cutoff.UTC().Format(time.DateOnly)))
	return 1, nil
}

func TestAutoexpungeSweepsJunkAndTrash(t *testing.T) {
	t.Parallel()
	_, st := newTestAdminBackend(t)
	ctx := context.Background()
	if _, err := st.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, "alice@example.org", "pw pw pw pw", store.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDefaultMailboxes(ctx, "alice@example.org"); err != nil {
		t.Fatal(err)
	}
	for i, mb := range []string{"Junk", "Trash", "Archive", "INBOX"} {
		if _, err := st.AddMessages(ctx, []store.NewMessage{{User: "alice@example.org", Mailbox: mb,
			Filename: fmt.Sprintf("17000000%d.x.test", i), Size: 10, InternalDate: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	cfg := config.Default()
	cfg.Mailbox = config.Mailbox{AutoexpungeJunk: "30d", AutoexpungeTrash: "2w"}
	boxes := &recordingBoxes{}
	ae := &autoexpunger{st: st, boxes: boxes, cfg: func() *config.Config { return &cfg }, now: func() time.Time { return now },
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ae.sweep(ctx)
	slices.Sort(boxes.calls)
	want := []string{"alice@example.org Junk 2026-03-01", "alice@example.org Trash 2026-03-17"}
	if !slices.Equal(boxes.calls, want) {
		t.Errorf("expunges %q, want %q", boxes.calls, want)
	}
	cfg.Mailbox = config.Mailbox{}
	boxes.calls = nil
	ae.sweep(ctx)
	if len(boxes.calls) != 0 {
		t.Errorf("autoexpunge off still expunged %q", boxes.calls)
	}
}
