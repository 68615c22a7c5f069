package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestJournalPrefix: with $JOURNAL_STREAM naming the output, each line starts with the
// sd-daemon priority of its level; naming another stream (a redirected child) or unset,
// lines are unchanged.
func TestJournalPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, format string
		stream       func(st *syscall.Stat_t) string
		want         []string
	}{
		{"json", "json", func(st *syscall.Stat_t) string { return fmt.Sprintf("%d:%d", st.Dev, st.Ino) },
			[]string{`<7>{"time":`, `<6>{"time":`, `<4>{"time":`, `<3>{"time":`}},
		{"logfmt", "logfmt", func(st *syscall.Stat_t) string { return fmt.Sprintf("%d:%d", st.Dev, st.Ino) },
			[]string{"<7>time=", "<6>time=", "<4>time=", "<3>time="}},
		{"other stream", "json", func(st *syscall.Stat_t) string { return fmt.Sprintf("%d:%d", st.Dev, st.Ino+1) },
			[]string{`{"time":`, `{"time":`, `{"time":`, `{"time":`}},
		{"unset", "logfmt", func(*syscall.Stat_t) string { return "" },
			[]string{"time=", "time=", "time=", "time="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := os.Create(filepath.Join(t.TempDir(), "log"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			env := tc.stream(fi.Sys().(*syscall.Stat_t))
			log, err := newLogger(journalOutput(f, func(k string) string {
				if k == "JOURNAL_STREAM" {
					return env
				}
				return ""
			}), tc.format, "debug")
			if err != nil {
				t.Fatal(err)
			}
			log = log.With("service", "smtp").WithGroup("g")
			log.Debug("d", "k", 1)
			log.Info("i", "k", 2)
			log.Warn("w", "k", 3)
			log.Error("e", "k", 4)
			data, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tc.want), data)
			}
			for i, l := range lines {
				if !strings.HasPrefix(l, tc.want[i]) || strings.Count(l, "<") > strings.Count(tc.want[i], "<") {
					t.Errorf("line %d = %q, want prefix %q", i, l, tc.want[i])
				}
			}
		})
	}
}
