package queue

import (
	"strings"
	"testing"
	"time"
)

func TestWriteMailq(t *testing.T) {
	t.Parallel()
	arr := time.Date(2026, 3, 5, 10, 12, 1, 0, time.UTC)
	list := []Info{
		{ID: "LX3K2A9F01AB", Size: 4096, Arrival: arr, From: "alice@example.com", Active: true, Rcpts: []RcptInfo{
			{Addr: "bob@example.org", Status: StatusDeferred, Code: 451, LastError: "4.3.0 try later", RemoteMTA: "smtp.example.net"},
			{Addr: "done@example.org", Status: StatusDelivered},
			{Addr: "new@example.org", Status: StatusPending},
		}},
		{ID: "LX3K2A9F01AC", Size: 100, Arrival: arr, From: "", Held: true, Rcpts: []RcptInfo{
			{Addr: "carol@example.org", Status: StatusDeferred, LastError: "dial tcp: connection refused"},
		}},
	}
	var b strings.Builder
	if err := WriteMailq(&b, list, time.UTC); err != nil {
		t.Fatal(err)
	}
	want := `-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
LX3K2A9F01AB*     4096 Thu Mar  5 10:12:01  alice@example.com
                                          (host smtp.example.net said: 451 4.3.0 try later)
                                          bob@example.org
                                          new@example.org

LX3K2A9F01AC!      100 Thu Mar  5 10:12:01  MAILER-DAEMON
                                          (dial tcp: connection refused)
                                          carol@example.org

-- 5 Kbytes in 2 Requests.
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	WriteMailq(&b, nil, nil)
	if b.String() != "Mail queue is empty\n" {
		t.Errorf("empty: %q", b.String())
	}
}
