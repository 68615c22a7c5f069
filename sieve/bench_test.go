package sieve

import (
	"context"
	"strings"
	"testing"
)

// BenchmarkHomelab20Rules: compile once, run a 20-rule script on a
// 10 KiB message (the goal: under 20 µs per message).
func BenchmarkHomelab20Rules(b *testing.B) {
	var src strings.Builder
	src.WriteString(`require ["fileinto","mailbox","imap4flags","variables","envelope","subaddress","regex"];` + "\n")
	src.WriteString(`if header :contains "X-Spam-Flag" "YES" { fileinto :create "Junk"; stop; }` + "\n")
	for i := 0; i < 16; i++ {
		src.WriteString(`if address :is :domain "from" "list` + strings.Repeat("x", i) + `.example.org" { fileinto "L"; stop; }` + "\n")
	}
	src.WriteString(`if header :matches "List-Id" "*<*>*" { set :lower "l" "${2}"; fileinto :create "Lists.${l}"; stop; }` + "\n")
	src.WriteString(`if envelope :detail "to" "receipts" { addflag "$Receipt"; fileinto :create "Receipts"; stop; }` + "\n")
	src.WriteString(`if header :regex "subject" "^\\[(ci|build)\\]" { fileinto "CI"; }` + "\n")
	s, err := Compile("bench", []byte(src.String()), CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte("From: Alice <alice@example.org>\r\nTo: me@example.net\r\nSubject: hello there\r\n" +
		"List-Id: Team <team.lists.example.org>\r\nMessage-ID: <a@b>\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 570))
	env := Envelope{From: "alice@example.org", To: "me+receipts@example.net"}
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Execute(context.Background(), NewRawMessage(msg), env, ExecOptions{})
		if err != nil || len(res.Actions) != 1 {
			b.Fatal(err, res)
		}
	}
}
