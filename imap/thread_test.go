package imap

import (
	"reflect"
	"strings"
	"testing"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postern/postern/mimeparse"
)

func threadMessage(id, refs, subject, date string) string {
	h := "From: a@example.org\nMessage-ID: <" + id + ">\nSubject: " + subject + "\nDate: " + date + "\n"
	if refs != "" {
		h += "References: " + refs + "\n"
	}
	return strings.ReplaceAll(h+"\nbody\n", "\n", "\r\n")
}

func TestThread(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	c := e.dial("alice@example.org", nil)
	if !c.Caps().Has("THREAD=REFERENCES") || !c.Caps().Has("THREAD=ORDEREDSUBJECT") {
		t.Fatal("THREAD not advertised")
	}
	for _, m := range []string{
		threadMessage("a@x", "", "Lunch", "Mon, 1 Jan 2024 10:00:00 +0000"),                // 1
		threadMessage("b@x", "", "Other", "Mon, 1 Jan 2024 10:30:00 +0000"),                // 2
		threadMessage("c@x", "<a@x>", "Re: Lunch", "Mon, 1 Jan 2024 11:00:00 +0000"),       // 3
		threadMessage("d@x", "<a@x> <c@x>", "Re: Lunch", "Mon, 1 Jan 2024 12:00:00 +0000"), // 4
		threadMessage("e@x", "<a@x>", "Re: Lunch", "Mon, 1 Jan 2024 13:00:00 +0000"),       // 5
		threadMessage("f@x", "<missing@x>", "Re: gone", "Mon, 1 Jan 2024 09:00:00 +0000"),  // 6
		threadMessage("g@x", "<missing@x>", "Re: gone", "Mon, 1 Jan 2024 09:30:00 +0000"),  // 7
	} {
		e.appendMsg(c, "INBOX", m)
	}
	e.selectBox(c, "INBOX")

	refs, err := c.Thread(&imapclient.ThreadOptions{Algorithm: goimap.ThreadReferences, SearchCriteria: &goimap.SearchCriteria{}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	// 6 and 7 share a missing parent: a dummy root, sorted by its first child (09:00).
	want := []goimap.ThreadData{
		{SubThreads: []goimap.ThreadData{{Chain: []uint32{6}}, {Chain: []uint32{7}}}},
		{Chain: []uint32{1}, SubThreads: []goimap.ThreadData{{Chain: []uint32{3, 4}}, {Chain: []uint32{5}}}},
		{Chain: []uint32{2}},
	}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("THREAD REFERENCES = %+v\nwant %+v", refs, want)
	}

	ord, err := c.UIDThread(&imapclient.ThreadOptions{Algorithm: goimap.ThreadOrderedSubject, SearchCriteria: &goimap.SearchCriteria{}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	wantOrd := []goimap.ThreadData{
		{Chain: []uint32{6, 7}},
		{Chain: []uint32{1}, SubThreads: []goimap.ThreadData{{Chain: []uint32{3}}, {Chain: []uint32{4}}, {Chain: []uint32{5}}}},
		{Chain: []uint32{2}},
	}
	if !reflect.DeepEqual(ord, wantOrd) {
		t.Errorf("UID THREAD ORDEREDSUBJECT = %+v\nwant %+v", ord, wantOrd)
	}
}

func TestBaseSubject(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Re: [list] Fwd: Hello  World (fwd)": "hello world",
		"[fwd: Re: lunch]":                   "lunch",
		"RE[2]: Lunch":                       "lunch",
		"[only]":                             "[only]",
		"Hello":                              "hello",
	} {
		if got, _ := baseSubject(in); got != want {
			t.Errorf("baseSubject(%q) = %q, want %q", in, got, want)
		}
	}
	if _, reply := baseSubject("Hello"); reply {
		t.Error("Hello is not a reply")
	}
}

func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [x] Fwd: a (fwd)", "[fwd: b]", "", "[", "re[:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		baseSubject(s)
		mimeparse.MsgIDs(s)
	})
}
