package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/postern/postern/migrate/dovecot"
	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/store"
)

func importCommand() *command {
	return &command{
		name:    "import",
		summary: "bring users, mail and maps over from Dovecot and Postfix",
		help: `The imports work on the state directory directly: stop the daemon first. Each
takes --dry-run to print what it would do, and running one twice changes nothing.`,
		subs: []*command{
			{
				name: "passwd-file", args: "FILE", minArgs: 1, maxArgs: 1,
				summary: "create the users of a Dovecot passwd-file with their password hashes and quotas",
				help: `Each user keeps its hash (ARGON2ID, ARGON2I, SHA512-CRYPT, SHA256-CRYPT,
BLF-CRYPT, PBKDF2, SSHA512, SSHA, CRYPT, PLAIN...), verified at login and replaced by
Postern's argon2id at the first successful one. userdb_quota_rule=*:storage=SIZE
becomes the quota. Missing domains are added; existing users are left as they are.`,
				flags: []flagSpec{dryRunFlag(), jsonFlag(),
					{name: "domain", value: "DOMAIN", usage: "the domain of user names without one"}},
				run: importPasswdFile,
			},
			{
				name: "dovecot", args: "[ADDRESS HOME]", maxArgs: 2,
				summary: "import Dovecot Maildirs keeping UIDVALIDITY, UIDs, flags, keywords, subscriptions and Sieve scripts",
				help: `One user: ADDRESS and the user's Dovecot home (holding Maildir/, sieve/ and
.dovecot.sieve; a HOME that is itself a Maildir works too). Many users: --users FILE
(a passwd-file; each line's home field, else --home TEMPLATE with Dovecot's %d, %n
and %u, such as /var/vmail/%d/%n). Users must exist (postern import passwd-file).
Messages are hard-linked where the file system allows, copied otherwise. Each folder
is imported whole or not at all. Dovecot keeps special-use attributes in its config:
with --dovecot-conf the folders its namespaces' mailbox sections name (special_use =
\Junk...) get them and no others; without it the usual names (Drafts, Sent, Junk,
Spam, Trash, Archive) are taken to mean what they say.`,
				flags: []flagSpec{dryRunFlag(), jsonFlag(),
					{name: "users", value: "FILE", usage: "a Dovecot passwd-file naming the users to import"},
					{name: "home", value: "TEMPLATE", usage: "home directory of users without one in --users, e.g. /var/vmail/%d/%n"},
					{name: "domain", value: "DOMAIN", usage: "the domain of user names without one"},
					{name: "dovecot-conf", value: "FILE", usage: "Dovecot's config (dovecot.conf with its includes, or - for doveconf -n on stdin): special-use folders from its mailbox sections"},
					{name: "special-use", value: `NAME=\USE,...`, usage: `special-use attributes over the config's and the well-known names, e.g. "Gesendet=\Sent"`}},
				run: importDovecot,
			},
			importPostfixCommand(),
		},
	}
}

func dryRunFlag() flagSpec {
	return flagSpec{name: "dry-run", usage: "print what would be done and change nothing"}
}

func importPasswdFile(ctx context.Context, c *cli, inv *invocation) error {
	entries, bad, err := readPasswdFile(inv.args[0])
	if err != nil {
		return err
	}
	return c.withOfflineState(ctx, func(o *offlineState) error {
		res, err := dovecot.ImportUsers(ctx, o.st, entries, inv.str("domain"), inv.bool("dry-run"))
		if err != nil {
			return err
		}
		if inv.bool("json") {
			return writeJSON(c.stdout, res)
		}
		for _, d := range res.Domains {
			fmt.Fprintf(c.stdout, "%s domain %s\n", verb(inv, "added", "would add"), d)
		}
		rows := make([][]string, len(res.Users))
		failed := len(bad)
		for i, u := range res.Users {
			rows[i] = []string{u.Address, u.Scheme, formatSize(u.QuotaBytes), u.Action, u.Err}
			if u.Err != "" {
				failed++
			}
		}
		for _, b := range bad {
			fmt.Fprintf(c.stderr, "postern: %s: %v\n", inv.args[0], b)
		}
		if err := writeTable(c.stdout, "no users in "+inv.args[0], []string{"USER", "SCHEME", "QUOTA", "ACTION", "ERROR"}, rows); err != nil {
			return err
		}
		if failed > 0 {
			return exitStatus(1)
		}
		return nil
	})
}

func verb(inv *invocation, done, dry string) string {
	if inv.bool("dry-run") {
		return dry
	}
	return done
}

func readPasswdFile(path string) ([]dovecot.PasswdEntry, []*dovecot.LineError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return dovecot.ParsePasswdFile(f)
}

func importDovecot(ctx context.Context, c *cli, inv *invocation) error {
	srcs, err := dovecotSources(inv)
	if err != nil {
		return err
	}
	specials, err := parseSpecialUse(inv.str("special-use"))
	if err != nil {
		return inv.usage("%v", err)
	}
	var confUse map[string]string
	if path := inv.str("dovecot-conf"); path != "" {
		conf, err := c.readDovecotConf(path)
		if err != nil {
			return err
		}
		for _, w := range conf.Warnings {
			fmt.Fprintf(c.stderr, "postern: warning: %s\n", w)
		}
		confUse = conf.SpecialUse
	}
	return c.withOfflineState(ctx, func(o *offlineState) error {
		bar := newProgressBar(c.stderr)
		im := dovecot.NewImporter(o.st, dovecot.Options{
			MailRoot: o.cfg.MailDir(), DryRun: inv.bool("dry-run"), SpecialUse: specials, ConfSpecialUse: confUse,
			CheckSieve: deliver.SieveCompiler(o.st, o.cfg.Sieve.GlobalDir, o.cfg.SMTP.RecipientDelimiter),
			Owner:      o.owner[0], OwnerGID: o.owner[1],
		})
		var reps []dovecot.UserReport
		failed := false
		for _, src := range srcs {
			rep, err := im.ImportUser(ctx, src, bar.update(src.Address))
			bar.done()
			reps = append(reps, rep)
			if err != nil {
				fmt.Fprintf(c.stderr, "postern: %s: %v\n", src.Address, err)
				failed = true
				if ctx.Err() != nil {
					break
				}
			}
			failed = failed || len(rep.Errors) > 0
		}
		if inv.bool("json") {
			if err := writeJSON(c.stdout, reps); err != nil {
				return err
			}
		} else if err := printImportReports(c.stdout, c.stderr, reps, inv.bool("dry-run")); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: folders not finished were left out whole; run the import again to finish")
		}
		if failed {
			return exitStatus(1)
		}
		return nil
	})
}

// readDovecotConf reads Dovecot's config from path with its includes, or from stdin
// ("-", what doveconf -n prints: includes done, nothing to follow).
func (c *cli) readDovecotConf(path string) (*dovecot.DovecotConf, error) {
	if path != "-" {
		return dovecot.ReadDovecotConf(dovecot.OSConfFiles{}, path)
	}
	data, err := io.ReadAll(io.LimitReader(c.stdin, dovecot.MaxConfBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dovecot config on stdin: %w", err)
	}
	if len(data) > dovecot.MaxConfBytes {
		return nil, fmt.Errorf("dovecot config on stdin: larger than %d bytes", dovecot.MaxConfBytes)
	}
	return dovecot.ParseDovecotConf(data, "(stdin)", nil)
}

// dovecotSources turns the command line into the users to import.
func dovecotSources(inv *invocation) ([]dovecot.UserSource, error) {
	if len(inv.args) == 2 {
		return []dovecot.UserSource{userSourceFromHome(inv.args[0], inv.args[1])}, nil
	}
	if len(inv.args) == 1 || inv.str("users") == "" {
		return nil, inv.usage("give ADDRESS HOME, or --users FILE")
	}
	entries, bad, err := readPasswdFile(inv.str("users"))
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: %v", inv.str("users"), bad[0])
	}
	var out []dovecot.UserSource
	for _, e := range entries {
		addr, err := e.Address(inv.str("domain"))
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", inv.str("users"), e.Line, err)
		}
		home := e.Home
		if home == "" {
			if inv.str("home") == "" {
				return nil, fmt.Errorf("%s line %d: %s has no home directory; pass --home TEMPLATE", inv.str("users"), e.Line, addr)
			}
			home = expandHome(inv.str("home"), addr)
		}
		out = append(out, userSourceFromHome(addr, home))
	}
	return out, nil
}

// expandHome fills Dovecot's %u, %n, %d (and their %L lower-case forms) for addr.
func expandHome(tmpl, addr string) string {
	local, domain := store.SplitAddress(addr)
	return strings.NewReplacer("%Lu", addr, "%Ln", local, "%Ld", domain, "%u", addr, "%n", local, "%d", domain, "%%", "%").Replace(tmpl)
}

// userSourceFromHome finds a Dovecot user's Maildir and Pigeonhole files in home
// (mail_location = maildir:~/Maildir, sieve = file:~/sieve;active=~/.dovecot.sieve).
func userSourceFromHome(addr, home string) dovecot.UserSource {
	md := filepath.Join(home, "Maildir")
	if _, err := os.Stat(filepath.Join(md, "cur")); err != nil {
		md = home
	}
	return dovecot.UserSource{Address: addr, Maildir: md,
		SieveDir: filepath.Join(home, "sieve"), ActiveSieve: filepath.Join(home, ".dovecot.sieve")}
}

func parseSpecialUse(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || !strings.HasPrefix(v, `\`) {
			return nil, fmt.Errorf("--special-use %q: want NAME=\\USE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func printImportReports(w, ew io.Writer, reps []dovecot.UserReport, dry bool) error {
	var msgs, added, kept, linked, copied int
	for _, rep := range reps {
		rows := make([][]string, 0, len(rep.Folders))
		for _, f := range rep.Folders {
			rows = append(rows, []string{f.Name, fmt.Sprint(f.UIDValidity), fmt.Sprint(f.UIDNext), itoa(f.Messages), itoa(f.Added), itoa(f.Kept), f.SpecialUse, yesNo(f.Subscribed)})
			msgs, added, kept, linked, copied = msgs+f.Messages, added+f.Added, kept+f.Kept, linked+f.Linked, copied+f.Copied
		}
		fmt.Fprintf(w, "%s:\n", rep.User)
		if err := writeTable(w, "  no folders", []string{"FOLDER", "UIDVALIDITY", "UIDNEXT", "MESSAGES", "ADDED", "KEPT", "SPECIAL-USE", "SUBSCRIBED"}, rows); err != nil {
			return err
		}
		if len(rep.NameOnly) > 0 {
			fmt.Fprintf(w, "subscribed without a folder: %s\n", strings.Join(rep.NameOnly, ", "))
		}
		for _, s := range rep.Sieve {
			fmt.Fprintf(w, "sieve: %s\n", s)
		}
		for _, e := range rep.Errors {
			fmt.Fprintf(ew, "postern: %s: %s\n", rep.User, e)
		}
	}
	what := "imported"
	if dry {
		what = "would import"
	}
	_, err := fmt.Fprintf(w, "%s %d of %d messages (%d already there); %d hard-linked, %d copied\n", what, added, msgs, kept, linked, copied)
	return err
}

// progressBar draws one line on a terminal; elsewhere it draws nothing.
type progressBar struct {
	w     io.Writer
	on    bool
	drawn bool
	last  int
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progressBar) update(label string) func(done, total int) {
	p.last = -1
	return func(done, total int) {
		if !p.on || total == 0 {
			return
		}
		pct := done * 100 / total
		if pct == p.last && done != total {
			return
		}
		p.last, p.drawn = pct, true
		const width = 30
		fill := width * done / total
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total)
	}
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
