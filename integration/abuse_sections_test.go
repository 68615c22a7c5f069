package integration

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issue 14 item 1 over IMAP sections: the 400-level messages of abuse_mem_test.go are
// delivered, then a client asks for BODYSTRUCTURE and for BODY[...], BINARY[...],
// BINARY.SIZE[...], HEADER, HEADER.FIELDS, TEXT and MIME of parts nested deep (section
// numbers up to 5,000 levels). Parts within the depth the server parses (the one
// BODYSTRUCTURE reports, mimeparse's limit) answer their exact bytes; deeper section
// numbers name no part and are answered NO (or an empty literal), never with the bytes
// of another part. The daemon lives and its peak RSS stays within the budget.

// deepSection is "1.1...1" with n ones, plus "."+spec when spec is not empty.
func deepSection(n int, spec string) string {
	s := strings.TrimSuffix(strings.Repeat("1.", n), ".")
	if spec != "" {
		s += "." + spec
	}
	return s
}

// sectionCase is one FETCH of a deep section and what its literal must hold.
type sectionCase struct {
	item       string   // the FETCH item, e.g. BODY.PEEK[1.1]
	has, lacks []string // substrings the literal must and must not contain
}

// noPart is a section that names no part: NO, or an answer without message bytes.
func noPart(item string) sectionCase {
	return sectionCase{item: item, lacks: []string{"From: level", "--b", "Content-Type"}}
}

func rfc822SectionCases() []sectionCase {
	lv := func(k int) string { return fmt.Sprintf("From: level%d@example.org\r\nSubject: nested %d\r\n", k, k) }
	cases := []sectionCase{}
	for _, k := range []int{1, 50, 100} {
		// Part 1^k is the message of level k, the body of level k-1.
		c := sectionCase{item: "BODY.PEEK[" + deepSection(k, "") + "]", has: []string{lv(k)}, lacks: []string{lv(k - 1)}}
		if k == 100 {
			c.has = append(c.has, "needle-sections-1")
		}
		cases = append(cases, c)
	}
	return append(cases,
		sectionCase{item: "BINARY.PEEK[" + deepSection(50, "") + "]", has: []string{lv(50), lv(51)}, lacks: []string{lv(49)}},
		sectionCase{item: "BODY.PEEK[" + deepSection(50, "HEADER") + "]", has: []string{lv(50) + "Content-Type: message/rfc822\r\n\r\n"},
			lacks: []string{lv(49), lv(51)}},
		sectionCase{item: "BODY.PEEK[" + deepSection(50, "HEADER.FIELDS (Subject)") + "]", has: []string{"Subject: nested 50\r\n\r\n"},
			lacks: []string{"From: level"}},
		sectionCase{item: "BODY.PEEK[" + deepSection(50, "MIME") + "]", has: []string{lv(49) + "Content-Type: message/rfc822\r\n\r\n"},
			lacks: []string{lv(50)}},
		sectionCase{item: "BODY.PEEK[" + deepSection(50, "TEXT") + "]", has: []string{lv(51)}, lacks: []string{lv(50)}},
		noPart("BODY.PEEK["+deepSection(101, "")+"]"),
		noPart("BODY.PEEK["+deepSection(400, "")+"]"),
		noPart("BODY.PEEK["+deepSection(400, "MIME")+"]"),
		noPart("BODY.PEEK["+deepSection(400, "HEADER")+"]"),
		noPart("BINARY.PEEK["+deepSection(400, "")+"]"),
		noPart("BODY.PEEK["+deepSection(5000, "")+"]"),
	)
}

func multipartSectionCases() []sectionCase {
	open := func(k int) string {
		return fmt.Sprintf("--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n", k, k+1)
	}
	cases := []sectionCase{}
	for _, k := range []int{1, 50, 99} {
		// Part 1^k is the multipart k levels down; its body opens with --b(k+1).
		cases = append(cases, sectionCase{item: "BODY.PEEK[" + deepSection(k, "") + "]", has: []string{open(k + 1)},
			lacks: []string{fmt.Sprintf("--b%d\r\n", k)}})
	}
	return append(cases,
		// 1^99 is parsed no further (BODYSTRUCTURE shows it with one text/plain child
		// spanning its body): 1^100 is that child, the needle at its bottom.
		sectionCase{item: "BODY.PEEK[" + deepSection(100, "") + "]", has: []string{open(100), "needle-sections-2"},
			lacks: []string{"--b99\r\n"}},
		sectionCase{item: "BINARY.PEEK[" + deepSection(50, "") + "]", has: []string{open(51)}, lacks: []string{"--b50\r\n"}},
		sectionCase{item: "BODY.PEEK[" + deepSection(50, "MIME") + "]", has: []string{"Content-Type: multipart/mixed; boundary=\"b51\"\r\n\r\n"},
			lacks: []string{"b50\"", "b52\""}},
		noPart("BODY.PEEK["+deepSection(101, "")+"]"),
		noPart("BODY.PEEK["+deepSection(400, "")+"]"),
		noPart("BODY.PEEK["+deepSection(400, "MIME")+"]"),
		noPart("BINARY.PEEK["+deepSection(400, "")+"]"),
		noPart("BODY.PEEK["+deepSection(5000, "")+"]"),
	)
}

func TestAbuseDeepSections(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		cases      []sectionCase
	}{
		{"rfc822x400", nestedRFC822(400, 4<<20, "needle-sections-1"), rfc822SectionCases()},
		{"multipartx400", nestedMultipart(400, 4<<20, "needle-sections-2"), multipartSectionCases()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{})
			rxSetup(t, s, "alice")
			idle := memPeakKiB(t, s)
			strangerSends(t, s, tc.text)
			waitSubjects(t, rxUserDir(s, "alice@example.test"), map[bool]string{true: "nested 0", false: "multipart nest"}[tc.name == "rfc822x400"])
			m := dialIMAPS(t, s)
			m.ok("LOGIN alice@example.test " + imapPassword)
			m.ok("SELECT INBOX")
			if got := m.ok("FETCH 1 BODYSTRUCTURE"); !strings.Contains(got, "BODYSTRUCTURE (") {
				t.Fatalf("BODYSTRUCTURE: %.300q", got)
			}
			for _, sc := range tc.cases {
				fetchDeepSection(t, m, sc)
			}
			fetchBinarySize(t, m, deepSection(50, ""))
			m.ok("LOGOUT")
			livesWithinBudget(t, s, idle)
		})
	}
}

// livesWithinBudget checks that the daemon lives and its peak RSS grew by less than
// memBudgetKiB over idle (KiB).
func livesWithinBudget(t *testing.T, s *Server, idle int64) {
	t.Helper()
	if !s.Running() {
		t.Fatal("the daemon died")
	}
	if grew := memPeakKiB(t, s) - idle; grew > memBudgetKiB {
		t.Errorf("peak RSS grew by %d MiB over idle (%d MiB), want < %d MiB", grew>>10, idle>>10, memBudgetKiB>>10)
	} else {
		t.Logf("peak RSS %d MiB, %d MiB over idle", (idle+grew)>>10, grew>>10)
	}
}

// strangerSends sends text from mallory@example.org to alice over port 25 and wants 250.
func strangerSends(t *testing.T, s *Server, text string) {
	t.Helper()
	c := rxDialSMTP(t, s)
	c.expect(250, "EHLO client.example.org")
	if _, code, msg := c.send("mallory@example.org", []string{"alice@example.test"}, text); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	c.quit()
}

// fetchDeepSection runs one FETCH of sc.item and checks the answer.
func fetchDeepSection(t *testing.T, m *imapRaw, sc sectionCase) {
	t.Helper()
	start := time.Now()
	got, status := m.do("FETCH 1 (" + sc.item + ")")
	took := time.Since(start)
	short := sc.item
	if len(short) > 60 {
		short = short[:30] + "..." + short[len(short)-20:]
	}
	t.Logf("%s: %s, %d bytes, %v", short, status, len(got), took.Round(time.Millisecond))
	if !strings.HasPrefix(status, "OK") {
		if len(sc.has) > 0 || !strings.HasPrefix(status, "NO") && !strings.HasPrefix(status, "BAD") {
			t.Errorf("%s: %s", short, status)
		}
		return
	}
	for _, h := range sc.has {
		if !strings.Contains(got, h) {
			t.Errorf("%s: the answer (%d bytes, %.200q) lacks %q", short, len(got), got, h)
		}
	}
	for _, l := range sc.lacks {
		if strings.Contains(got, l) {
			t.Errorf("%s: the answer (%d bytes, %.200q) holds %q", short, len(got), got, l)
		}
	}
}

var literalLen = regexp.MustCompile(`\{(\d+)\}\r\n`)

// fetchBinarySize checks that BINARY.SIZE of a deep part is the length of its BINARY.
func fetchBinarySize(t *testing.T, m *imapRaw, sec string) {
	t.Helper()
	got := m.ok("FETCH 1 (BINARY.SIZE[" + sec + "])")
	i := strings.Index(got, "BINARY.SIZE["+sec+"] ")
	if i < 0 {
		t.Fatalf("BINARY.SIZE: %.200q", got)
	}
	size, err := strconv.Atoi(strings.TrimRight(strings.Fields(got[i+len("BINARY.SIZE["+sec+"] "):])[0], ")"))
	if err != nil {
		t.Fatalf("BINARY.SIZE: %v in %.200q", err, got)
	}
	bin := m.ok("FETCH 1 (BINARY.PEEK[" + sec + "])")
	lit := literalLen.FindStringSubmatch(bin)
	if lit == nil || lit[1] != strconv.Itoa(size) {
		t.Errorf("BINARY.SIZE[%s] is %d but BINARY's literal is %v", sec, size, lit)
	}
}

// bigAttachment is a message with a short text part and a base64 part of n octets
// (deterministic, incompressible-looking bytes); it returns the message and the part's
// content and its base64 lines as sent.
func bigAttachment(n int) (msg string, content []byte, b64 string) {
	content = make([]byte, n)
	x := uint32(2463534242)
	for i := range content {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		content[i] = byte(x)
	}
	b64 = strings.ReplaceAll(base64Lines(content), "\n", "\r\n")
	msg = "From: mallory@example.org\r\nTo: alice@example.test\r\nSubject: big attachment\r\n" +
		"Message-ID: <big@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"z\"\r\n\r\n" +
		"--z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--z\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64 + "--z--\r\n"
	return msg, content, strings.TrimSuffix(b64, "\r\n")
}

// TestAbuseLargeSectionMemory: three clients at once FETCH BODY[2] and BINARY[2] of a
// 30 MiB attachment (40 MiB of base64). The sections are streamed from the file, not
// held in memory: the daemon's peak RSS grows by far less than one copy of the part.
func TestAbuseLargeSectionMemory(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	rxSetup(t, s, "alice")
	msg, content, b64 := bigAttachment(30 << 20)
	strangerSends(t, s, msg)
	waitSubjects(t, rxUserDir(s, "alice@example.test"), "big attachment")
	m := dialIMAPS(t, s)
	m.ok("LOGIN alice@example.test " + imapPassword)
	m.ok("SELECT INBOX")
	m.ok("FETCH 1 (ENVELOPE BODYSTRUCTURE)")
	base := memPeakKiB(t, s)
	sum := sha256.Sum256(content)
	var wg sync.WaitGroup
	for i := range 3 {
		m := m
		if i > 0 {
			m = dialIMAPS(t, s)
			m.ok("LOGIN alice@example.test " + imapPassword)
			m.ok("SELECT INBOX")
		}
		wg.Go(func() {
			got, status := m.do("FETCH 1 (BODY.PEEK[2] BINARY.PEEK[2] BINARY.SIZE[2])")
			if !strings.HasPrefix(status, "OK") {
				t.Errorf("client %d: %s", i, status)
				return
			}
			if !strings.Contains(got, b64) {
				t.Errorf("client %d: BODY[2] (answer %d bytes) is not the base64 sent", i, len(got))
			}
			j := strings.Index(got, "BINARY[2] ~{")
			k := strings.Index(got[max(j, 0):], "}\r\n")
			if j < 0 || k < 0 || len(got) < j+k+3+len(content) ||
				sha256.Sum256([]byte(got[j+k+3:j+k+3+len(content)])) != sum {
				t.Errorf("client %d: BINARY[2] is not the attachment", i)
			}
			if !strings.Contains(got, fmt.Sprintf("BINARY.SIZE[2] %d", len(content))) {
				t.Errorf("client %d: no BINARY.SIZE[2] %d", i, len(content))
			}
		})
	}
	wg.Wait()
	if !s.Running() {
		t.Fatal("the daemon died")
	}
	grew := memPeakKiB(t, s) - base
	t.Logf("3 clients x (BODY[2] + BINARY[2]) of a 30 MiB part: peak RSS %d MiB, %d MiB over the peak before (%d MiB)", (base+grew)>>10, grew>>10, base>>10)
	if grew > 32<<10 {
		t.Errorf("peak RSS grew by %d MiB, want < 32 MiB (the sections were held in memory)", grew>>10)
	}
}
