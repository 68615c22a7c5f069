package relay

import (
	"bufio"
	"errors"
	"net/textproto"
	"strings"
	"testing"
)

func TestReplyBounds(t *testing.T) {
	t.Parallel()
	rd := func(s string) (*reply, error) {
		return readReply(textproto.NewReader(bufio.NewReader(strings.NewReader(s))))
	}
	if r, err := rd("250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 10\r\n"); err != nil || r.Code != 250 || len(r.Lines) != 3 {
		t.Fatalf("ordinary EHLO reply: %+v %v", r, err)
	}
	if r, err := rd("250\r\n"); err != nil || r.Code != 250 {
		t.Fatalf("bare code: %+v %v", r, err)
	}
	if _, err := rd("250 " + strings.Repeat("x", 100_000) + "\r\n"); !errors.Is(err, errReplyTooLong) {
		t.Fatalf("a 100 kB line: %v", err)
	}
	if _, err := rd(strings.Repeat("250-x\r\n", 10_000) + "250 x\r\n"); !errors.Is(err, errReplyTooLong) {
		t.Fatalf("10,000 lines: %v", err)
	}
	var pe textproto.ProtocolError
	if _, err := rd("HTTP/1.1 400 Bad Request\r\n"); !errors.As(err, &pe) {
		t.Fatalf("not SMTP: %v", err)
	}
	if _, err := rd("250-a\r\n550 b\r\n"); !errors.As(err, &pe) {
		t.Fatalf("code changes within a reply: %v", err)
	}
}

// TestSmartHostNameOnInternalAddress: a smart host configured by name that resolves to
// a loopback address is refused unless AllowInternal.
func TestSmartHostNameOnInternalAddress(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	o, _ := smartOpts(f, TLSImplicit)
	o.AllowInternal = false
	c := newClient(t, o)
	_, err := send(t, c, "me@example.com", "a@example.org")
	var e *Error
	if !errors.As(err, &e) || e.Code != 554 || e.Enhanced != "5.4.4" || !errors.Is(err, errInternalAddress) {
		t.Fatalf("smart host on loopback by name: %v", err)
	}
}
