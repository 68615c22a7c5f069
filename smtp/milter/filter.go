package milter

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	gomilter "github.com/emersion/go-milter"

	"github.com/postern/postern/smtp"
)

// DefaultTimeout bounds the dial and each read and write of the milter
// conversation (Postfix's milter_*_timeout are of the same order).
const DefaultTimeout = 30 * time.Second

// defaultMaxHeader bounds the header block parsed and sent to the milter.
const defaultMaxHeader = 1 << 20

// Options configure a Filter.
type Options struct {
	// Network and Address of the milter: "tcp" and "127.0.0.1:11332", or
	// "unix" and a socket path.
	Network, Address string
	// Timeout bounds the dial and each read and write. Default DefaultTimeout.
	Timeout time.Duration
	// TempFail answers 451 4.7.1 when the milter is down or fails; false
	// delivers the message unfiltered.
	TempFail bool
	// MaxHeaderBytes bounds the header parsed and sent. Default 1 MiB.
	MaxHeaderBytes int64
	// Logger gets one "milter" line per message. Default slog.Default().
	Logger *slog.Logger
}

// Filter is an smtp.Filter that asks a milter about each message.
type Filter struct {
	opts Options
}

// New returns a Filter for opts.
func New(opts Options) *Filter {
	if opts.Network == "" {
		opts.Network = "tcp"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = defaultMaxHeader
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Filter{opts: opts}
}

// ctxDialer dials within the message's context and the timeout, and keeps
// the connection so that the end of the context can close it.
type ctxDialer struct {
	ctx     context.Context
	timeout time.Duration
	conn    net.Conn
}

func (d *ctxDialer) Dial(network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.timeout}
	c, err := nd.DialContext(d.ctx, network, addr)
	d.conn = c
	return c, err
}

// Offered actions: headers and quarantine, nothing that rewrites the body or
// the envelope (see doc.go).
const offeredActions = gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptQuarantine

// Filter implements smtp.Filter.
func (f *Filter) Filter(ctx context.Context, env *smtp.Envelope, msg smtp.Message) (smtp.Message, error) {
	start := time.Now()
	v, err := f.converse(ctx, env, msg)
	log := f.opts.Logger.With(smtp.KeySession, env.Session.ID, smtp.KeyID, env.ID, "milter", f.opts.Address)
	if err != nil {
		if f.opts.TempFail {
			log.Warn("milter", "action", "tempfail", smtp.KeyReason, err.Error(), "default_action", "tempfail")
			return nil, smtp.Reply(451, [3]int{4, 7, 1}, "Service temporarily unavailable, try again later")
		}
		log.Warn("milter", "action", "accept", smtp.KeyReason, err.Error(), "default_action", "accept")
		return msg, nil
	}
	score, spam := spamScore(v.mods)
	log.Info("milter", "action", v.action, "headers", len(v.mods), "quarantine", v.quarantine, "score", score, "spam", spam,
		smtp.KeyReason, v.text, "duration_ms", time.Since(start).Milliseconds())
	switch v.action {
	case "reject", "tempfail":
		return nil, v.reply
	case "discard":
		return nil, smtp.ErrDiscard
	}
	if v.quarantine != "" {
		env.Quarantine = "milter: " + v.quarantine
	}
	if len(v.mods) == 0 {
		return msg, nil
	}
	return rewrite(msg, v.header, v.mods)
}

// verdict is what the milter decided about one message.
type verdict struct {
	action     string // accept, reject, tempfail, discard
	reply      *smtp.ReplyError
	text       string
	quarantine string
	mods       []gomilter.ModifyAction
	header     *header
}

// converse runs one milter session for the message; an error means the
// milter failed (not that it refused).
func (f *Filter) converse(ctx context.Context, env *smtp.Envelope, msg smtp.Message) (*verdict, error) {
	dialer := &ctxDialer{ctx: ctx, timeout: f.opts.Timeout}
	client := gomilter.NewClientWithOptions(f.opts.Network, f.opts.Address, gomilter.ClientOptions{
		Dialer:       dialer,
		ReadTimeout:  f.opts.Timeout,
		WriteTimeout: f.opts.Timeout,
		ActionMask:   offeredActions,
	})
	s, err := client.Session()
	if err != nil {
		if dialer.conn != nil {
			dialer.conn.Close()
		}
		return nil, err
	}
	defer dialer.conn.Close()
	defer s.Close()
	// Close the connection when the context ends, so a slow milter cannot
	// hold the session past the delivery deadline.
	stop := context.AfterFunc(ctx, func() { dialer.conn.Close() })
	defer stop()

	rc, err := msg.Open()
	if err != nil {
		return nil, fmt.Errorf("milter: open message: %w", err)
	}
	defer rc.Close()
	// One buffered reader for both: the header parser reads byte by byte and
	// leaves it at the first octet of the body.
	br := bufio.NewReader(rc)
	h, err := readHeader(br, f.opts.MaxHeaderBytes)
	if err != nil {
		return nil, fmt.Errorf("milter: read header: %w", err)
	}

	steps := []func() (*gomilter.Action, error){
		func() (*gomilter.Action, error) {
			s.Macros(gomilter.CodeConn, "j", env.Session.Hostname, "{daemon_name}", "postern")
			host, family, port, addr := connInfo(env.Session)
			return s.Conn(host, family, port, addr)
		},
		func() (*gomilter.Action, error) { return s.Helo(env.Session.HELO) },
		func() (*gomilter.Action, error) {
			s.Macros(gomilter.CodeMail, "i", env.ID)
			return s.Mail(env.From, nil)
		},
	}
	for _, r := range env.Recipients {
		steps = append(steps, func() (*gomilter.Action, error) { return s.Rcpt(r, nil) })
	}
	for _, fl := range h.fields {
		if fl.name == "" {
			continue
		}
		steps = append(steps, func() (*gomilter.Action, error) { return s.HeaderField(fl.name, fl.value) })
	}
	steps = append(steps, s.HeaderEnd)
	for _, step := range steps {
		act, err := step()
		if err != nil {
			return nil, err
		}
		if act.Code != gomilter.ActContinue {
			return decide(act, nil, h), nil
		}
	}
	mods, act, err := s.BodyReadFrom(br)
	if err != nil {
		return nil, err
	}
	return decide(act, mods, h), nil
}

// connInfo is the milter's view of the client: its PTR name (or "[ip]" as
// Sendmail writes an unknown one), family, port and address.
func connInfo(s *smtp.Session) (string, gomilter.ProtoFamily, uint16, string) {
	if !s.RemoteAddr.IsValid() {
		return "localhost", gomilter.FamilyUnknown, 0, ""
	}
	ip := s.RemoteAddr.Addr()
	host := s.ReverseName
	if host == "" {
		host = "[" + ip.String() + "]"
	}
	family := gomilter.FamilyInet
	if ip.Is6() {
		family = gomilter.FamilyInet6
	}
	return host, family, s.RemoteAddr.Port(), ip.String()
}

// decide turns the milter's final action into a verdict.
func decide(act *gomilter.Action, mods []gomilter.ModifyAction, h *header) *verdict {
	v := &verdict{action: "accept", header: h}
	for _, m := range mods {
		switch m.Code {
		case gomilter.ActQuarantine:
			v.quarantine = strings.TrimSpace(m.Reason)
			if v.quarantine == "" {
				v.quarantine = "quarantined"
			}
		case gomilter.ActAddHeader, gomilter.ActInsertHeader, gomilter.ActChangeHeader:
			v.mods = append(v.mods, m)
		}
	}
	switch act.Code {
	case gomilter.ActReject:
		v.action, v.reply = "reject", smtp.Reply(550, [3]int{5, 7, 1}, "Message rejected by content filter")
	case gomilter.ActTempFail:
		v.action, v.reply = "tempfail", smtp.Reply(451, [3]int{4, 7, 1}, "Message deferred by content filter, try again later")
	case gomilter.ActDiscard:
		v.action = "discard"
	case gomilter.ActReplyCode:
		v.action, v.reply, v.text = replyCode(act.SMTPCode, act.SMTPText)
	}
	if v.reply != nil && v.text == "" {
		v.text = v.reply.Message
	}
	return v
}

// replyCode maps a milter's own SMTP reply (smfi_setreply): a 5xx is a
// reject, a 4xx a tempfail, each sent with the milter's text; anything else
// is not a refusal a filter may give and is treated as a reject.
func replyCode(code int, text string) (string, *smtp.ReplyError, string) {
	text = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(text, "\r", " "), "\n", " "))
	enh, rest := splitEnhanced(text)
	switch code / 100 {
	case 4:
		if enh[0] != 4 {
			enh = [3]int{4, 7, 1}
		}
		return "tempfail", smtp.Reply(code, enh, "%s", orDefault(rest, "Message deferred by content filter")), text
	default:
		if code/100 != 5 {
			code = 550
		}
		if enh[0] != 5 {
			enh = [3]int{5, 7, 1}
		}
		return "reject", smtp.Reply(code, enh, "%s", orDefault(rest, "Message rejected by content filter")), text
	}
}

// splitEnhanced takes an RFC 3463 enhanced status code off the front of text.
func splitEnhanced(text string) ([3]int, string) {
	first, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(first, ".")
	if len(parts) != 3 {
		return [3]int{}, text
	}
	var enh [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			return [3]int{}, text
		}
		enh[i] = n
	}
	if enh[0] != 4 && enh[0] != 5 {
		return [3]int{}, text
	}
	return enh, strings.TrimSpace(rest)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
