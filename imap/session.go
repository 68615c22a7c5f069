package imap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// session is one IMAP connection. go-imap calls its methods from the connection's
// goroutine, one command at a time, except Idle's stop channel; so the fields need no
// lock of their own.
type session struct {
	srv      *Server
	conn     *imapserver.Conn
	implicit bool
	log      *slog.Logger
	ip       string

	user        string           // "" until logged in
	userRelease func()           // frees the per-user connection slot; nil if none
	md          *maildir.Maildir // the user's Maildir
	sel         *selected        // nil unless a mailbox is selected
	// fresh says the current command brought the snapshot up to date (pick), so the
	// poll after it need not ask the index again.
	fresh bool
	// condstoreTold says the client has had a HIGHESTMODSEQ since it became
	// CONDSTORE-aware (condstore.go).
	condstoreTold bool
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
	_ imapserver.SessionID          = (*session)(nil)
)

func (s *Server) newSession(c *imapserver.Conn, implicit bool) *session {
	ip := ""
	if c != nil && c.NetConn() != nil {
		ip = remoteIP(c.NetConn().RemoteAddr())
	}
	ss := &session{srv: s, conn: c, implicit: implicit, ip: ip, log: s.log.With("client", ip)}
	s.sessions.add(ss, s.opts.Now())
	return ss
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func (ss *session) Close() error {
	ss.closeSelected()
	ss.srv.sessions.remove(ss)
	if ss.userRelease != nil {
		ss.userRelease()
		ss.userRelease = nil
	}
	return nil
}

// ID answers the client's ID (RFC 2971) with our name only: no version, so scanners
// learn nothing useful.
func (ss *session) ID(client *goimap.IDData) *goimap.IDData {
	if client != nil && ss.user != "" {
		ss.log.Debug("imap: client id", "user", ss.user, "name", client.Name, "version", client.Version)
	}
	return &goimap.IDData{Name: "Postern"}
}

func (ss *session) AppendLimit() uint32 { return ss.srv.opts.AppendLimit }

func (ss *session) Namespace(ctx context.Context) (*goimap.NamespaceData, error) {
	return &goimap.NamespaceData{Personal: []goimap.NamespaceDescriptor{{Prefix: "", Delim: '/'}}}, nil
}

func (ss *session) Unselect(ctx context.Context) error {
	ss.closeSelected()
	return nil
}

// recovered turns a panic in a command into a SERVERBUG answer, logged with its stack,
// so one bad message never takes the process down.
func (ss *session) recovered(err *error) {
	if r := recover(); r != nil {
		ss.log.Error("imap: panic in command", "user", ss.user, "panic", r, "stack", string(debug.Stack()))
		*err = &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeServerBug, Text: "Internal error"}
	}
}

// imapError maps store and Maildir errors to IMAP answers (RFC 5530 response codes).
func (ss *session) imapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *goimap.Error
	if errors.As(err, &ie) {
		return ie
	}
	no := func(code goimap.ResponseCode, text string) error {
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: code, Text: text}
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, maildir.ErrNoFolder):
		return no(goimap.ResponseCodeNonExistent, "No such mailbox")
	case errors.Is(err, store.ErrExists), errors.Is(err, maildir.ErrExists):
		return no(goimap.ResponseCodeAlreadyExists, "Mailbox already exists")
	case errors.Is(err, store.ErrInvalid), errors.Is(err, maildir.ErrBadName):
		return no(goimap.ResponseCodeCannot, "Invalid mailbox name or argument")
	case errors.Is(err, maildir.ErrTooManyKeywords):
		return no(goimap.ResponseCodeLimit, "Too many keywords in this mailbox")
	case errors.Is(err, context.Canceled):
		return no(goimap.ResponseCodeUnavailable, "Cancelled")
	}
	ss.log.Error("imap: "+op, "user", ss.user, "err", err)
	return no(goimap.ResponseCodeServerBug, fmt.Sprintf("%s failed", op))
}
