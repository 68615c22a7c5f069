package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/config"
)

// Exit codes of sendmail (sysexits.h), which cron, mailx and scripts know.
const (
	exUsage    = 64 // EX_USAGE: a command line sendmail does not take
	exDataErr  = 65 // EX_DATAERR: the message itself was refused
	exNoUser   = 67 // EX_NOUSER: some recipient was refused
	exTempFail = 75 // EX_TEMPFAIL: the message could not be kept; try again
)

const sendmailHelp = `Reads a message from standard input and hands it to the running daemon over
the local submission socket; local recipients get it at once, others through
the queue. When the daemon is not running the message is written to
state_dir/maildrop (any local user may) and delivered when the daemon starts. The exit status is 0
whenever the message was kept (delivered, queued or in pickup). Also runs when
the binary is called as "sendmail". It takes the flags of the traditional
sendmail that cron, mailx, NUT and borgmatic use: -t takes the recipients also
from To:, Cc: and Bcc: (and removes Bcc:); -f ADDRESS sets the envelope sender
(and the From: added when the message has none); -F NAME sets the full name of
that From:; -i or -oi stops a line with a single dot from ending the message;
-bm (the default) sends; -bp lists the queue as mailq does; -bv verifies the
addresses on the command line (at most 100) and sends nothing, one line each ("ADDRESS...
deliverable: local mailbox ...", "... rewritten to OWNER; deliverable: ..." for
a name of this machine, or "... undeliverable: REASON"), exit 0 when all
are deliverable, 67 when one is not, 75 when one cannot be verified now, 69 when
the daemon is not running (an alias's targets, and where a name of this
machine goes, are shown only to root and group postern); -v says what happened on standard error; -- ends the flags.
-odi, -odb, -oem, -oee, the other -o options, -B, -N, -R, -V, -h, -L, -m, -n,
-U and -G are accepted and ignored. A recipient without a domain, or at a name
of this machine (its hostname, localhost), is the user or alias of that name in
the first local domain, else the owner ([alerts] to, else postmaster@ the first
domain), as are root, postmaster, MAILER-DAEMON and abuse wherever no address
of theirs exists; with no owner yet, such mail waits in pickup.`

func sendmailCommand() *command {
	return &command{
		name: "sendmail", args: "[FLAGS] [RECIPIENT...]", maxArgs: -1,
		summary: "send a message from standard input, as sendmail does (for cron, scripts, mail)",
		help:    sendmailHelp,
		run: func(ctx context.Context, c *cli, inv *invocation) error {
			return exitStatus(c.sendmail(ctx, inv.args))
		},
	}
}

func mailqCommand() *command {
	return &command{
		name:    "mailq",
		summary: "list the outbound queue, as Postfix's mailq does (postern queue list)",
		help: `Also runs when the binary is called as "mailq", and as sendmail -bp. Root and
the members of group postern see the whole queue (postern queue list); any
other local user sees the messages they submitted with sendmail, and nobody
else's: those in the queue and those still waiting for the daemon, known by
the uid the kernel gives the daemon, with a note on standard error saying so.
While the daemon is not running, a user sees their own messages waiting in the
maildrop (exit 0, with a note on standard error); root and group postern, whose
queue cannot be read then, see theirs as well.`,
		flags: []flagSpec{jsonFlag()},
		run: func(ctx context.Context, c *cli, inv *invocation) error {
			return c.mailq(ctx, inv.bool("json"))
		},
	}
}

// compatMode recognises a run as sendmail or mailq: by the program's name, or as the
// subcommand "sendmail" (whose single-dash flags the command table cannot parse).
// It returns the mode and the arguments after it, --config already applied to c.
func (c *cli) compatMode(name string, args []string) (string, []string, error) {
	if name != "sendmail" && name != "mailq" {
		rest, cfg, err := extractConfigFlag(args)
		if err != nil || len(rest) == 0 || rest[0] != "sendmail" || wantsHelp(rest[1:2]) {
			return "", nil, nil
		}
		c.configPath = c.resolveConfigPath(cfg)
		return "sendmail", rest[1:], nil
	}
	rest, cfg, err := extractConfigFlag(args)
	if err != nil {
		return "", nil, err
	}
	c.configPath = c.resolveConfigPath(cfg)
	return name, rest, nil
}

// runCompat runs sendmail or mailq mode and returns the exit code.
func (c *cli) runCompat(mode string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// --version and --help, which no sendmail flag looks like, tell what the program is.
	if len(args) == 1 && (args[0] == "--version" || args[0] == "--help") {
		if args[0] == "--version" {
			fmt.Fprintf(c.stdout, "postern %s, running as %s\n", versionString(), mode)
			return exitOK
		}
		c.printHelp(c.stdout, c.root.sub(mode), []string{mode})
		return exitOK
	}
	if mode == "mailq" {
		return c.report(c.mailq(ctx, false))
	}
	return c.sendmail(ctx, args)
}

// sendmailArgs is a parsed sendmail command line.
type sendmailArgs struct {
	req        localsubmit.Request
	ignoreDots bool
	verbose    bool
	listQueue  bool // -bp
	verify     bool // -bv
}

// valueFlags take an argument, in the same word (-fme@x) or the next (-f me@x).
const valueFlags = "fFrBNRVXCLhOAbo"

// parseSendmailArgs reads the flags the way getopt does: single letters, grouped or
// not, options ending at "--" or at the first recipient.
func parseSendmailArgs(args []string) (*sendmailArgs, error) {
	sa := &sendmailArgs{}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			ch := a[j]
			if !strings.ContainsRune(valueFlags, rune(ch)) {
				if err := sa.simpleFlag(ch); err != nil {
					return nil, err
				}
				continue
			}
			val := a[j+1:]
			if val == "" && ch != 'o' {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("-%c needs a value", ch)
				}
				i++
				val = args[i]
			}
			if err := sa.valueFlag(ch, val); err != nil {
				return nil, err
			}
			break
		}
	}
	sa.req.Rcpts = append(sa.req.Rcpts, args[i:]...)
	return sa, nil
}

func (sa *sendmailArgs) simpleFlag(ch byte) error {
	switch ch {
	case 't':
		sa.req.ExtractRecipients = true
	case 'i':
		sa.ignoreDots = true
	case 'v':
		sa.verbose = true
	case 'm', 'n', 'U', 'G', 'I', 'q':
		// -m (me too), -n (no aliasing), -U (initial submission), -G (gateway): no
		// meaning here. -I (newaliases) and -q (process the queue) do nothing: aliases
		// live in the database and the daemon runs its queue itself.
	default:
		return fmt.Errorf("unknown flag -%c", ch)
	}
	return nil
}

func (sa *sendmailArgs) valueFlag(ch byte, val string) error {
	switch ch {
	case 'f', 'r':
		v := val
		sa.req.Sender = &v
	case 'F':
		sa.req.FullName = val
	case 'o':
		// -oi is -i; -odi, -odb, -oem, -oee and the rest are accepted and ignored.
		if val == "i" {
			sa.ignoreDots = true
		}
	case 'b':
		switch val {
		case "m":
		case "p":
			sa.listQueue = true
		case "v":
			sa.verify = true
		default:
			return fmt.Errorf("-b%s is not supported (only -bm, the default, -bp and -bv)", val)
		}
	}
	return nil
}

// readSendmailMessage reads the message from r: to EOF with -i, else to EOF or a line
// holding a single dot. It fails for a message over limit octets.
func readSendmailMessage(r io.Reader, ignoreDots bool, limit int64) ([]byte, error) {
	lr := io.LimitReader(r, limit+1)
	if ignoreDots {
		b, err := io.ReadAll(lr)
		if err == nil && int64(len(b)) > limit {
			err = fmt.Errorf("the message is larger than the limit of %d bytes (smtp.message_size_limit)", limit)
		}
		return b, err
	}
	var out bytes.Buffer
	br := bufio.NewReader(lr)
	for {
		line, err := br.ReadBytes('\n')
		if t := bytes.TrimRight(line, "\r\n"); len(line) > len(t) && string(t) == "." {
			return out.Bytes(), nil
		}
		out.Write(line)
		if int64(out.Len()) > limit {
			return nil, fmt.Errorf("the message is larger than the limit of %d bytes (smtp.message_size_limit)", limit)
		}
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// sendmail runs sendmail mode and returns the exit code. Its rule: exit 0 exactly when
// the message is kept (delivered, queued, or in pickup).
func (c *cli) sendmail(ctx context.Context, args []string) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(c.stderr, "sendmail: "+format+"\n", a...)
		return code
	}
	sa, err := parseSendmailArgs(args)
	if err != nil {
		return fail(exUsage, "%v", err)
	}
	if sa.listQueue {
		return c.report(c.mailq(ctx, false))
	}
	cfg, err := config.Load(c.configPath)
	if err != nil {
		err = c.configError(err)
		return fail(exTempFail, "%v; the message was not sent (hint: %s)", err, hintOf(err))
	}
	if sa.verify {
		return c.sendmailVerify(ctx, cfg, sa.req.Rcpts)
	}
	msg, err := readSendmailMessage(c.stdin, sa.ignoreDots, cfg.SMTP.MessageSizeLimit)
	if err != nil {
		return fail(exDataErr, "reading the message: %v", err)
	}
	rep, err := localsubmit.Submit(ctx, cfg.SubmitSocket(), &sa.req, msg)
	if err == nil && !(rep.Error != "" && rep.Temporary) {
		return c.sendmailResult(sa, rep)
	}
	why := err
	if err == nil {
		why = errors.New(rep.Error)
	}
	return c.keepInPickup(cfg, sa, msg, why)
}

// sendmailVerify is sendmail -bv: one line per address saying how it would be delivered,
// as sendmail prints them ("ADDRESS... deliverable: ..."); nothing is sent. Exit 0 when
// every address is deliverable, EX_NOUSER when one is not, EX_TEMPFAIL when one could not
// be verified now, EX_UNAVAILABLE when the daemon is not running.
func (c *cli) sendmailVerify(ctx context.Context, cfg *config.Config, rcpts []string) int {
	if len(rcpts) == 0 {
		fmt.Fprintln(c.stderr, "sendmail: -bv needs the addresses to verify")
		return exUsage
	}
	rep, err := localsubmit.Verify(ctx, cfg.SubmitSocket(), rcpts)
	if err != nil {
		fmt.Fprintf(c.stderr, "sendmail: %v; -bv asks the daemon\nhint: start it (postern serve or systemctl start postern)\n", err)
		return exitUnavailable
	}
	if rep.Error != "" {
		fmt.Fprintf(c.stderr, "sendmail: -bv refused: %s\n", rep.Error)
		if rep.Temporary {
			return exTempFail
		}
		return exUsage
	}
	code := exitOK
	for _, v := range rep.Verified {
		fmt.Fprintf(c.stdout, "%s... %s\n", v.Rcpt, v.How)
		switch {
		case v.Deliverable:
		case v.Temporary && code == exitOK:
			code = exTempFail
		case !v.Temporary:
			code = exNoUser
		}
	}
	return code
}

// sendmailResult reports the daemon's answer.
func (c *cli) sendmailResult(sa *sendmailArgs, rep localsubmit.Reply) int {
	if rep.Error != "" {
		fmt.Fprintf(c.stderr, "sendmail: message refused: %s\n", rep.Error)
		return exDataErr
	}
	if sa.verbose {
		for _, r := range rep.Accepted {
			fmt.Fprintf(c.stderr, "sendmail: %s: accepted (id %s)\n", r, rep.ID)
		}
		for _, r := range rep.Deferred {
			fmt.Fprintf(c.stderr, "sendmail: %s: deferred, the daemon will retry: %s\n", r.Rcpt, r.Reason)
		}
	}
	for _, r := range rep.Failed {
		fmt.Fprintf(c.stderr, "sendmail: %s: %s\n", r.Rcpt, r.Reason)
	}
	if len(rep.Failed) > 0 {
		return exNoUser
	}
	return exitOK
}

// keepInPickup writes the message into the maildrop, for the daemon to deliver when it
// runs again; any local user may (see localsubmit/maildrop.go).
func (c *cli) keepInPickup(cfg *config.Config, sa *sendmailArgs, msg []byte, why error) int {
	req := sa.req
	req.Size = int64(len(msg))
	path, err := localsubmit.WriteMaildrop(cfg.MaildropDir(), &req, bytes.NewReader(msg))
	if err != nil {
		hint := "start the daemon (postern serve or systemctl start postern) and send again"
		if errors.Is(err, fs.ErrNotExist) {
			hint = "the daemon has never run on " + cfg.StateDir + "; start it once (it creates the maildrop) and send again"
		} else if errors.Is(err, fs.ErrPermission) {
			hint = fmt.Sprintf("%s must be mode 3733 and %s searchable by others (0711); the daemon sets the first at start",
				cfg.MaildropDir(), cfg.StateDir)
		}
		fmt.Fprintf(c.stderr, "sendmail: the daemon did not take the message (%v), and keeping it failed: %v\nhint: %s\n", why, err, hint)
		return exTempFail
	}
	if sa.verbose {
		fmt.Fprintf(c.stderr, "sendmail: %v; kept in %s, delivered when the daemon runs\n", why, path)
	}
	return exitOK
}

func hintOf(err error) string {
	var h interface{ AdminHint() string }
	if errors.As(err, &h) {
		return h.AdminHint()
	}
	return "pass --config FILE or set POSTERN_CONFIG"
}
