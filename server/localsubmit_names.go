package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/store"
)

// localNames is localsubmit.Names: the delivery agent's resolution, the store's first
// domain and the owner alerts go to, for the rewrite of the machine's names (root, nut,
// root@HOSTNAME) in mail from sendmail.
type localNames struct {
	agent  *deliver.Agent
	store  *store.Store
	config func() *config.Config // the current config: [alerts] to follows a reload
}

func (n *localNames) Resolve(ctx context.Context, addr string) (localsubmit.Resolution, error) {
	local, found, err := n.agent.Lookup(ctx, addr)
	if err != nil {
		return 0, err
	}
	return localsubmit.Classify(local, found), nil
}

// PrimaryDomain is the first local domain by name, the one alerts use.
func (n *localNames) PrimaryDomain(ctx context.Context) (string, error) {
	ds, err := n.store.ListDomains(ctx)
	if err != nil || len(ds) == 0 {
		return "", err
	}
	return ds[0].Name, nil
}

// Owner is whoever alerts go to ([alerts] to, else postmaster@ the first local domain),
// as long as that reaches someone: an owner in a local domain that nobody receives is
// no owner, and the mail waits until one is set.
func (n *localNames) Owner(ctx context.Context) (string, string, error) {
	d, err := n.PrimaryDomain(ctx)
	if err != nil {
		return "", "", err
	}
	to := ownerAddress(n.config().Alerts, d)
	if to == "" {
		return "", "add a domain and a user (postern init --user YOU@DOMAIN), or set [alerts] to", nil
	}
	local, found, err := n.agent.Lookup(ctx, to)
	if err != nil {
		return "", "", err
	}
	if local && !found {
		_, d := store.SplitAddress(to)
		return "", fmt.Sprintf("%s reaches nobody; add it (postern alias add %s YOU@%s) or set [alerts] to", to, to, d), nil
	}
	return to, "", nil
}

// machineNames are this machine's names besides [server] hostname: the kernel's host
// name and, when that is short, the FQDN the resolver (/etc/hosts first) gives it.
func machineNames(ctx context.Context) []string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return nil
	}
	out := []string{h}
	if !strings.Contains(h, ".") {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if cname, err := net.DefaultResolver.LookupCNAME(ctx, h); err == nil && strings.Contains(strings.TrimSuffix(cname, "."), ".") {
			out = append(out, strings.TrimSuffix(cname, "."))
		}
	}
	return out
}
