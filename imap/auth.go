package imap

import (
	"context"
	"errors"
	"github.com/postern/postern/event"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Login checks the password (the account's or one of its app passwords) through the
// store. go-imap has already refused it with PRIVACYREQUIRED unless the connection is
// TLS (LOGINDISABLED before STARTTLS, RFC 3501 section 6.2.3). Every failure is logged
// on one stable line for fail2ban:
//
//	imap: auth failed client=IP user=ADDRESS reason=...
func (ss *session) Login(ctx context.Context, username, password string) (err error) {
	defer ss.recovered(&err)
	lim := ss.srv.opts.AuthLimiter
	if lim != nil {
		if err := lim.Allow(ctx, ss.ip, username); err != nil {
			ss.report(event.Login{Service: "imap", User: username, Reason: "rate limited: " + err.Error()})
			return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeUnavailable,
				Text: "Too many failed logins; try again later"}
		}
	}
	u, err := ss.srv.opts.Store.Authenticate(ctx, username, password)
	if errors.Is(err, store.ErrAuthFailed) {
		if lim != nil {
			lim.Record(ss.ip, username, false)
		}
		ss.report(event.Login{Service: "imap", User: username, Reason: err.Error()})
		return imapserver.ErrAuthFailed
	}
	if err != nil {
		ss.log.Error("imap: auth", "user", username, "err", err)
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeUnavailable,
			Text: "Temporary failure; try again"}
	}
	if lim != nil {
		lim.Record(ss.ip, username, true)
	}
	if err := ss.admitUser(u.Address); err != nil {
		return err
	}
	root := ss.srv.opts.MaildirRoot(u.Address)
	if err := maildir.Create(root); err != nil {
		return ss.imapError("login", err)
	}
	if _, err := ss.srv.opts.Store.EnsureMailbox(ctx, u.Address, store.InboxName, ""); err != nil {
		return ss.imapError("login", err)
	}
	ss.user = u.Address
	ss.md = &maildir.Maildir{Root: root, Namer: ss.srv.opts.Namer}
	ss.log = ss.log.With("user", u.Address)
	ss.srv.sessions.update(ss, func(in *SessionInfo) { in.User = u.Address })
	ss.report(event.Login{Service: "imap", User: u.Address, OK: true})
	return nil
}

// report writes the log line of a login (the fail2ban contract above; on success the
// session's logger already names the user) and emits it: the line and what the metrics
// count are the one value.
func (ss *session) report(e event.Login) {
	if e.OK {
		ss.log.Info("imap: login")
	} else {
		ss.log.Warn("imap: auth failed", "user", e.User, "reason", e.Reason)
	}
	if ss.srv.opts.Events != nil {
		ss.srv.opts.Events.Emit(e)
	}
}
