package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/localsubmit"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp/queue"
)

// mailq (and sendmail -bp) lists the queue the way each caller may see it: root and the
// members of group postern, who may use the admin socket, see the whole queue; any other
// local user sees the messages they submitted, asked of the daemon on the submission
// socket, which knows them by the kernel's uid of the caller (see localsubmit/list.go).
// While the daemon is down a user sees their own messages waiting in the maildrop.
func (c *cli) mailq(ctx context.Context, asJSON bool) error {
	err := c.queueList(ctx, asJSON)
	switch admin.ErrorCode(err) {
	case admin.CodePermissionDenied:
		return c.ownQueue(ctx, asJSON)
	case admin.CodeNotRunning:
		return c.ownMaildrop(asJSON, err)
	}
	return err
}

// ownQueue lists the caller's own messages, as the daemon tells them on the submission
// socket.
func (c *cli) ownQueue(ctx context.Context, asJSON bool) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return c.configError(err)
	}
	rep, err := localsubmit.List(ctx, cfg.SubmitSocket())
	if errors.Is(err, localsubmit.ErrNotRunning) {
		return c.ownMaildrop(asJSON, admin.NewError(admin.CodeNotRunning, "", err))
	}
	if err != nil {
		return admin.NewError(admin.CodeNotRunning, "", err)
	}
	if rep.Error != "" {
		return fmt.Errorf("the daemon refused to list your messages: %s", rep.Error)
	}
	fmt.Fprintf(c.stderr, "mailq: only the messages you submitted (uid %d); root and group postern see the whole queue\n", os.Getuid())
	return c.writeOwn(rep.Queue, rep.More, asJSON)
}

// writeOwn prints a user's own listing as mailq prints the queue.
func (c *cli) writeOwn(list []queue.Info, more int, asJSON bool) error {
	if asJSON {
		return writeJSON(c.stdout, list)
	}
	if err := queue.WriteMailq(c.stdout, list, nil); err != nil {
		return err
	}
	if more > 0 {
		fmt.Fprintf(c.stdout, "-- and %d more not listed.\n", more)
	}
	return nil
}

// ownMaildrop is mailq with the daemon down: the caller's own messages waiting in the
// maildrop (their directory there, which they may list), delivered when it starts.
func (c *cli) ownMaildrop(asJSON bool, notRunning error) error {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return c.configError(err)
	}
	list, err := localsubmit.ListMaildrop(cfg.MaildropDir(), defaultSender(cfg))
	if err != nil {
		return fmt.Errorf("%w; and your messages waiting in the maildrop cannot be listed: %v", notRunning, err)
	}
	fmt.Fprintf(c.stderr, "mailq: the daemon is not running: only your messages waiting in %s are listed (delivered when it starts)\n",
		cfg.MaildropDir())
	return c.writeOwn(list, 0, asJSON)
}

// defaultSender is the envelope sender the daemon gives a message sent without -f by the
// caller: [smtp] local_sender, else login@hostname.
func defaultSender(cfg *config.Config) string {
	if cfg.SMTP.LocalSender != "" {
		return cfg.SMTP.LocalSender
	}
	login := "uid" + strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		login = u.Username
	}
	return login + "@" + cfg.Hostname
}
