package queue

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// dsnParams is everything a DSN says.
type dsnParams struct {
	Hostname   string
	QueueID    string
	Sender     string // original envelope sender, the DSN's recipient
	Kind       BounceKind
	Arrival    time.Time
	Now        time.Time
	RetryUntil time.Time // for delayed DSNs
	Rcpts      []RcptInfo
	Headers    []byte // the original message's header section
	Boundary   string
	MessageID  string
}

var enhancedRE = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}$`)

// buildDSN writes an RFC 3464 delivery status notification: a
// multipart/report (RFC 6522) with a human-readable part, a
// message/delivery-status part and the original headers as
// text/rfc822-headers. It is marked Auto-Submitted (RFC 3834 section 5) so
// that vacation responders leave it alone.
func buildDSN(p dsnParams) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	subject := "Undelivered Mail Returned to Sender"
	if p.Kind == BounceDelayed {
		subject = "Delayed Mail (still being retried)"
	}
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", p.Hostname)
	w("To: <%s>", p.Sender)
	w("Subject: %s", subject)
	w("Date: %s", p.Now.Format(time.RFC1123Z))
	w("Message-ID: <%s>", p.MessageID)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;")
	w("\tboundary=\"%s\"", p.Boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")

	w("--%s", p.Boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Transfer-Encoding: 8bit")
	w("Content-Description: Notification")
	w("")
	w("This is the mail system at host %s.", p.Hostname)
	w("")
	if p.Kind == BounceDelayed {
		w("Your message (queue id %s) could not be delivered yet to the", p.QueueID)
		w("recipients below. It is still in the queue and will be tried again")
		w("until %s. You do not need to send it again.", p.RetryUntil.Format(time.RFC1123Z))
	} else {
		w("Your message (queue id %s) could not be delivered to one or more", p.QueueID)
		w("recipients. It has been returned below (headers only).")
	}
	w("")
	for _, r := range p.Rcpts {
		w("<%s>: %s", r.Addr, humanReason(r))
	}
	w("")

	w("--%s", p.Boundary)
	w("Content-Type: message/delivery-status")
	w("Content-Description: Delivery report")
	w("")
	// Per-message fields, RFC 3464 section 2.2.
	w("Reporting-MTA: dns; %s", p.Hostname)
	w("X-Postern-Queue-ID: %s", p.QueueID)
	w("Arrival-Date: %s", p.Arrival.Format(time.RFC1123Z))
	for _, r := range p.Rcpts {
		// Per-recipient fields, RFC 3464 section 2.3.
		w("")
		w("Final-Recipient: %s", addrType(r.Addr))
		if p.Kind == BounceDelayed {
			w("Action: delayed")
		} else {
			w("Action: failed")
		}
		w("Status: %s", dsnStatus(r, p.Kind))
		if r.RemoteMTA != "" {
			w("Remote-MTA: dns; %s", r.RemoteMTA)
		}
		if r.Code != 0 {
			w("Diagnostic-Code: smtp; %d %s", r.Code, oneLine(r.LastError))
		}
		w("Last-Attempt-Date: %s", p.Now.Format(time.RFC1123Z))
		if p.Kind == BounceDelayed {
			w("Will-Retry-Until: %s", p.RetryUntil.Format(time.RFC1123Z))
		}
	}
	w("")

	w("--%s", p.Boundary)
	w("Content-Type: text/rfc822-headers")
	w("Content-Description: Undelivered Message Headers")
	w("")
	b.Write(p.Headers)
	if len(p.Headers) > 0 && !bytes.HasSuffix(p.Headers, []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	w("")
	w("--%s--", p.Boundary)
	return b.Bytes()
}

// addrType renders an address for Final-Recipient: rfc822 for ASCII,
// utf-8 (RFC 6533 section 3) otherwise.
func addrType(a string) string {
	for i := 0; i < len(a); i++ {
		if a[i] >= 0x80 {
			return "utf-8; " + a
		}
	}
	return "rfc822; " + a
}

// dsnStatus is the Status field: the reply's enhanced code when it has a
// valid one of the right class, else a generic code of the right class.
func dsnStatus(r RcptInfo, kind BounceKind) string {
	class := "5"
	if kind == BounceDelayed || r.Enhanced == "4.4.7" {
		class = "4"
	}
	if enhancedRE.MatchString(r.Enhanced) && strings.HasPrefix(r.Enhanced, class) {
		return r.Enhanced
	}
	if r.Enhanced != "" && enhancedRE.MatchString(r.Enhanced) && kind == BounceDelayed {
		return "4" + r.Enhanced[1:]
	}
	return class + ".0.0"
}

func humanReason(r RcptInfo) string {
	var s string
	switch {
	case r.Code != 0 && r.RemoteMTA != "":
		s = fmt.Sprintf("host %s said: %d %s", r.RemoteMTA, r.Code, r.LastError)
	case r.Code != 0:
		s = fmt.Sprintf("%d %s", r.Code, r.LastError)
	case r.LastError != "":
		s = r.LastError
	default:
		s = "unknown error"
	}
	return oneLine(s)
}

// headerSection returns what a DSN quotes of a message (RFC 3464's
// text/rfc822-headers): its header fields and nothing else. It stops at the empty line
// that ends the header, and also at the first line that is not a field or the
// continuation of one (a text without that empty line must not have its body quoted),
// at a line holding a CR or NUL, at a line starting with "--" (it could pass for our
// MIME boundary), at a last line without its line end (cut by the read limit), and
// before maxDSNHeaders octets. Line ends are CRLF.
func headerSection(text []byte) []byte {
	var out []byte
	for len(text) > 0 {
		line, rest, ok := bytes.Cut(text, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if !ok || !quotableField(line, len(out) > 0) || len(out)+len(line)+2 > maxDSNHeaders {
			break
		}
		out = append(append(out, line...), '\r', '\n')
		text = rest
	}
	return out
}

// quotableField says whether line is a header field line (name, colon) or, after one,
// a continuation line, with nothing in it that could end or break a DSN's part.
func quotableField(line []byte, afterField bool) bool {
	if len(line) == 0 || bytes.ContainsAny(line, "\r\x00") || bytes.HasPrefix(line, []byte("--")) {
		return false
	}
	if line[0] == ' ' || line[0] == '\t' {
		return afterField
	}
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// DSN describes a delivery status notification made outside the queue: the local
// delivery agent bounces recipients it refused after it had already answered 250 (a
// Sieve reject among several recipients), with the same report the queue sends.
type DSN struct {
	Hostname string     // our name, as the reporting MTA
	ID       string     // the transaction id, for the report and its Message-ID
	Sender   string     // the original envelope sender, the DSN's recipient
	Arrival  time.Time  // when the original message arrived
	Now      time.Time  // when the report is made
	Rcpts    []RcptInfo // the failed recipients, Status StatusFailed
	Original []byte     // the original message (its header section is quoted)
}

// BuildDSN returns the RFC 3464 report (multipart/report with message/delivery-status
// and the original header section) for failed recipients.
func BuildDSN(d DSN) []byte {
	return buildDSN(dsnParams{
		Hostname:  d.Hostname,
		QueueID:   d.ID,
		Sender:    d.Sender,
		Kind:      BounceFailed,
		Arrival:   d.Arrival,
		Now:       d.Now,
		Rcpts:     d.Rcpts,
		Headers:   headerSection(d.Original),
		Boundary:  d.ID + ".failed/" + d.Hostname,
		MessageID: fmt.Sprintf("%s.failed@%s", d.ID, d.Hostname),
	})
}
