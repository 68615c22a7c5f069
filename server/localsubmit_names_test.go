package server

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/server/deliver/delivertest"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// namesFixture is localNames over a real store (example.test with alice, bob and carol)
// and delivery agent; cfg is the config it reads [alerts] from.
func namesFixture(t *testing.T) (*localNames, *store.Store, *config.Config) {
	t.Helper()
	st, dir := delivertest.Store(t)
	// A clock 10 s further at every look: no answer is reused, each step of the test
	// sees the change before it.
	var tick atomic.Int64
	dirc := deliver.NewDirectory(st, func() time.Time { return time.Unix(tick.Add(10), 0) })
	a, err := deliver.New(deliver.Options{Store: st, Directory: dirc, Namer: maildir.NewNamer("mail.example.test", time.Now),
		MailRoot: dir + "/mail", StateDir: dir, Hostname: "mail.example.test", Delimiter: "+", Logger: delivertest.DiscardLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	cfg := config.Default()
	return &localNames{agent: a, store: st, config: func() *config.Config { return &cfg }}, st, &cfg
}

func TestLocalNamesResolve(t *testing.T) {
	t.Parallel()
	n, st, _ := namesFixture(t)
	ctx := context.Background()
	if err := st.AddAlias(ctx, "team@example.test", []string{"alice@example.test", "friend@example.net"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDisabled(ctx, "carol@example.test", true); err != nil {
		t.Fatal(err)
	}
	want := map[string]localsubmit.Resolution{
		"alice@example.test": localsubmit.Known, "Alice+lists@Example.Test": localsubmit.Known,
		"team@example.test":  localsubmit.Known,
		"carol@example.test": localsubmit.Known, // disabled: delivery refuses it and says why
		"root@example.test":  localsubmit.Unknown, "friend@example.net": localsubmit.Foreign,
		"root@mail.example.test": localsubmit.Foreign, "root@box": localsubmit.Foreign,
	}
	for addr, w := range want {
		if got, err := n.Resolve(ctx, addr); err != nil || got != w {
			t.Errorf("Resolve(%s) = %v, %v; want %v", addr, got, err, w)
		}
	}
	// A catch-all receives every name of its domain.
	if err := st.AddAlias(ctx, "@example.test", []string{"bob@example.test"}); err != nil {
		t.Fatal(err)
	}
	if got, err := n.Resolve(ctx, "root@example.test"); err != nil || got != localsubmit.Known {
		t.Errorf("with a catch-all, Resolve(root@example.test) = %v, %v", got, err)
	}
}

func TestLocalNamesPrimaryDomainIsTheFirstByName(t *testing.T) {
	t.Parallel()
	n, st, _ := namesFixture(t)
	ctx := context.Background()
	if d, err := n.PrimaryDomain(ctx); err != nil || d != "example.test" {
		t.Fatalf("PrimaryDomain = %q, %v", d, err)
	}
	if _, err := st.AddDomain(ctx, "alpha.test"); err != nil {
		t.Fatal(err)
	}
	if d, err := n.PrimaryDomain(ctx); err != nil || d != "alpha.test" {
		t.Errorf("PrimaryDomain = %q, %v; want alpha.test, first by name", d, err)
	}
}

func TestLocalNamesOwner(t *testing.T) {
	t.Parallel()
	n, st, cfg := namesFixture(t)
	ctx := context.Background()
	owner := func() (string, string) {
		t.Helper()
		o, hint, err := n.Owner(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return o, hint
	}
	// Nobody yet: postmaster@ the first domain reaches nobody, and the hint says so.
	if o, hint := owner(); o != "" || !strings.Contains(hint, "postern alias add postmaster@example.test") {
		t.Errorf("owner %q, hint %q; want none and how to add postmaster", o, hint)
	}
	cfg.Alerts.To = "off"
	if o, _ := owner(); o != "" {
		t.Errorf("alerts off, no postmaster: owner %q", o)
	}
	if err := st.AddAlias(ctx, "postmaster@example.test", []string{"alice@example.test"}); err != nil {
		t.Fatal(err)
	}
	if o, _ := owner(); o != "postmaster@example.test" {
		t.Errorf("alerts off, postmaster an alias: owner %q", o)
	}
	cfg.Alerts.To = ""
	if o, _ := owner(); o != "postmaster@example.test" {
		t.Errorf("owner %q, want postmaster@example.test", o)
	}
	// [alerts] to wins; outside, it is trusted (relayed); inside, it must reach someone.
	cfg.Alerts.To = "me@example.net"
	if o, _ := owner(); o != "me@example.net" {
		t.Errorf("owner %q, want [alerts] to", o)
	}
	cfg.Alerts.To = "bob@example.test"
	if o, _ := owner(); o != "bob@example.test" {
		t.Errorf("owner %q, want bob", o)
	}
	cfg.Alerts.To = "ops@example.test"
	if o, hint := owner(); o != "" || !strings.Contains(hint, "ops@example.test reaches nobody") {
		t.Errorf("owner %q, hint %q; want none: ops@example.test does not exist", o, hint)
	}
}

func TestLocalNamesOwnerWithoutDomain(t *testing.T) {
	t.Parallel()
	n, st, _ := namesFixture(t)
	ctx := context.Background()
	for _, u := range delivertest.Users {
		if err := st.RemoveUser(ctx, u+"@"+delivertest.Domain); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RemoveDomain(ctx, delivertest.Domain); err != nil {
		t.Fatal(err)
	}
	if o, hint, err := n.Owner(ctx); err != nil || o != "" || !strings.Contains(hint, "postern init --user") {
		t.Errorf("owner %q, hint %q, %v; want none and how to make one", o, hint, err)
	}
}

func TestMachineNamesHasTheKernelsName(t *testing.T) {
	t.Parallel()
	names := machineNames(context.Background())
	if len(names) == 0 {
		t.Fatal("no machine names")
	}
	for _, n := range names {
		if n == "" || strings.HasSuffix(n, ".") {
			t.Errorf("machine name %q", n)
		}
	}
}
