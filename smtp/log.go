package smtp

import (
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

// reject logs one refusal ("reject" event) and counts it.
func (s *session) reject(stage string, r *ReplyError, from string, to ...string) {
	s.c.rejects.Add(1)
	s.c.log(slog.LevelInfo, "reject",
		slog.String(KeyStatus, "reject"),
		slog.String(KeyStage, stage),
		slog.Int(KeyCode, r.Code),
		slog.String(KeyEnhanced, r.EnhancedString()),
		slog.String(KeyReason, r.Message),
		slog.String(KeyHELO, s.info.HELO),
		slog.String(KeyFrom, from),
		slog.String(KeyTo, strings.Join(to, ",")))
	s.c.emit(event.Rejected{Service: s.srv.opts.Role.Listener(), Session: s.c.id, Stage: stage, Code: r.Code,
		Enhanced: r.EnhancedString()})
}
