package imapsieve

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/sieve"
	"github.com/postern/postern/store"
)

// rule is one [[sieve.imapsieve]] table, its global scripts compiled.
type rule struct {
	mailbox, from string
	causes        []string
	before, after []*sieve.Script
	personal      string
}

func compileRules(cfg []config.IMAPSieveRule, st *store.Store, globalDir string) ([]rule, error) {
	out := make([]rule, 0, len(cfg))
	for _, c := range cfg {
		ru := rule{mailbox: c.Mailbox, from: c.From, causes: c.RuleCauses(), personal: c.Personal}
		for _, g := range []struct {
			path string
			dst  *[]*sieve.Script
		}{{c.Before, &ru.before}, {c.After, &ru.after}} {
			if g.path == "" {
				continue
			}
			src, err := os.ReadFile(g.path)
			if err != nil {
				return nil, fmt.Errorf("imapsieve: %w", err)
			}
			sc, err := sieve.Compile(filepath.Base(g.path), src, sieve.CompileOptions{IMAP: true,
				Loader: deliver.ScriptLoader(context.Background(), st, "", globalDir)})
			if err != nil {
				return nil, fmt.Errorf("imapsieve: %s: %w", g.path, err)
			}
			*g.dst = append(*g.dst, sc)
		}
		out = append(out, ru)
	}
	return out, nil
}

func (ru rule) matches(mailbox, cause string) bool {
	return slices.Contains(ru.causes, cause) && matchMailbox(ru.mailbox, mailbox)
}

// fromMatches: a rule with from runs only for copies from a matching mailbox.
func (ru rule) fromMatches(ev imap.SieveEvent) bool {
	if ru.from == "" {
		return true
	}
	return ev.Cause == imap.CauseCopy && matchMailbox(ru.from, ev.From)
}

// matchMailbox matches a mailbox name against a pattern (* within one level, ?);
// INBOX in any case is INBOX.
func matchMailbox(pattern, name string) bool {
	if strings.EqualFold(pattern, store.InboxName) {
		return strings.EqualFold(name, store.InboxName)
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}
