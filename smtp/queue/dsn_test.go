package queue

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// checkDSN parses a DSN the way a mail reader would and checks its RFC 3464
// structure: multipart/report with report-type=delivery-status, a text
// part, a message/delivery-status part with per-message and per-recipient
// fields, and the original headers as text/rfc822-headers.
func checkDSN(t *testing.T, raw []byte, action, rcpt, status string) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("DSN has bare LF line ends")
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Error("no Auto-Submitted: auto-replied")
	}
	if !strings.HasPrefix(m.Header.Get("From"), "Mail Delivery System <MAILER-DAEMON@mail.example.com>") {
		t.Errorf("From = %q", m.Header.Get("From"))
	}
	if _, err := mail.ParseDate(m.Header.Get("Date")); err != nil {
		t.Errorf("Date: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type = %q (%v)", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		types = append(types, p.Header.Get("Content-Type"))
		parts = append(parts, body)
	}
	if len(types) != 3 || !strings.HasPrefix(types[0], "text/plain") || types[1] != "message/delivery-status" || types[2] != "text/rfc822-headers" {
		t.Fatalf("parts = %q", types)
	}
	mustContain(t, string(parts[0]), rcpt)
	// message/delivery-status is a series of header-like groups (RFC 3464 section 2.1).
	tp := textproto.NewReader(bufioReader(parts[1]))
	perMsg, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("per-message fields: %v", err)
	}
	if perMsg.Get("Reporting-MTA") != "dns; mail.example.com" {
		t.Errorf("Reporting-MTA = %q", perMsg.Get("Reporting-MTA"))
	}
	if _, err := mail.ParseDate(perMsg.Get("Arrival-Date")); err != nil {
		t.Errorf("Arrival-Date: %v", err)
	}
	perRcpt, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		t.Fatalf("per-recipient fields: %v", err)
	}
	want := map[string]string{"Final-Recipient": "rfc822; " + rcpt, "Action": action, "Status": status}
	for k, v := range want {
		if got := perRcpt.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	mustContain(t, string(parts[2]), "Subject: lunch?", "Message-ID: <1@example.com>")
	if strings.Contains(string(parts[2]), "At noon.") {
		t.Error("DSN carries the original body")
	}
}

func bufioReader(b []byte) *bufioR { return newBufioR(b) }

func TestBuildDSNStatusFallbacks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		enh  string
		kind BounceKind
		want string
	}{
		{"5.1.1", BounceFailed, "5.1.1"},
		{"", BounceFailed, "5.0.0"},
		{"bogus", BounceFailed, "5.0.0"},
		{"4.4.7", BounceFailed, "4.4.7"},
		{"4.3.0", BounceDelayed, "4.3.0"},
		{"5.7.1", BounceDelayed, "4.7.1"},
	}
	for _, c := range cases {
		if got := dsnStatus(RcptInfo{Enhanced: c.enh}, c.kind); got != c.want {
			t.Errorf("dsnStatus(%q, %s) = %q, want %q", c.enh, c.kind, got, c.want)
		}
	}
}

func TestBuildDSNUTF8RecipientAndNoCode(t *testing.T) {
	t.Parallel()
	raw := buildDSN(dsnParams{
		Hostname: "mail.example.com", QueueID: "ABCDEFGH", Sender: "a@example.com", Kind: BounceFailed,
		Arrival: time.Unix(0, 0), Now: time.Unix(100, 0), Boundary: "b",
		Rcpts:   []RcptInfo{{Addr: "jürgen@example.de", LastError: "connection refused\r\nInjected: x"}},
		Headers: []byte("Subject: x\r\n"), MessageID: "m@x",
	})
	s := string(raw)
	mustContain(t, s, "Final-Recipient: utf-8; jürgen@example.de", "connection refused Injected: x")
	if strings.Contains(s, "Diagnostic-Code") {
		t.Error("Diagnostic-Code without an SMTP reply")
	}
	if strings.Contains(s, "\r\nInjected:") {
		t.Error("reply text broke a line")
	}
}
