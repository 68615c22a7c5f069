package dovecot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

// bigMaildir writes a Dovecot INBOX of n 4 KiB messages, every third one \Seen and
// every fifth one with a keyword, and its uidlist.
func bigMaildir(b *testing.B, n int) string {
	b.Helper()
	md := filepath.Join(b.TempDir(), "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	body := "Subject: x\n\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef012345678901234\n", 64)
	var ul strings.Builder
	fmt.Fprintf(&ul, "3 V1700000000 N%d Gabc\n", n+1)
	for i := 1; i <= n; i++ {
		base := fmt.Sprintf("%d.M%dP1.vm,S=%d,W=%d", 1700000000+i, i, len(body), len(body)+65)
		info := ""
		if i%3 == 0 {
			info += "S"
		}
		if i%5 == 0 {
			info += "a"
		}
		if err := os.WriteFile(filepath.Join(md, "cur", base+":2,"+info), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&ul, "%d :%s\n", i, base)
	}
	os.WriteFile(filepath.Join(md, UIDListFile), []byte(ul.String()), 0o644)
	os.WriteFile(filepath.Join(md, "dovecot-keywords"), []byte("0 $Label1\n"), 0o644)
	return md
}

// BenchmarkImport10000 imports a 10,000-message INBOX (hard links, one index
// transaction) into a fresh state directory per iteration and reports messages/s.
func BenchmarkImport10000(b *testing.B) {
	const n = 10000
	md := bigMaildir(b, n)
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		state := b.TempDir()
		st, err := store.Open(ctx, filepath.Join(state, "postern.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		st.AddDomain(ctx, "example.test")
		st.ImportUser(ctx, "alice@example.test", "{PLAIN}pw", store.UserOptions{})
		im := NewImporter(st, Options{MailRoot: filepath.Join(state, "mail"), Owner: -1})
		b.StartTimer()
		start := time.Now()
		rep, err := im.ImportUser(ctx, UserSource{Address: "alice@example.test", Maildir: md}, nil)
		total += time.Since(start)
		b.StopTimer()
		if err != nil || len(rep.Errors) > 0 || rep.Folders[0].Added != n {
			b.Fatalf("import: %v %v %+v", err, rep.Errors, rep.Folders)
		}
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msgs/s")
}
