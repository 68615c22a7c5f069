package imap

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/store"
)

// BenchmarkIMAP runs the commands of the Dovecot comparison (integration/bench/imap.sh)
// on a 10,000-message INBOX over TLS with a raw protocol client that only scans for
// the tagged reply, so the profile is the server's. The messages sit in new/ as the
// delivery agent leaves them, without cache entries, so the first FETCH computes the
// envelopes.
func BenchmarkIMAP(b *testing.B) {
	const n = 10000
	e := newEnvB(b, "alice@example.org")
	root := e.root("alice@example.org")
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	recs := make([]store.NewMessage, n)
	for i := range n {
		msg := benchMessage(i)
		base := fmt.Sprintf("1700000000.M%dP1.bench,S=%d,W=%d", i, len(msg), len(msg))
		if err := os.WriteFile(filepath.Join(root, "new", base), []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
		recs[i] = store.NewMessage{User: "alice@example.org", Mailbox: "INBOX", Filename: base,
			Size: int64(len(msg)), InternalDate: time.Unix(1700000000, 0)}
	}
	if _, err := e.st.AddMessages(b.Context(), recs); err != nil {
		b.Fatal(err)
	}
	c := e.rawDial(b, "alice@example.org")
	c.run(b, "SELECT INBOX")
	c.run(b, "FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)") // fills the cache
	b.Run("FetchEnvelopesFirst", func(b *testing.B) {
		mb, err := e.st.GetMailbox(b.Context(), "alice@example.org", "INBOX")
		if err != nil {
			b.Fatal(err)
		}
		spoil := make([]store.CacheEntry, n)
		for i, r := range recs {
			spoil[i] = store.CacheEntry{Filename: r.Filename, Envelope: []byte{0}} // undecodable
		}
		for b.Loop() {
			b.StopTimer()
			e.srv.bg.Wait()
			forgetSummaries(e.srv)
			if err := e.st.PutMessageCache(b.Context(), mb.ID, spoil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			c.run(b, "FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)")
		}
	})
	b.Run("FetchEnvelopes", func(b *testing.B) {
		for b.Loop() {
			c.run(b, "FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)")
		}
	})
	b.Run("SearchHeader", func(b *testing.B) {
		for b.Loop() {
			if out := c.run(b, "UID SEARCH HEADER Subject needle"); !strings.Contains(out, "* SEARCH 1 ") {
				b.Fatalf("search: %q", out[:min(len(out), 200)])
			}
		}
	})
	b.Run("Bodies100", func(b *testing.B) {
		rnd := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			for range 100 {
				c.run(b, fmt.Sprintf("FETCH %d (BODY.PEEK[])", 1+rnd.IntN(n)))
			}
		}
	})
	b.Run("Store1000", func(b *testing.B) {
		for b.Loop() {
			c.run(b, `STORE 1:1000 +FLAGS.SILENT (\Flagged)`)
			b.StopTimer()
			c.run(b, `STORE 1:1000 -FLAGS.SILENT (\Flagged)`)
			b.StartTimer()
		}
	})
	b.Run("Noop", func(b *testing.B) {
		for b.Loop() {
			c.run(b, "NOOP")
		}
	})
	b.Run("LoginSelect", func(b *testing.B) {
		for b.Loop() {
			c2 := e.rawDial(b, "alice@example.org")
			c2.run(b, "SELECT INBOX")
			c2.close()
		}
	})
}

// benchMessage is imap_fill.py's message i: about 1.8 KiB, "needle" in every 100th
// subject.
func benchMessage(i int) string {
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike")
	subj := fmt.Sprintf("bench message %d", i)
	if i%100 == 0 {
		subj += " needle"
	}
	var body strings.Builder
	for j := range 30 {
		w := words[(i+j)%len(words)]
		fmt.Fprintf(&body, "%s%s%s line %d of message %d\r\n", w, w, w, j, i)
	}
	return fmt.Sprintf("From: Sender %d <sender%d@client.test>\r\nTo: <alice@example.org>\r\nSubject: %s\r\n"+
		"Date: Mon, 2 Jan 2023 10:%02d:%02d +0000\r\nMessage-ID: <fill%d@client.test>\r\n\r\n%s",
		i%50, i%50, subj, (i/60)%60, i%60, i, body.String())
}

// rawClient speaks just enough IMAP to send a command and skip to its tagged reply.
type rawClient struct {
	conn *tls.Conn
	r    *bufio.Reader
	tag  int
}

func (e *env) rawDial(tb testing.TB, user string) *rawClient {
	tb.Helper()
	conn, err := tls.Dial("tcp", e.tlsAddr, e.clientTL)
	if err != nil {
		tb.Fatal(err)
	}
	c := &rawClient{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	if _, err := c.r.ReadString('\n'); err != nil {
		tb.Fatal(err)
	}
	c.run(tb, fmt.Sprintf("LOGIN %s %q", user, testPassword))
	return c
}

func (c *rawClient) close() { c.conn.Close() }

// run sends one command and returns everything up to and including its tagged OK.
func (c *rawClient) run(tb testing.TB, cmd string) string {
	tb.Helper()
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	if _, err := fmt.Fprintf(c.conn, "%s %s\r\n", tag, cmd); err != nil {
		tb.Fatal(err)
	}
	var out strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			tb.Fatalf("%s: %v", cmd, err)
		}
		out.WriteString(line)
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				tb.Fatalf("%s: %s", cmd, line)
			}
			return out.String()
		}
		// A literal: {n}\r\n then n bytes, then the rest of the line.
		if i := strings.LastIndexByte(line, '{'); i >= 0 && strings.HasSuffix(line, "}\r\n") {
			k, err := strconv.Atoi(line[i+1 : len(line)-3])
			if err == nil {
				if _, err := io.CopyN(io.Discard, c.r, int64(k)); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
}
