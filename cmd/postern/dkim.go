package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/dkimkeys"
)

func dkimCommand() *command {
	return &command{
		name:    "dkim",
		summary: "DKIM signing keys for our domains (state_dir/dkim)",
		subs: []*command{
			{
				name: "keygen", args: "DOMAIN", minArgs: 1, maxArgs: 1,
				summary: "make a signing key for DOMAIN and print the DNS TXT record to publish",
				help: `Writes state_dir/dkim/DOMAIN/SELECTOR.key (mode 0600, owned like state_dir when
run as root). The first key of a domain signs at once; a later one (a rotation) signs
only after "postern dkim activate", so publish its record first. The default selector
is the date and the algorithm, e.g. 20260715-ed25519. ed25519 (RFC 8463) is small, but
some receivers still verify only RSA: publish both for the widest reach.`,
				flags: []flagSpec{
					{name: "selector", value: "S", usage: "the selector (default: DATE-ALGO)"},
					{name: "algo", value: "ALGO", usage: "ed25519 or rsa (2048 bits); default rsa"},
				},
				run: dkimKeygen,
			},
			{
				name: "activate", args: "DOMAIN SELECTOR", minArgs: 2, maxArgs: 2,
				summary: "sign DOMAIN's mail with SELECTOR's key from now on",
				run:     dkimActivate,
			},
		},
	}
}

func dkimKeygen(_ context.Context, c *cli, inv *invocation) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return err
	}
	algo := inv.str("algo")
	if algo == "" {
		algo = dkimkeys.RSA
	}
	sel := inv.str("selector")
	if sel == "" {
		sel = dkimkeys.DefaultSelector(time.Now(), algo)
	}
	dir := dkimkeys.Dir(cfg.DKIMDir())
	k, active, err := dir.Generate(inv.args[0], sel, algo)
	if err != nil {
		return err
	}
	if err := chownLikeStateDir(cfg.StateDir, cfg.DKIMDir(), k.Domain); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "; DKIM key %s for %s\n%s\n", k.Selector, k.Domain, k.ZoneLine())
	if active {
		fmt.Fprintf(c.stdout, "; this key signs %s's mail now\n", k.Domain)
	} else {
		fmt.Fprintf(c.stdout, "; publish the record, then: postern dkim activate %s %s\n", k.Domain, k.Selector)
	}
	return nil
}

func dkimActivate(_ context.Context, c *cli, inv *invocation) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return err
	}
	if err := dkimkeys.Dir(cfg.DKIMDir()).Activate(inv.args[0], inv.args[1]); err != nil {
		return err
	}
	if err := chownLikeStateDir(cfg.StateDir, cfg.DKIMDir(), inv.args[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s signs with %s\n", inv.args[0], inv.args[1])
	return nil
}

// chownLikeStateDir gives the key directory to state_dir's owner when we run
// as root, so that the daemon (the service user) can read keys root made.
func chownLikeStateDir(stateDir, dkimDir, domain string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(stateDir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	return filepath.WalkDir(dkimDir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dkimDir, p); rel != "." && rel != domain && filepath.Dir(rel) != domain {
			return nil
		}
		return os.Lchown(p, int(st.Uid), int(st.Gid))
	})
}
