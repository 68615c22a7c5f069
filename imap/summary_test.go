package imap

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postern/postern/store"
)

const multipartMessage = "From: \"Bob B.\" <bob@example.net>, carol@example.net\r\n" +
	"Sender: list@example.net\r\nReply-To: <@relay.example:bob@example.net>\r\nTo: undisclosed-recipients:;\r\nCc: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= and more\r\nDate: Tue, 03 Jan 2006 01:02:03 -0830\r\n" +
	"In-Reply-To: <a@x> <b@y>\r\nMessage-ID: <m1@example.net>\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"; x=y\r\nContent-Language: de\r\n\r\n" +
	"preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello =C3=BC\r\nline 2\r\n" +
	"--b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline; filename=\"fwd.eml\"\r\n\r\n" +
	"From: x@y\r\nSubject: inner\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n" +
	"--b1\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-ID: <cid1>\r\nContent-Description: a file\r\n" +
	"Content-Disposition: attachment; filename=a.pdf\r\nContent-Location: http://x/a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b1--\r\n"

func TestSummaryCodecRoundTrip(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{multipartMessage, testMessage("plain", "body"), "no header at all", "Subject: x\r\n\r\n"} {
		_, bs, err := parseStructure(strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeStructure(encodeStructure(bs))
		if err != nil || !reflect.DeepEqual(got, bs) {
			t.Errorf("structure round trip of %.20q: %v\n got %#v\nwant %#v", msg, err, got, bs)
		}
		path := filepath.Join(t.TempDir(), "m")
		if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
		env, err := withFile(path, parseEnvelope)
		if err != nil {
			t.Fatal(err)
		}
		if msg == multipartMessage && (len(env.ReplyTo) != 1 || env.ReplyTo[0].Route != "@relay.example") {
			t.Errorf("Reply-To's source route lost: %#v", env.ReplyTo)
		}
		gotEnv, err := decodeEnvelope(encodeEnvelope(env))
		if err != nil {
			t.Fatalf("decode envelope: %v", err)
		}
		// Dates compare by instant and offset; the zone's name is not kept.
		if !gotEnv.Date.Equal(env.Date) || zoneOffset(gotEnv.Date) != zoneOffset(env.Date) {
			t.Errorf("date %v, want %v", gotEnv.Date, env.Date)
		}
		gotEnv.Date, env.Date = time.Time{}, time.Time{}
		if !reflect.DeepEqual(gotEnv, env) {
			t.Errorf("envelope round trip:\n got %#v\nwant %#v", gotEnv, env)
		}
	}
}

// TestSummaryCodecReadsVersion1: blobs cached before the source route was kept (version
// 1: name, mailbox, host) still decode, so an upgrade recomputes nothing; what is written
// now carries the route.
func TestSummaryCodecReadsVersion1(t *testing.T) {
	t.Parallel()
	v1 := []byte{1, 1, 0, 1, 's', 2, 1, 'n', 1, 'm', 1, 'h', 0, 0, 0, 0, 0, 0, 0}
	env, err := decodeEnvelope(v1)
	if err != nil {
		t.Fatalf("version 1 envelope: %v", err)
	}
	want := []goimap.Address{{Name: "n", Mailbox: "m", Host: "h"}}
	if env.Subject != "s" || !reflect.DeepEqual(env.From, want) || env.Sender != nil {
		t.Fatalf("version 1 envelope decoded as %#v", env)
	}
	env.From[0].Route = "@relay.example"
	b := encodeEnvelope(env)
	if b[0] != summaryVersion {
		t.Fatalf("encoded as version %d", b[0])
	}
	got, err := decodeEnvelope(b)
	if err != nil || got.From[0].Route != "@relay.example" {
		t.Fatalf("route round trip: %v %#v", err, got)
	}
}

func mustStructure(msg string) goimap.BodyStructure {
	_, bs, err := parseStructure(strings.NewReader(msg))
	if err != nil {
		panic(err)
	}
	return bs
}

func zoneOffset(t time.Time) int { _, off := t.Zone(); return off }

func TestSummaryCodecRejectsGarbage(t *testing.T) {
	t.Parallel()
	good := encodeStructure(mustStructure(multipartMessage))
	for _, b := range [][]byte{nil, {}, {99}, good[:len(good)-1], append(bytes.Clone(good), 0), {1, 'M', 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodeStructure(b); err == nil {
			t.Errorf("decodeStructure(%x) accepted", b)
		}
		if _, err := decodeEnvelope(b); err == nil && len(b) > 0 && b[0] != 1 && b[0] != 2 {
			t.Errorf("decodeEnvelope(%x) accepted", b)
		}
	}
	deep := []byte{1}
	for range 200 {
		deep = append(deep, 'M', 1)
	}
	if _, err := decodeStructure(deep); err == nil {
		t.Error("unbounded nesting accepted")
	}
}

// FuzzDecodeSummary: a cached blob is our own data, but a corrupt database must still
// only ever produce an error, never a panic or a huge allocation; what decodes must
// encode back to the same bytes.
func FuzzDecodeSummary(f *testing.F) {
	f.Add(encodeStructure(mustStructure(multipartMessage)))
	f.Add(encodeEnvelope(&goimap.Envelope{Subject: "s", From: []goimap.Address{{Name: "n", Mailbox: "m", Host: "h"}}, Date: time.Unix(1, 0)}))
	f.Add([]byte{1, 'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if bs, err := decodeStructure(b); err == nil {
			// Decoding normalises (map order, varint forms); after one round the
			// encoding must be a fixed point.
			once := encodeStructure(bs)
			bs2, err := decodeStructure(once)
			if err != nil {
				t.Fatalf("re-encoded structure does not decode: %v", err)
			}
			if again := encodeStructure(bs2); !bytes.Equal(again, once) {
				t.Fatalf("structure encoding not stable: %x -> %x", once, again)
			}
		}
		if env, err := decodeEnvelope(b); err == nil {
			if _, err := decodeEnvelope(encodeEnvelope(env)); err != nil {
				t.Fatalf("envelope does not decode after re-encoding: %v", err)
			}
		}
	})
}

// TestFetchFillsAndUsesCache: the first FETCH ENVELOPE BODYSTRUCTURE of a delivered
// message computes both and stores them; a later FETCH answers the same from the index
// even when the file can no longer be parsed; a corrupt cache entry is recomputed.
func TestFetchFillsAndUsesCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	c := e.dial("alice@example.org", nil)
	e.selectBox(c, "INBOX") // makes the Maildir
	h := &mdHelper{root: e.root("alice@example.org")}
	nm, err := h.deliver(t, multipartMessage)
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.st.AddMessages(ctx, []store.NewMessage{nm})
	if err != nil {
		t.Fatal(err)
	}
	mb := added[0].MailboxID
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	opts := &goimap.FetchOptions{Envelope: true, BodyStructure: &goimap.FetchItemBodyStructure{Extended: true}}
	fetch := func() *imapclient.FetchMessageBuffer {
		t.Helper()
		msgs, err := c.Fetch(goimap.SeqSetNum(1), opts).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("fetch: %v (%d)", err, len(msgs))
		}
		return msgs[0]
	}
	first := fetch()
	if first.Envelope == nil || first.Envelope.Subject != "Grüße and more" || len(first.Envelope.InReplyTo) != 2 {
		t.Fatalf("envelope = %+v", first.Envelope)
	}
	if mp, ok := first.BodyStructure.(*goimap.BodyStructureMultiPart); !ok || len(mp.Children) != 3 {
		t.Fatalf("bodystructure = %#v", first.BodyStructure)
	}
	cached := func() store.CachedMessage {
		t.Helper()
		e.srv.bg.Wait() // the cache is written in the background
		rows, err := e.st.ListMessagesRangeCached(ctx, mb, 1, 1)
		if err != nil || len(rows) != 1 {
			t.Fatalf("cached rows: %v %d", err, len(rows))
		}
		return rows[0]
	}
	if cm := cached(); cm.Envelope == nil || cm.Structure == nil {
		t.Fatalf("FETCH did not fill the cache: %+v", cm)
	}

	// Overwrite the file with other bytes of the same name: only the cache can answer
	// with the old subject now.
	des, _ := os.ReadDir(filepath.Join(h.root, "new"))
	if len(des) != 1 {
		t.Fatalf("new/ holds %d files", len(des))
	}
	if err := os.WriteFile(filepath.Join(h.root, "new", des[0].Name()), []byte(testMessage("other", "x")), 0o600); err != nil {
		t.Fatal(err)
	}
	second := fetch()
	if second.Envelope.Subject != first.Envelope.Subject || !reflect.DeepEqual(second.BodyStructure, first.BodyStructure) {
		t.Fatalf("second FETCH not served from the cache: %+v", second.Envelope)
	}

	// A corrupt entry is recomputed from the (now different) file and replaced, once
	// the summaries in memory are gone.
	if err := e.st.PutMessageCache(ctx, mb, []store.CacheEntry{{Filename: nm.Filename, Envelope: []byte{42}, Structure: []byte{42}}}); err != nil {
		t.Fatal(err)
	}
	forgetSummaries(e.srv)
	if third := fetch(); third.Envelope.Subject != "other" {
		t.Fatalf("corrupt entry not recomputed: %+v", third.Envelope)
	}
	if cm := cached(); cm.Envelope[0] != summaryVersion || cm.Structure[0] != summaryVersion {
		t.Fatalf("corrupt entry not replaced: %x / %x", cm.Envelope, cm.Structure)
	}
}

// TestAppendAndCopyCarrySummaries: APPEND stores the summaries at once, COPY gives the
// copy the same entry, so neither needs the file at its first FETCH.
func TestAppendAndCopyCarrySummaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	ctx := context.Background()
	c := e.dial("alice@example.org", nil)
	e.appendMsg(c, "INBOX", multipartMessage)
	e.selectBox(c, "INBOX")
	if _, err := c.Copy(goimap.SeqSetNum(1), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	e.srv.bg.Wait()
	for _, box := range []string{"INBOX", "Archive"} {
		mb, err := e.st.GetMailbox(ctx, "alice@example.org", box)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := e.st.ListMessagesRangeCached(ctx, mb.ID, 1, 100)
		if err != nil || len(rows) != 1 {
			t.Fatalf("%s: %v %d", box, err, len(rows))
		}
		env, err := decodeEnvelope(rows[0].Envelope)
		if err != nil || env.Subject != "Grüße and more" || rows[0].Structure == nil {
			t.Fatalf("%s: cache %v %+v", box, err, env)
		}
	}
}

// withFile runs fn on the contents of the message file at path.
func withFile[T any](path string, fn func(io.Reader) (T, error)) (T, error) {
	var zero T
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return zero, errGone
	}
	if err != nil {
		return zero, err
	}
	defer f.Close()
	return fn(newFileReader(f))
}
