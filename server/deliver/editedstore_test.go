package deliver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern/postern/smtp"
	"github.com/postern/postern/store/maildir"
)

// editHook stores the original in Archive and an edited copy in INBOX.
type editHook struct{}

func (editHook) Decide(context.Context, *hookInput) (decision, error) {
	return decision{Placements: []placement{{Mailbox: "Archive"},
		{Mailbox: "INBOX", Header: []byte("X-Edited: yes\r\nSubject: a\r\n\r\n")}}}, nil
}

// TestDeliverEditedHeader: a copy with Sieve's edited header gets that header before
// the original body; the unedited copy stays as it came.
func TestDeliverEditedHeader(t *testing.T) {
	t.Parallel()
	a, _, mail := testAgent(t)
	a.hook = editHook{}
	if errs := a.Deliver(context.Background(), testEnvelope("alice@example.test"), smtp.BytesMessage("Subject: a\r\nX-Drop: me\r\n\r\nthe body\r\n")); errs[0] != nil {
		t.Fatal(errs[0])
	}
	inbox := inboxFiles(t, mail, "alice")
	arch, err := maildir.Scan(filepath.Join(mail, "example.test", "alice", ".Archive"))
	if len(inbox) != 1 || err != nil || len(arch) != 1 {
		t.Fatalf("INBOX %v, Archive %v %v", inbox, arch, err)
	}
	in, _ := os.ReadFile(inbox[0])
	ar, _ := os.ReadFile(arch[0].Path)
	if s := string(in); !strings.Contains(s, "X-Edited: yes\r\nSubject: a\r\n\r\nthe body\r\n") || strings.Contains(s, "X-Drop") {
		t.Errorf("edited copy:\n%s", s)
	}
	if s := string(ar); !strings.Contains(s, "Subject: a\r\nX-Drop: me\r\n\r\nthe body\r\n") || strings.Contains(s, "X-Edited") {
		t.Errorf("original copy:\n%s", s)
	}
}
