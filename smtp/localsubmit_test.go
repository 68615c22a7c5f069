package smtp

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func readAll(t testing.TB, m Message) string {
	t.Helper()
	rc, err := m.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != m.Size() {
		t.Fatalf("Size() = %d, read %d", m.Size(), len(b))
	}
	return string(b)
}

func localOpts(extract bool) LocalHeaderOptions {
	return LocalHeaderOptions{
		Hostname: "mail.example.com", From: "Cron <root@mail.example.com>",
		Trace:             "Received: by mail.example.com (Postern, from userid 1000);\r\n\tTue, 2 Jan 2024 15:04:05 +0000\r\n",
		Received:          time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC),
		ExtractRecipients: extract, MaxHeaderBytes: 4096,
	}
}

func TestPrepareLocalAddsMissingFields(t *testing.T) {
	t.Parallel()
	msg := BytesMessage("Subject: backup done\r\n\r\nall good\r\n")
	out, rcpts, err := PrepareLocal(msg, localOpts(false))
	if err != nil {
		t.Fatal(err)
	}
	if rcpts != nil {
		t.Errorf("recipients without -t: %v", rcpts)
	}
	text := readAll(t, out)
	head, body, _ := strings.Cut(text, "\r\n\r\n")
	if body != "all good\r\n" {
		t.Errorf("body %q", body)
	}
	if !strings.HasPrefix(head, "Received: by mail.example.com (Postern, from userid 1000);") {
		t.Errorf("trace not first: %q", head)
	}
	for _, want := range []string{"\r\nSubject: backup done\r\n", "\r\nFrom: Cron <root@mail.example.com>\r\n",
		"\r\nDate: Tue, 2 Jan 2024 15:04:05 +0000\r\n", "\r\nMessage-ID: <"} {
		if !strings.Contains(head+"\r\n", want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
}

func TestPrepareLocalKeepsExistingFields(t *testing.T) {
	t.Parallel()
	in := "From: me@example.org\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nhi\r\n"
	o := localOpts(false)
	o.Trace = ""
	out, _, err := PrepareLocal(BytesMessage(in), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, out); got != in {
		t.Errorf("changed a complete message:\n%q", got)
	}
}

func TestPrepareLocalExtractsRecipientsAndDropsBcc(t *testing.T) {
	t.Parallel()
	in := "To: Alice <alice@example.com>, root\r\nCc: undisclosed:;, bob@Example.ORG\r\n" +
		"Bcc: secret@example.net,\r\n hidden@example.net\r\nSubject: x\r\n\r\nBcc: in the body stays\r\n"
	out, rcpts, err := PrepareLocal(BytesMessage(in), localOpts(true))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alice@example.com", "root@mail.example.com", "bob@example.org", "secret@example.net", "hidden@example.net"}
	if !slices.Equal(rcpts, want) {
		t.Errorf("recipients %v, want %v", rcpts, want)
	}
	text := readAll(t, out)
	head, body, _ := strings.Cut(text, "\r\n\r\n")
	if strings.Contains(head, "secret") || strings.Contains(head, "hidden") || strings.Contains(head, "Bcc") {
		t.Errorf("Bcc left in header:\n%s", head)
	}
	if body != "Bcc: in the body stays\r\n" || !strings.Contains(head, "\r\nSubject: x\r\n") {
		t.Errorf("message damaged:\n%q", text)
	}
}

func TestPrepareLocalRefusals(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"malformed header": "not a header line\r\n\r\nbody\r\n",
		"bad To":           "To: a@@b, <\r\n\r\n",
		"too big":          "Subject: " + strings.Repeat("x", 5000) + "\r\n\r\n",
	} {
		_, _, err := PrepareLocal(BytesMessage(in), localOpts(true))
		var re *ReplyError
		if !errors.As(err, &re) || re.Code/100 != 5 {
			t.Errorf("%s: err %v, want a 5xx reply", name, err)
		}
	}
}

// FuzzPrepareLocal: whatever the header, a prepared message keeps the body
// byte for byte, its size is what it reads, and -t never leaves a Bcc field.
func FuzzPrepareLocal(f *testing.F) {
	for _, s := range []string{
		"To: a@b.c\r\nBcc: d@e.f\r\n\r\nbody\r\n",
		"Subject: x\r\n folded\r\n\r\n",
		"To: root, admin\r\n\r\n",
		"bcc:x@y.z\r\n\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := PrepareLocal(BytesMessage(data), localOpts(true))
		if err != nil {
			return
		}
		text := readAll(t, out)
		h, err := parseHeader(strings.NewReader(text), 1<<20)
		if err != nil {
			t.Fatalf("prepared message does not parse: %v\n%q", err, text)
		}
		if len(h.get("Bcc")) != 0 {
			t.Fatalf("Bcc survived: %q", text)
		}
		if len(h.get("From")) == 0 || len(h.get("Date")) == 0 || len(h.get("Message-ID")) == 0 {
			t.Fatalf("missing field after prepare: %q", text)
		}
	})
}
