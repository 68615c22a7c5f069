package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

// BenchmarkBackup10000 backs up a state directory whose one user holds 10,000 4 KiB
// messages, and reports the backup's duration, database size and the bytes it links.
func BenchmarkBackup10000(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	state := b.TempDir()
	st, err := store.Open(ctx, filepath.Join(state, "postern.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	st.AddDomain(ctx, "example.test")
	st.ImportUser(ctx, "alice@example.test", "{PLAIN}pw", store.UserOptions{})
	root := filepath.Join(state, "mail", "example.test", "alice")
	for _, d := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(root, d), 0o700)
	}
	body := strings.Repeat("x", 4096)
	msgs := make([]store.ImportedMessage, n)
	for i := range msgs {
		base := fmt.Sprintf("%d.M%dP1.h,S=4096,W=4096", 1700000000+i, i)
		os.WriteFile(filepath.Join(root, "cur", base+":2,S"), []byte(body), 0o600)
		msgs[i] = store.ImportedMessage{UID: uint32(i + 1), Filename: base, Size: 4096, InternalDate: time.Now(), Flags: []string{`\Seen`}}
	}
	if _, err := st.ImportMailbox(ctx, "alice@example.test", store.ImportedMailbox{Name: "INBOX", UIDValidity: 1, UIDNext: n + 1, Messages: msgs}); err != nil {
		b.Fatal(err)
	}
	var m Manifest
	var dest string
	for b.Loop() {
		dest = filepath.Join(b.TempDir(), "b")
		if m, err = Take(ctx, st, state, dest, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ownBytes(b, dest)), "own-bytes")
	b.ReportMetric(float64(m.DBBytes), "db-bytes")
	b.ReportMetric(float64(m.Bytes), "linked-bytes")
	b.ReportMetric(float64(m.Linked), "links")
}

// ownBytes is what a backup costs on disk beside the state directory: the sizes of its
// files that share no inode with another name (the hard-linked messages cost nothing).
func ownBytes(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode().IsRegular() && st.Nlink == 1 {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
