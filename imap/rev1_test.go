package imap

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestRecentIMAP4rev1: \Recent belongs to the first read-write session to see a
// message; EXAMINE and STATUS look without taking it; a session that ENABLEs IMAP4rev2
// never sees it.
func TestRecentIMAP4rev1(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	a := e.rawDial(t, "alice@example.org")
	defer a.close()
	a.run(t, "CREATE R")
	for i := range 2 {
		a.run(t, fmt.Sprintf("APPEND R {%d+}\r\n%s", len(testMessage("r", "x")), testMessage(fmt.Sprint("r", i), "x")))
	}
	mustHave(t, a.run(t, "EXAMINE R"), "* 2 RECENT", "* OK [UNSEEN 1]")
	mustHave(t, a.run(t, "STATUS R (RECENT)"), "RECENT 2")
	mustHave(t, a.run(t, "SELECT R"), "* 2 RECENT")
	mustHave(t, a.run(t, "FETCH 1 FLAGS"), `FLAGS (\Recent)`)
	mustHave(t, a.run(t, "SEARCH NEW"), "* SEARCH 1 2")
	b := e.rawDial(t, "alice@example.org")
	defer b.close()
	mustHave(t, b.run(t, "SELECT R"), "* 0 RECENT")
	mustHave(t, b.run(t, "SEARCH RECENT"), "* SEARCH\r\n")
	// A new message is announced with EXISTS and RECENT to one session only.
	mustHave(t, b.run(t, fmt.Sprintf("APPEND R {%d+}\r\n%s", len(testMessage("r", "x")), testMessage("r2", "x"))), "* 3 EXISTS", "* 1 RECENT")
	if out := a.run(t, "NOOP"); !strings.Contains(out, "* 3 EXISTS") || !strings.Contains(out, "* 2 RECENT") {
		t.Errorf("the other session: %q", out)
	}
	c := e.rawDial(t, "alice@example.org")
	defer c.close()
	c.run(t, "ENABLE IMAP4rev2")
	if out := c.run(t, "SELECT R"); strings.Contains(out, "RECENT") || strings.Contains(out, "UNSEEN") {
		t.Errorf("IMAP4rev2 SELECT: %q", out)
	}
}

// TestNewKeywordAnnounced: a keyword set by another session is announced in FLAGS and
// PERMANENTFLAGS before the first FETCH that shows it (imaptest's "Keyword used
// without being in FLAGS").
func TestNewKeywordAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	a := e.rawDial(t, "alice@example.org")
	defer a.close()
	b := e.rawDial(t, "alice@example.org")
	defer b.close()
	a.run(t, fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(testMessage("k", "x")), testMessage("k", "x")))
	a.run(t, "SELECT INBOX")
	b.run(t, "SELECT INBOX")
	out := b.run(t, "STORE 1 +FLAGS ($Label7)")
	mustHave(t, out, "* FLAGS (", "$Label7", "PERMANENTFLAGS")
	if strings.Index(out, "* FLAGS") > strings.Index(out, "FETCH") {
		t.Errorf("FLAGS after the FETCH: %q", out)
	}
	out = a.run(t, "NOOP")
	if i, j := strings.Index(out, "* FLAGS"), strings.Index(out, "FETCH"); i < 0 || j < 0 || i > j || !strings.Contains(out[i:j], "$Label7") {
		t.Errorf("the other session's update: %q", out)
	}
}

// TestQuotaResponses: GETQUOTAROOT and GETQUOTA report STORAGE usage and limit in KiB,
// and APPEND is followed by an untagged QUOTA.
func TestQuotaResponses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org", "bob@example.org")
	if err := e.st.SetQuota(t.Context(), "alice@example.org", 10<<20); err != nil {
		t.Fatal(err)
	}
	a := e.rawDial(t, "alice@example.org")
	defer a.close()
	mustHave(t, a.run(t, "CAPABILITY"), " QUOTA ", "QUOTA=RES-STORAGE")
	mustHave(t, a.run(t, "GETQUOTAROOT INBOX"), `* QUOTAROOT INBOX ""`, `* QUOTA "" (STORAGE 0 10240)`)
	msg := testMessage("q", strings.Repeat("x", 3000))
	mustHave(t, a.run(t, fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg)), `* QUOTA "" (STORAGE 4 10240)`)
	mustHave(t, a.run(t, `GETQUOTA ""`), `* QUOTA "" (STORAGE 4 10240)`)
	// bob has no quota: no root.
	b := e.rawDial(t, "bob@example.org")
	defer b.close()
	if out := b.run(t, "GETQUOTAROOT INBOX"); !strings.Contains(out, "* QUOTAROOT INBOX\r\n") || strings.Contains(out, "* QUOTA ") {
		t.Errorf("no quota: %q", out)
	}
}

// TestConcurrentAppendsWithRescans: ten sessions append with flags (into cur/) while
// others poll the folder; every APPEND succeeds and each message is indexed once.
func TestConcurrentAppendsWithRescans(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	const sessions, each = 10, 10
	var wg sync.WaitGroup
	errs := make(chan string, sessions*each)
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.rawDial(t, "alice@example.org")
			defer c.close()
			c.run(t, "SELECT INBOX")
			for i := range each {
				msg := testMessage(fmt.Sprintf("s%d-%d", s, i), "x")
				if out := c.run(t, fmt.Sprintf("APPEND INBOX (\\Seen) {%d+}\r\n%s", len(msg), msg)); !strings.Contains(out, "APPENDUID") {
					errs <- out
				}
				c.run(t, "NOOP")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	c := e.rawDial(t, "alice@example.org")
	defer c.close()
	mustHave(t, c.run(t, "STATUS INBOX (MESSAGES)"), fmt.Sprintf("MESSAGES %d", sessions*each))
}

func mustHave(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
}
