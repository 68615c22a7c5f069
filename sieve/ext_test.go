package sieve

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/postern/postern/mimeparse"
)

func runExt(t *testing.T, src, msg string, opts ExecOptions) *Result {
	t.Helper()
	s, err := Compile("t", []byte(src), CompileOptions{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	res, err := s.Execute(context.Background(), NewRawMessage([]byte(msg)), Envelope{From: "a@example.org", To: "me@example.net", User: "me@example.net"}, opts)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	return res
}

func TestSpamtestRspamdHeaders(t *testing.T) {
	t.Parallel()
	src := `require ["spamtestplus","fileinto","variables"]; if spamtest :percent :matches "*" { fileinto "p${1}"; } if spamtest :matches "*" { fileinto "s${1}"; }`
	cases := map[string]string{
		"X-Spamd-Result: default: False [4.20 / 15.00];\r\n  R_SPF_ALLOW(-0.20)[+ip4]\r\n": "fileinto \"p28\"\nfileinto \"s3\"\n",
		"X-Spamd-Result: default: True [20.00 / 10.00]\r\n":                                "fileinto \"p100\"\nfileinto \"s10\"\n",
		"X-Spam-Score: -1.5\r\nX-Spamd-Result: default: True [9 / 10]\r\n":                 "fileinto \"p0\"\nfileinto \"s1\"\n",
		"X-Spam-Score: garbage\r\n":                                                        "fileinto \"p0\"\nfileinto \"s0\"\n",
		"":                                                                                 "fileinto \"p0\"\nfileinto \"s0\"\n",
	}
	for hdr, want := range cases {
		res := runExt(t, src, "From: x@y.z\r\n"+hdr+"\r\nbody\r\n", ExecOptions{})
		if got := FormatOutcome(res); got != want {
			t.Errorf("%q: got %q, want %q", hdr, got, want)
		}
	}
}

func TestVirustestText(t *testing.T) {
	t.Parallel()
	_, re, err := ParseStatusHeader(`X-Virus-Scan: ^([a-z]+)`)
	if err != nil {
		t.Fatal(err)
	}
	// Text 0 (surely clean) answers 1, as Pigeonhole does (TestDifferentialSpamtestSettings).
	opts := ExecOptions{VirusTest: []ScoreSource{{Type: ScoreText, Header: "X-Virus-Scan", Pattern: re, Text: map[int]string{0: "none", 2: "clean", 5: "infected"}}}}
	src := `require ["virustest","fileinto","variables"]; if virustest :matches "*" { fileinto "v${1}"; }`
	for hdr, want := range map[string]string{"X-Virus-Scan: infected\r\n": "v5", "X-Virus-Scan: clean\r\n": "v2", "X-Virus-Scan: none\r\n": "v1", "X-Virus-Scan: odd\r\n": "v0", "": "v0"} {
		if got := FormatOutcome(runExt(t, src, "From: x@y.z\r\n"+hdr+"\r\nb\r\n", opts)); got != fmt.Sprintf("fileinto %q\n", want) {
			t.Errorf("%q: %q", hdr, got)
		}
	}
	// RFC 5235 gives virustest no :percent (Pigeonhole refuses it too).
	if _, err := Compile("p", []byte(`require ["virustest","spamtestplus"]; if virustest :percent "50" { stop; }`), CompileOptions{}); err == nil {
		t.Error("virustest :percent compiled")
	}
}

// TestEditheaderInjection: a value with CR, LF or NUL cannot start a new
// header field or end the header; names with a colon or space are refused.
func TestEditheaderInjection(t *testing.T) {
	t.Parallel()
	src := "require [\"editheader\",\"variables\",\"encoded-character\"];\n" +
		`if header :matches "subject" "*" { addheader "X-Copy" "${1}"; }` + "\n" +
		`addheader "X-Nul" "a${hex:00}b";`
	msg := "From: x@y.z\r\nSubject: hi\r\n\r\nBcc: victim@example.org\r\n\r\nbody\r\n"
	res := runExt(t, src, msg, ExecOptions{})
	hdr := string(res.ImplicitKeepHeader)
	if strings.Contains(hdr, "\x00") || !strings.HasSuffix(hdr, "\r\n\r\n") || strings.Count(hdr, "\r\n\r\n") != 1 {
		t.Fatalf("header block %q", hdr)
	}
	for _, line := range strings.Split(strings.TrimSuffix(hdr, "\r\n\r\n"), "\r\n") {
		if !regexp.MustCompile(`^([A-Za-z-]+: |\t)`).MatchString(line) {
			t.Errorf("line %q is neither a field nor a fold", line)
		}
	}
	// A value taken from the message with a line break of its own.
	res = runExt(t, "require [\"editheader\",\"variables\"]; set \"v\" \"a\r\nBcc: evil@example.org\"; addheader \"X-V\" \"${v}\";", msg, ExecOptions{})
	if h := string(res.ImplicitKeepHeader); strings.Contains(h, "\r\nBcc:") || !strings.Contains(h, "X-V: a\r\n\tBcc: evil@example.org") {
		t.Errorf("folded value %q", h)
	}
	if _, err := Compile("t", []byte(`require "editheader"; addheader "X-A: b" "c";`), CompileOptions{}); err == nil {
		t.Error("a field name with a colon compiled")
	}
	s, _ := Compile("t", []byte(`require ["editheader","variables"]; set "n" "Bad Name"; addheader "${n}" "c";`), CompileOptions{})
	if _, err := s.Execute(context.Background(), NewRawMessage([]byte(msg)), Envelope{}, ExecOptions{}); err == nil {
		t.Error("a run-time field name with a space was accepted")
	}
	// Received cannot be deleted; the earlier fileinto keeps the unedited copy.
	res = runExt(t, `require ["editheader","fileinto"]; fileinto "A"; deleteheader "received"; addheader "X-B" "1"; keep;`, "Received: from a\r\nSubject: s\r\n\r\nb\r\n", ExecOptions{})
	if fi := res.Actions[0].(FileInto); fi.Header != nil {
		t.Errorf("fileinto before the edit got header %q", fi.Header)
	}
	if h := string(res.Actions[1].(Keep).Header); h != "X-B: 1\r\nReceived: from a\r\nSubject: s\r\n\r\n" {
		t.Errorf("implicit keep header %q", h)
	}
}

func TestNotifyLimits(t *testing.T) {
	t.Parallel()
	res := runExt(t, "require [\"enotify\",\"variables\"]; set \"m\" \"hi\r\nBcc: x@evil.example\"; notify :message \"${m}\" :from \"me@example.net\" \"mailto:bob@example.org\";",
		"From: x@y.z\r\n\r\nb\r\n", ExecOptions{})
	var n Notify
	for _, a := range res.Actions {
		if x, ok := a.(Notify); ok {
			n = x
		}
	}
	if n.Subject != "hi Bcc: x@evil.example" || len(n.To) != 1 || n.To[0] != "bob@example.org" || n.Importance != 2 {
		t.Errorf("notify %+v", n)
	}
	res = runExt(t, `require "enotify"; notify "mailto:bob@example.org";`, "From: x@y.z\r\nAuto-Submitted: auto-replied\r\n\r\nb\r\n", ExecOptions{})
	for _, a := range res.Actions {
		if _, ok := a.(Notify); ok {
			t.Error("notified about an auto-submitted message")
		}
	}
	many := "mailto:" + strings.Repeat("a@example.org,", maxNotifyRecipients) + "z@example.org"
	if _, err := Compile("t", []byte(`require "enotify"; notify "`+many+`";`), CompileOptions{}); err == nil {
		t.Error("a mailto URI with too many recipients compiled")
	}
	if _, err := Compile("t", []byte(`require "enotify"; notify "mailto:a@example.org?subject=x%0d%0aBcc:%20b@evil.example";`), CompileOptions{}); err == nil {
		t.Error("a mailto URI with CRLF in a header compiled")
	}
	s, _ := Compile("t", []byte("require \"enotify\";\n"+strings.Repeat("notify \"mailto:a@example.org?subject=${x}\";\n", 1)+
		`notify "mailto:b@example.org"; notify "mailto:c@example.org"; notify "mailto:d@example.org";`), CompileOptions{})
	if _, err := s.Execute(context.Background(), NewRawMessage([]byte("From: x@y.z\r\n\r\nb")), Envelope{}, ExecOptions{MaxActions: 3}); err == nil {
		t.Error("notifications beyond MaxActions were accepted")
	}
}

// TestMIMEBounds: a message nested thousands of levels deep or with
// thousands of parts is walked within the limits and quickly.
func TestMIMEBounds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("From: x@y.z\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	const depth = 5000
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
	}
	b.WriteString("--b5000\r\nContent-Type: text/plain\r\n\r\ndeep secret\r\n")
	src := `require ["foreverypart","mime","extracttext","variables","fileinto"];
foreverypart { foreverypart { extracttext "t"; if string :contains "${t}" "secret" { fileinto "Found"; } } }
if header :mime :anychild :type "content-type" "text" { fileinto "Text"; }`
	res := runExt(t, src, b.String(), ExecOptions{})
	if got := FormatOutcome(res); got != "keep\n" {
		t.Errorf("deep message: %q (parts below the depth limit must stay unseen)", got)
	}
	b.Reset()
	b.WriteString("From: x@y.z\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
	for i := 0; i < 5000; i++ {
		b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\npart\r\n")
	}
	b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nlast secret\r\n--b--\r\n")
	s, _ := Compile("t", []byte(`require ["foreverypart","extracttext","variables","fileinto"]; foreverypart { extracttext "t"; if string :contains "${t}" "secret" { fileinto "Found"; } }`), CompileOptions{})
	root := &runState{msg: NewRawMessage([]byte(b.String()))}
	if n, max := len(root.parts().walk(nil)), mimeparse.DefaultLimits().MaxParts; n > max {
		t.Errorf("%d parts walked, limit %d", n, max)
	}
	if _, err := s.Execute(context.Background(), NewRawMessage([]byte(b.String())), Envelope{}, ExecOptions{}); err != nil {
		t.Errorf("wide message: %v", err)
	}
	nested := "require \"foreverypart\";\n" + strings.Repeat("foreverypart {\n", maxForeverNest+1) + strings.Repeat("}\n", maxForeverNest+1)
	if _, err := Compile("t", []byte(nested), CompileOptions{}); err == nil {
		t.Error("foreverypart nested beyond the limit compiled")
	}
}

func TestIhaveAndHints(t *testing.T) {
	t.Parallel()
	_, err := Compile("t", []byte(`require "vnd.dovecot.pipe";`), CompileOptions{})
	if err == nil || !strings.Contains(err.Error(), "[spam_learning]") {
		t.Errorf("pipe: %v", err)
	}
	_, err = Compile("t", []byte(`require "x-unheard-of";`), CompileOptions{})
	if err == nil || !strings.Contains(err.Error(), "remove it from require") {
		t.Errorf("unknown: %v", err)
	}
	if _, err := Compile("t", []byte(`require "imapsieve";`), CompileOptions{IMAP: true}); err != nil {
		t.Errorf("imapsieve in IMAP context: %v", err)
	}
	res := runExt(t, `require ["ihave","environment","fileinto","variables"]; if ihave "imapsieve" { fileinto "I"; } if environment :matches "imap.cause" "*" { fileinto "${1}"; }`, "From: x@y.z\r\n\r\nb", ExecOptions{Environment: map[string]string{"imap.cause": "COPY"}})
	if got := FormatOutcome(res); got != "keep\n" {
		t.Errorf("imap items outside IMAP: %q", got)
	}
	s, err := Compile("t", []byte(`require ["imapsieve","environment","fileinto","variables"]; if environment :matches "imap.cause" "*" { fileinto "${1}"; }`), CompileOptions{IMAP: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Execute(context.Background(), NewRawMessage([]byte("From: x@y.z\r\n\r\nb")), Envelope{}, ExecOptions{Environment: map[string]string{"imap.cause": "COPY"}})
	if err != nil || FormatOutcome(res) != "fileinto \"COPY\"\n" {
		t.Errorf("imap.cause: %v %q", err, FormatOutcome(res))
	}
}

// TestMIMEAfterEdit: the :mime tests read the header editheader left.
func TestMIMEAfterEdit(t *testing.T) {
	t.Parallel()
	src := `require ["editheader","mime","fileinto"]; addheader "X-Tag" "one";
if header :mime :anychild "x-tag" "one" { fileinto "Tagged"; }
if header :mime :type "content-type" "multipart" { fileinto "Multi"; }`
	msg := "From: x@y.z\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
	if got := FormatOutcome(runExt(t, src, msg, ExecOptions{})); got != "fileinto \"Multi\"\nfileinto \"Tagged\"\n" {
		t.Errorf("got %q", got)
	}
}

// TestFoldFieldNoBlankLines: a value with empty or white-space-only lines (from CR/LF
// in a variable) never renders a header line of white space only, which RFC 5322
// section 3.2.2 forbids and some parsers take as the end of the header.
func TestFoldFieldNoBlankLines(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"a\n\nb", "a\r\n \t\r\nb", "a\n", "\n\nb", "a\n\n\n"} {
		got := foldField("X-Test", v)
		for i, line := range strings.Split(got, "\r\n") {
			if strings.TrimLeft(line, " \t") == "" {
				t.Errorf("foldField(%q) = %q: line %d is white space only", v, got, i)
			}
		}
		if u := unfold(got); strings.Contains(u, "\n") || !strings.HasPrefix(u, "X-Test: ") {
			t.Errorf("foldField(%q) unfolds to %q", v, u)
		}
	}
}
