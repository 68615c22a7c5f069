package sieve

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

const testMsg = "From: Alice <alice@example.org>\r\nTo: Me <me+lists@example.net>\r\nCc: bob@example.com\r\n" +
	"Subject: =?UTF-8?Q?R=C3=A9union?= [team] plans\r\nList-Id: Team <team.lists.example.org>\r\n" +
	"Date: Tue, 03 Mar 2026 09:59:00 +0100\r\nMessage-ID: <x1@example.org>\r\nX-Score: 17\r\n\r\nHello body text\r\n"

func TestExecuteOutcomes(t *testing.T) {
	t.Parallel()
	env := Envelope{From: "alice@example.org", To: "me+lists@example.net", User: "me@example.net"}
	loader := mapLoader{
		"p:sub":   `require ["fileinto","variables","include"]; global "n"; fileinto "Sub-${n}"; return; fileinto "Never";`,
		"g:spam":  `require "fileinto"; if header :contains "subject" "team" { fileinto "Team"; }`,
		"p:twice": `require "imap4flags"; addflag "x";`,
	}
	cases := []struct{ name, src, want string }{
		{"implicit keep", ``, "keep\n"},
		{"decoded subject", `require "fileinto"; if header :contains "subject" "Réunion" { fileinto "FR"; }`, "fileinto \"FR\"\n"},
		{"matches captures", `require ["fileinto","variables"]; if header :matches "subject" "*[*]*" { fileinto "${2}"; }`, "fileinto \"team\"\n"},
		{"subaddress", `require ["fileinto","envelope","subaddress","variables"]; if envelope :detail :matches "to" "*" { fileinto "plus-${1}"; }`, "fileinto \"plus-lists\"\n"},
		{"address user", `require ["fileinto","subaddress"]; if address :user "to" "me" { fileinto "U"; }`, "fileinto \"U\"\n"},
		{"numeric value", `require ["relational","comparator-i;ascii-numeric","fileinto"]; if header :value "gt" :comparator "i;ascii-numeric" "x-score" "9" { fileinto "Hi"; }`, "fileinto \"Hi\"\n"},
		{"casemap value", `require ["relational","fileinto"]; if header :value "gt" "x-score" "9" { fileinto "Hi"; }`, "keep\n"},
		{"count", `require ["relational","comparator-i;ascii-numeric","fileinto"]; if address :count "eq" :comparator "i;ascii-numeric" ["to","cc"] "2" { fileinto "Two"; }`, "fileinto \"Two\"\n"},
		{"flags on implicit keep", `require "imap4flags"; addflag ["\\Seen", "$Label"]; addflag "\\seen";`, "keep flags=$label,\\seen\n"},
		{"flags at action time", `require ["imap4flags","fileinto"]; addflag "a"; fileinto "X"; addflag "b";`, "fileinto \"X\" flags=a\n"},
		{"fileinto inbox copy", `require ["fileinto","copy","imap4flags"]; fileinto :copy :flags "\\Seen" "Inbox";`, "keep flags=\\seen\n"},
		{"discard and keep", `keep; discard;`, "discard\nkeep\n"},
		{"redirect normalised", `redirect "Bob <Bob@Example.COM>"; redirect "Bob@example.com";`, "redirect \"Bob@example.com\"\n"},
		{"redirect copy keeps", `require "copy"; redirect :copy "x@y.z";`, "keep\nredirect \"x@y.z\"\n"},
		{"reject", "require \"reject\"; reject text:\r\nno thanks  \r\n.\r\n;", "reject \"no thanks\"\n"},
		{"reject conflict", `require ["reject","fileinto"]; fileinto "A"; reject "x";`, "error runtime\nkeep\n"},
		{"too many redirects", `redirect "a@b.c"; redirect "b@b.c"; redirect "c@b.c"; redirect "d@b.c"; redirect "e@b.c";`, "error runtime\nkeep\n"},
		{"set modifiers", `require ["variables","fileinto"]; set :lower :upperfirst "a" "hELLO"; set :length "l" "${a}"; set :quotewildcard "q" "a*b"; fileinto "${a}${l}${q}";`, "fileinto \"Hello5a\\\\*b\"\n"},
		{"regex", `require ["regex","variables","fileinto"]; if header :regex "from" "^(.*) <([a-z]+)@" { fileinto "${2}"; }`, "fileinto \"alice\"\n"},
		{"string test", `require ["variables","fileinto"]; set "x" "abc"; if string :is "${x}" "ABC" { fileinto "S"; }`, "fileinto \"S\"\n"},
		{"octet", `require "fileinto"; if header :is :comparator "i;octet" "x-score" "17" { fileinto "O"; }`, "fileinto \"O\"\n"},
		{"body", `require ["body","fileinto"]; if body :contains "body TEXT" { fileinto "B"; }`, "fileinto \"B\"\n"},
		{"date", `require ["date","fileinto","variables"]; if date :matches :zone "+0000" "date" "iso8601" "*" { fileinto "${1}"; }`, "fileinto \"2026-03-03T08:59:00+00:00\"\n"},
		{"currentdate", `require ["date","fileinto"]; if currentdate :is "year" "2030" { fileinto "Y"; }`, "fileinto \"Y\"\n"},
		{"include return global", `require ["include","variables"]; global "n"; set "n" "7"; include "sub"; include :global "spam";`, "fileinto \"Sub-7\"\nfileinto \"Team\"\n"},
		{"include once", `require ["include","imap4flags"]; include :once "twice"; include :once "twice"; removeflag "x"; addflag "y";`, "keep flags=y\n"},
		{"include optional", `require "include"; include :optional "missing";`, "keep\n"},
		{"mailboxexists", `require ["mailbox","fileinto"]; if mailboxexists "Nope" { fileinto "Nope"; } else { fileinto :create "Yes"; }`, "fileinto \"Yes\"\n"},
		{"no vacation to lists", `require "vacation"; vacation :days 0 "away";`, "keep\n"},
		{"stop", `require "fileinto"; fileinto "A"; stop; fileinto "B";`, "fileinto \"A\"\n"},
		{"encoded character", `require ["encoded-character","fileinto"]; fileinto "${hex:41}${unicode:e9}";`, "fileinto \"Aé\"\n"},
	}
	for _, c := range cases {
		s, err := Compile("t", []byte(c.src), CompileOptions{Loader: loader})
		if err != nil {
			t.Errorf("%s: compile: %v", c.name, err)
			continue
		}
		now := func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }
		res, err := s.Execute(context.Background(), NewRawMessage([]byte(testMsg)), env, ExecOptions{Now: now})
		var got string
		if err != nil {
			got = FormatOutcome(err)
		} else {
			got = FormatOutcome(res)
		}
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

type repliedLog bool

func (r repliedLog) Replied(context.Context, string, string, time.Duration) (bool, error) {
	return bool(r), nil
}

func TestVacationRules(t *testing.T) {
	t.Parallel()
	base := "From: a@x.org\r\nTo: me@example.net\r\nSubject: s\r\n"
	env := Envelope{From: "a@x.org", To: "me@example.net", User: "me@example.net"}
	cases := []struct {
		name string
		hdr  string
		env  Envelope
		log  VacationLog
		sent bool
	}{
		{"plain", base, env, nil, true},
		{"already replied", base, env, repliedLog(true), false},
		{"list", base + "List-Id: <l.x.org>\r\n", env, nil, false},
		{"bulk", base + "Precedence: bulk\r\n", env, nil, false},
		{"auto-submitted", base + "Auto-Submitted: auto-generated\r\n", env, nil, false},
		{"auto-submitted no", base + "Auto-Submitted: no\r\n", env, nil, true},
		{"mailer-daemon", base, Envelope{From: "MAILER-DAEMON@x.org", To: env.To}, nil, false},
		{"owner-", base, Envelope{From: "owner-list@x.org", To: env.To}, nil, false},
		{"-request", base, Envelope{From: "list-request@x.org", To: env.To}, nil, false},
		{"null sender", base, Envelope{From: "", To: env.To}, nil, false},
		{"not direct", "From: a@x.org\r\nTo: other@example.net\r\n", env, nil, false},
	}
	s, err := Compile("v", []byte(`require "vacation"; vacation "gone";`), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		res, err := s.Execute(context.Background(), NewRawMessage([]byte(c.hdr+"\r\nbody\r\n")), c.env, ExecOptions{Vacation: c.log})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := strings.Contains(FormatOutcome(res), "vacation "); got != c.sent {
			t.Errorf("%s: sent=%v, want %v", c.name, got, c.sent)
		}
	}
}

func TestHostileInputsAreBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 200000)
	msg := "Subject: " + long + "\r\n\r\nx\r\n"
	src := `require ["regex"]; if header :matches "subject" "*a*a*a*a*a*a*a*a*b*" { discard; } if header :regex "subject" "(a+)+b" { discard; }`
	s, err := Compile("h", []byte(src), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := s.Execute(context.Background(), NewRawMessage([]byte(msg)), Envelope{}, ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
	if FormatOutcome(res) != "keep\n" {
		t.Fatalf("outcome %q", FormatOutcome(res))
	}
	// A cancelled context stops the run; the caller keeps the message.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	many := strings.Repeat(`if header :contains "subject" "zzz" { discard; }`, 600)
	s2, err := Compile("m", []byte(many), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Execute(ctx, NewRawMessage([]byte(msg)), Envelope{}, ExecOptions{}); err == nil {
		t.Fatal("cancelled run succeeded")
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, s string
		ok     bool
		caps   []string
	}{
		{"[*] *", "[acme-users] [fwd] version 1.0 is out", true, []string{"acme-users", "[fwd] version 1.0 is out"}},
		{"*<*@*>", "Alice <alice@example.org>", true, []string{"Alice ", "alice", "example.org"}},
		{"a?c", "abc", true, []string{"b"}},
		{"a?c", "aéc", true, []string{"é"}},
		{"a\\*c", "a*c", true, nil},
		{"a\\*c", "abc", false, nil},
		{"*", "", true, []string{""}},
		{"?*", "", false, nil},
		{"ab*ab", "ab", false, nil},
		{"*x", "aaaax", true, []string{"aaaa"}},
	}
	for _, c := range cases {
		var caps []string
		ok := globMatch(c.pat, c.s, c.s, &caps)
		if ok != c.ok {
			t.Errorf("%q ~ %q = %v", c.pat, c.s, ok)
			continue
		}
		if ok && c.caps != nil && strings.Join(caps[1:], "|") != strings.Join(c.caps, "|") {
			t.Errorf("%q ~ %q captures %q, want %q", c.pat, c.s, caps[1:], c.caps)
		}
	}
}

func TestGoldenCorpusOutcomes(t *testing.T) {
	t.Parallel()
	// testdata/golden/NAME.out holds our outcome for the differential
	// corpus script NAME on msgs/plain.eml, as agreed with Pigeonhole.
	want, err := os.ReadFile("testdata/golden/plain.out")
	if err != nil {
		t.Fatal(err)
	}
	if got := corpusOutcomes(t, "testdata/diff/msgs/plain.eml"); got != string(want) {
		t.Errorf("corpus outcomes changed:\n%s", got)
	}
}

// TestOriginsNameTheDecidingLine: each action carries the script and line of the
// command that decided it; a duplicate store names the later command.
func TestOriginsNameTheDecidingLine(t *testing.T) {
	t.Parallel()
	src := "require [\"fileinto\"];\nif header :contains \"subject\" \"x\" {\n  fileinto \"Lists\";\n}\nredirect \"a@example.org\";\nfileinto \"Lists\";\n"
	sc, err := Compile("main", []byte(src), CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg := NewRawMessage([]byte("Subject: x\r\n\r\nbody\r\n"))
	res, err := sc.Execute(context.Background(), msg, Envelope{From: "s@example.org", To: "u@example.test"}, ExecOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Origins) != len(res.Actions) || len(res.Actions) != 2 {
		t.Fatalf("actions %+v origins %+v", res.Actions, res.Origins)
	}
	if got := res.Origins[0].String(); got != "main:6" {
		t.Errorf("fileinto decided at %s, want main:6 (the later duplicate)", got)
	}
	if got := res.Origins[1].String(); got != "main:5" {
		t.Errorf("redirect decided at %s, want main:5", got)
	}
}
