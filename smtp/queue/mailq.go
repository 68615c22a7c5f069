package queue

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteMailq writes a listing in the shape of Postfix's mailq, so that
// people and scripts used to it can read it:
//
//	-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
//	LX3K2A9F01AB*   4096 Tue Mar  5 10:12:01  alice@example.com
//	                                          (connect to smtp.example.net: connection refused)
//	                                          bob@example.org
//
//	-- 4 Kbytes in 1 Request.
//
// After the id, "*" marks a message being delivered and "!" a held one.
// Each undelivered recipient follows, preceded by its last error in
// parentheses. Times are shown in loc (nil: local time).
func WriteMailq(w io.Writer, list []Info, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "Mail queue is empty")
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %8s %-20s %s\n", "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------")
	const indent = "                                          "
	var total int64
	for _, in := range list {
		mark := ""
		switch {
		case in.Active:
			mark = "*"
		case in.Held:
			mark = "!"
		}
		from := in.From
		if from == "" {
			from = "MAILER-DAEMON"
		}
		fmt.Fprintf(&b, "%-11s %8d %-20s %s\n", in.ID+mark, in.Size, in.Arrival.In(loc).Format("Mon Jan _2 15:04:05"), from)
		for _, r := range in.Rcpts {
			if r.Status == StatusDelivered || r.Status == StatusFailed {
				continue
			}
			if r.LastError != "" {
				reason := r.LastError
				if r.Code != 0 {
					reason = fmt.Sprintf("%d %s", r.Code, reason)
				}
				if r.RemoteMTA != "" {
					reason = "host " + r.RemoteMTA + " said: " + reason
				}
				fmt.Fprintf(&b, "%s(%s)\n", indent, oneLine(reason))
			}
			fmt.Fprintf(&b, "%s%s\n", indent, r.Addr)
		}
		b.WriteString("\n")
		total += in.Size
	}
	req := "Requests"
	if len(list) == 1 {
		req = "Request"
	}
	fmt.Fprintf(&b, "-- %d Kbytes in %d %s.\n", (total+1023)/1024, len(list), req)
	_, err := io.WriteString(w, b.String())
	return err
}
