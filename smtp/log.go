package smtp

import (
	"context"
	"github.com/postern/postern/event"
	"log/slog"
	"strings"
)

// Mail-log keys. They are a contract (fail2ban filters and scripts grep them):
// add keys freely, rename none. The package doc lists which event carries which.
const (
	KeySession   = "sid"         // session id, on every line
	KeyClient    = "client"      // client IP address, or "unix", on every line
	KeyRole      = "role"        // "mx", "lmtp", "submission", "submissions"
	KeyTrusted   = "trusted"     // client in trusted_networks (or unix socket)
	KeyHELO      = "helo"        // HELO/EHLO/LHLO name
	KeyRDNS      = "rdns"        // forward-confirmed PTR name, "unknown" if none
	KeyTLS       = "tls"         // TLS version, "" without TLS
	KeyCipher    = "cipher"      // TLS cipher suite
	KeyStage     = "stage"       // connect, helo, mail, rcpt, data
	KeyCode      = "code"        // reply code, e.g. 550
	KeyEnhanced  = "enhanced"    // enhanced status code, e.g. "5.1.1"
	KeyReason    = "reason"      // reply text or error
	KeyFrom      = "from"        // envelope sender, "" for <>
	KeyTo        = "to"          // recipient(s), comma-separated at the data stage
	KeyID        = "id"          // transaction (envelope) id
	KeySize      = "size"        // message size in octets
	KeyNRcpt     = "nrcpt"       // number of recipients
	KeyDuration  = "duration_ms" // session length
	KeyMsgs      = "msgs"        // messages accepted in the session
	KeyRcpts     = "rcpts"       // recipients accepted in the session
	KeyRejects   = "rejects"     // replies that refused something in the session
	KeyPanic     = "panic"       // recovered panic value
	KeyStack     = "stack"       // its stack trace
	KeyStatus    = "status"      // outcome: "reject" here, "ok"/"fail" on auth lines; "delivered", "deferred", "bounced" on delivery lines
	KeyService   = "service"     // the listener: "smtp", "lmtp", ...
	KeyUser      = "user"        // AUTH username (as given on failure, canonical on success)
	KeyMech      = "mechanism"   // SASL mechanism: "PLAIN", "LOGIN"
	KeyMessageID = "message_id"  // the Message-ID header field, without <>, on the message line
)

// reject reports one refusal (the "reject" line and event) and counts it.
func (s *session) reject(stage string, r *ReplyError, from string, to ...string) {
	s.c.rejects.Add(1)
	s.c.report(event.Rejected{Service: s.srv.opts.Role.Listener(), Session: s.c.id, Stage: stage, Code: r.Code,
		Enhanced: r.EnhancedString(), Reason: r.Message, HELO: s.info.HELO, From: from, To: to})
}

// report writes the mail-log line of e (eventLine) and emits e: the line and what the
// metrics count are the one value, so they cannot disagree.
func (c *conn) report(e event.Event) {
	var buf [12]slog.Attr // the longest line fits: no allocation for the attributes
	head := append(buf[:0], slog.String(KeySession, c.id), slog.String(KeyClient, c.clientString()))
	if msg, attrs, ok := eventLine(e, head); ok {
		c.srv.opts.Logger.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
	}
	if c.srv.opts.Events != nil {
		c.srv.opts.Events.Emit(e)
	}
}

// eventLine is the mail-log line of an event this package reports: its message, and its
// attributes appended to attrs (which holds the session and client ones), in the order
// fail2ban filters and docs/ARCHITECTURE.md know them. ok is false for a kind this
// package does not report.
func eventLine(e event.Event, attrs []slog.Attr) (msg string, _ []slog.Attr, ok bool) {
	switch e := e.(type) {
	case event.Received:
		return "message", append(attrs, slog.String(KeyID, e.ID), slog.String(KeyFrom, e.From),
			slog.Int64(KeySize, e.Size), slog.Int(KeyNRcpt, len(e.To)),
			slog.String(KeyTo, strings.Join(e.To, ",")), slog.String(KeyMessageID, e.MessageID)), true
	case event.Rejected:
		return "reject", append(attrs, slog.String(KeyStatus, "reject"), slog.String(KeyStage, e.Stage),
			slog.Int(KeyCode, e.Code), slog.String(KeyEnhanced, e.Enhanced), slog.String(KeyReason, e.Reason),
			slog.String(KeyHELO, e.HELO), slog.String(KeyFrom, e.From), slog.String(KeyTo, strings.Join(e.To, ","))), true
	case event.Login:
		attrs = append(attrs, slog.String(KeyUser, printable(e.User)), slog.String(KeyMech, e.Mech))
		if e.OK {
			return "auth", append(attrs, slog.String(KeyStatus, "ok")), true
		}
		return "auth", append(attrs, slog.String(KeyStatus, "fail"), slog.Int(KeyCode, e.Code),
			slog.String(KeyEnhanced, e.Enhanced), slog.String(KeyReason, e.Reason)), true
	}
	return "", attrs, false
}
