package smtp

import (
	"net/netip"
	"testing"
	"time"
)

func TestReceivedHeader(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)
	s := &Session{Role: RoleMX, HELO: "mail.example.org", ReverseName: "out.example.org",
		RemoteAddr: netip.MustParseAddrPort("[2001:db8::1]:2525"), Hostname: "mx.example.com"}
	env := &Envelope{ID: "ABC.1", Session: s, Recipients: []string{"alice@example.com"}, Received: when}
	want := "Received: from mail.example.org (out.example.org [IPv6:2001:db8::1])\r\n" +
		"\tby mx.example.com with ESMTP id ABC.1\r\n" +
		"\tfor <alice@example.com>; Tue, 2 Jan 2024 15:04:05 +0000\r\n"
	if got := ReceivedHeader(env); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// Several recipients: no "for"; UTF8; a hostile HELO cannot break the header.
	env.Recipients = append(env.Recipients, "bob@example.com")
	env.SMTPUTF8 = true
	s.HELO = "evil\r\nX-Injected: (yes)"
	s.ReverseName = ""
	s.RemoteAddr = netip.MustParseAddrPort("192.0.2.1:25")
	want = "Received: from evil??X-Injected: ?yes? (unknown [192.0.2.1])\r\n" +
		"\tby mx.example.com with UTF8SMTP id ABC.1; Tue, 2 Jan 2024 15:04:05 +0000\r\n"
	if got := ReceivedHeader(env); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
