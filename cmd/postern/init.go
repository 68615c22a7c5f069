package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/postern/postern/server/bootstrap"
	"github.com/postern/postern/server/dnsrecords"
	"github.com/postern/postern/server/initcfg"
	"github.com/postern/postern/store"
)

// serviceUser is the account the packaged daemon runs as (packaging/sysusers.d).
const serviceUser = "postern"

func initCommand() *command {
	return &command{
		name:    "init",
		summary: "write a first config for a domain, create its first user and print the DNS records",
		help: `Writes the --config file (refusing to overwrite one) and, with --relay, the relay
password file beside it (mode 0600). Then, unless the daemon already runs on the state
directory, creates the database, the domain and, given a password, the first user with
its mailboxes, so that the server starts ready to log in to, and makes postmaster@ and
abuse@ the domain aliases of that user (unless they exist already): the owner, who
also gets the mail local services send to root, nut or root@HOSTNAME. Run as root, it
gives the state directory (and the password file) to the postern user when that user
exists. Finally it prints the DNS records for the domain.

Passwords never come from the command line. On standard input, the relay password is
the first line (--relay-password-stdin) and the user's password the next one
(--user-password-stdin); on a terminal, init asks for the user's password unless
--non-interactive. Without a password the user is not created and init prints the
command that creates it.`,
		flags: []flagSpec{
			{name: "domain", value: "DOMAIN", usage: "the mail domain, e.g. example.com"},
			{name: "hostname", value: "NAME", usage: "this server's name, e.g. mail.example.com"},
			{name: "relay", value: "PROVIDER", usage: "the smart host preset (fastmail, mailgun, brevo, postmark, smtp2go, gmail)"},
			{name: "relay-user", value: "USER", usage: "the smart host's user name"},
			{name: "relay-username", value: "USER", usage: "same as --relay-user"},
			{name: "password-stdin", usage: "same as --relay-password-stdin"},
			{name: "relay-password-stdin", usage: "read the smart host's (app) password from the first line of stdin"},
			{name: "user", value: "ADDRESS", usage: "the first user, e.g. you@example.com"},
			{name: "user-password-stdin", usage: "read the first user's password from stdin (the line after the relay password)"},
			{name: "state-dir", value: "DIR", usage: "where mail and the database live (default /var/lib/postern)"},
			{name: "non-interactive", usage: "never prompt; without --user-password-stdin the user is left for later"},
		},
		run: runInit,
	}
}

func runInit(ctx context.Context, c *cli, inv *invocation) error {
	o := initcfg.Options{
		ConfigPath: c.configPath, Domain: inv.str("domain"), Hostname: inv.str("hostname"),
		StateDir: inv.str("state-dir"), Relay: inv.str("relay"),
		RelayUser: inv.str("relay-user") + inv.str("relay-username"),
	}
	addr := inv.str("user")
	if addr != "" {
		if _, d := store.SplitAddress(addr); !strings.EqualFold(d, o.Domain) {
			return inv.usage("--user %s is not in --domain %s", addr, o.Domain)
		}
	}
	// One byte at a time: readPasswordLine must not buffer the next line away.
	stdin := oneByteReader{c.stdin}
	if inv.bool("password-stdin") || inv.bool("relay-password-stdin") {
		pw, err := readPasswordLine(stdin)
		if err != nil {
			return fmt.Errorf("the relay password: %w", err)
		}
		o.RelayPassword = pw
	}
	var userPassword string
	if addr != "" {
		var err error
		if userPassword, err = c.initUserPassword(inv, stdin, addr); err != nil {
			return err
		}
	}
	res, err := initcfg.Write(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote %s\n", c.configPath)
	owner := serviceOwner()
	if res.PasswordFile != "" {
		c.handOver(res.PasswordFile, owner)
	}

	boot, err := bootstrap.Run(ctx, res.Config, bootstrap.Request{
		Domain: o.Domain, User: addr, Password: userPassword, Owner: owner,
	})
	locked := errors.Is(err, bootstrap.ErrStateLocked)
	if err != nil && !locked {
		return fmt.Errorf("the config is written, but preparing %s failed: %w", res.Config.StateDir, err)
	}
	c.printInitNext(c.configPath, res.Config.StateDir, o.Domain, addr, boot, err, owner)
	fmt.Fprintf(c.stdout, "\nDNS records to publish for %s (print them again with: postern dns records %s;\ncheck them with: postern dns check %s):\n\n",
		o.Domain, o.Domain, o.Domain)
	return printRecords(c, dnsrecords.FromConfig(res.Config, strings.ToLower(o.Domain)), false)
}

// initUserPassword gets the first user's password: the next stdin line, a prompt on a
// terminal, or "" (the user is created later).
func (c *cli) initUserPassword(inv *invocation, stdin io.Reader, addr string) (string, error) {
	if inv.bool("user-password-stdin") {
		pw, err := readPasswordLine(stdin)
		if err != nil {
			return "", fmt.Errorf("the password of %s: %w", addr, err)
		}
		return pw, nil
	}
	if inv.bool("non-interactive") {
		return "", nil
	}
	if f, ok := c.stdin.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return "", nil
	}
	// An empty invocation: newPassword asks on the terminal.
	return c.newPassword(&invocation{}, addr)
}

// printInitNext says what was prepared and what is left to do.
func (c *cli) printInitNext(cfgFile, stateDir, domain, addr string, boot bootstrap.Result, bootErr error, owner *[2]int) {
	w := c.stdout
	if bootErr != nil {
		fmt.Fprintf(w, "did not prepare %s: %v\n", stateDir, bootErr)
	} else {
		fmt.Fprintf(w, "prepared %s: the database, domain %s", stateDir, domain)
		switch {
		case boot.UserAdded:
			fmt.Fprintf(w, ", user %s with its mailboxes", addr)
		case boot.UserExisted:
			fmt.Fprintf(w, " (user %s already exists; its password is unchanged)", addr)
		}
		fmt.Fprintln(w)
		if len(boot.OwnerAliases) > 0 {
			fmt.Fprintf(w, "aliased %s to %s (mail for root and the machine's services goes there too)\n",
				strings.Join(boot.OwnerAliases, " and "), addr)
		}
		if owner != nil {
			fmt.Fprintf(w, "gave %s to user %s\n", stateDir, serviceUser)
		}
	}
	fmt.Fprintf(w, "\nNext:\n  systemctl enable --now postern      # or: postern serve --config %s\n", cfgFile)
	if bootErr != nil {
		fmt.Fprintf(w, "  postern domain add %s\n", domain)
	}
	switch {
	case addr == "":
		fmt.Fprintf(w, "  postern user add you@%s --password-stdin\n", domain)
	case bootErr != nil || !(boot.UserAdded || boot.UserExisted):
		fmt.Fprintf(w, "  postern user add %s --password-stdin\n", addr)
		for _, name := range bootstrap.OwnerNames() {
			fmt.Fprintf(w, "  postern alias add %s@%s %s\n", name, domain, addr)
		}
	default:
		fmt.Fprintf(w, "  log in as %s (IMAP on 993, submission on 465 or 587)\n", addr)
	}
}

// serviceOwner is the postern user's uid and gid when init runs as root and the user
// exists; nil otherwise (the files stay with whoever runs init).
func serviceOwner() *[2]int {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(serviceUser)
	if err != nil {
		return nil
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil
	}
	return &[2]int{uid, gid}
}

// handOver gives a file to owner (the daemon refuses a relay password file it does not own).
func (c *cli) handOver(path string, owner *[2]int) {
	if owner == nil {
		fmt.Fprintf(c.stdout, "wrote %s (mode 0600; make it owned by the %s user)\n", path, serviceUser)
		return
	}
	if err := os.Chown(path, owner[0], owner[1]); err != nil {
		fmt.Fprintf(c.stdout, "wrote %s (mode 0600), but could not give it to %s: %v\n", path, serviceUser, err)
		return
	}
	fmt.Fprintf(c.stdout, "wrote %s (mode 0600, owned by %s)\n", path, serviceUser)
}

// oneByteReader hands out at most one byte per Read, so a line reader on top of it never
// consumes more than its line (init reads two passwords from one stdin).
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
