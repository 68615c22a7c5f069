package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentUse hammers one Store from 32 goroutines mixing writes (users, aliases,
// app passwords) and reads (authentication, listings); run with -race. Every write must
// land exactly once and no call may fail with SQLITE_BUSY.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "shared@example.org", "shared pw")

	const workers, each = 32, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*6)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				addr := fmt.Sprintf("u%d-%d@example.org", w, i)
				pw := "pw-" + addr
				if _, err := s.AddUser(ctx, addr, pw, UserOptions{}); err != nil {
					errs <- fmt.Errorf("AddUser %s: %w", addr, err)
					continue
				}
				if err := s.AddAlias(ctx, fmt.Sprintf("a%d@example.org", w), []string{addr}); err != nil {
					errs <- fmt.Errorf("AddAlias: %w", err)
				}
				if _, err := s.Authenticate(ctx, addr, pw); err != nil {
					errs <- fmt.Errorf("Authenticate %s: %w", addr, err)
				}
				if _, err := s.Authenticate(ctx, "shared@example.org", "shared pw"); err != nil {
					errs <- fmt.Errorf("Authenticate shared: %w", err)
				}
				if _, _, err := s.AddAppPassword(ctx, "shared@example.org", addr); err != nil {
					errs <- fmt.Errorf("AddAppPassword: %w", err)
				}
				if _, err := s.ListUsers(ctx, "example.org"); err != nil {
					errs <- fmt.Errorf("ListUsers: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	users, err := s.ListUsers(ctx, "")
	if err != nil || len(users) != workers*each+1 {
		t.Fatalf("%d users, %v; want %d", len(users), err, workers*each+1)
	}
	aliases, err := s.ListAliases(ctx, "example.org")
	if err != nil || len(aliases) != workers {
		t.Fatalf("%d aliases, %v; want %d", len(aliases), err, workers)
	}
	for _, a := range aliases {
		if len(a.Targets) != each {
			t.Errorf("alias %s has %d targets, want %d", a.Source, len(a.Targets), each)
		}
	}
	aps, err := s.ListAppPasswords(ctx, "shared@example.org")
	if err != nil || len(aps) != workers*each {
		t.Fatalf("%d app passwords, %v", len(aps), err)
	}
}

// TestConcurrentDeliveries: many goroutines index messages into the same mailboxes at
// once; UIDs must come out unique and dense (1..n) per mailbox, and usage exact.
func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTest(t)
	mustDomain(t, s, "example.org")
	mustUser(t, s, "a@example.org", "pw")
	mustUser(t, s, "b@example.org", "pw")
	const workers, each = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("%d-%d", w, i)
				_, err := s.AddMessages(ctx, []NewMessage{
					{User: "a@example.org", Mailbox: "INBOX", Filename: name, Size: 10},
					{User: "b@example.org", Mailbox: "INBOX", Filename: name, Size: 10},
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, u := range []string{"a@example.org", "b@example.org"} {
		mb, err := s.GetMailbox(ctx, u, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := s.ListMessages(ctx, mb.ID, 0)
		if err != nil || len(msgs) != workers*each {
			t.Fatalf("%s: %d messages, %v", u, len(msgs), err)
		}
		for i, m := range msgs {
			if m.UID != uint32(i+1) {
				t.Fatalf("%s: message %d has UID %d", u, i, m.UID)
			}
		}
		if mb.UIDNext != workers*each+1 {
			t.Fatalf("%s: UIDNEXT %d", u, mb.UIDNext)
		}
		if n, _ := s.UserUsage(ctx, u); n != workers*each*10 {
			t.Fatalf("%s: usage %d", u, n)
		}
	}
}

// TestTwoStoresOnOneFile: a second opener of the same database (an offline tool next to
// the daemon) waits on busy_timeout instead of failing with SQLITE_BUSY.
func TestTwoStoresOnOneFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := t.TempDir() + "/postern.db"
	s1 := openAt(t, path)
	s2 := openAt(t, path)
	mustDomain(t, s1, "example.org")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		for j, s := range []*Store{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.AddUser(ctx, fmt.Sprintf("u%d-%d@example.org", i, j), "pw", UserOptions{}); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, s := range []*Store{s1, s2} {
		if us, err := s.ListUsers(ctx, ""); err != nil || len(us) != 40 {
			t.Fatalf("%d users, %v", len(us), err)
		}
	}
}
