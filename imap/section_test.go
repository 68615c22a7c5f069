package imap

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// sectionMessages are well-formed messages on which our sections must give what the
// fork's ExtractBodySection gives (the differential check of section.go).
var sectionMessages = map[string]string{
	"plain": "From: a@example.org\r\nSubject: hi\r\nX-Folded: one\r\n two\r\n\r\nline 1\r\nline 2\r\n",
	"lf":    "From: a@example.org\nSubject: lf\n\nbody\nmore\n",
	"mixed": "From: a@example.org\r\nSubject: mixed\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n" +
		"preamble\r\n--o\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n" +
		"--a\r\nContent-Type: text/plain\r\n\r\nplain text\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--a--\r\n" +
		"--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.org\r\nSubject: inner\r\n" +
		"Content-Type: multipart/mixed; boundary=\"i\"\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\ninner one\r\n" +
		"--i\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29y\r\nbGQ=\r\n--i--\r\n" +
		"--o\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nend\r\n--o--\r\nepilogue\r\n",
}

// sectionSource writes msg to a file and opens it as a msgSource.
func sectionSource(t *testing.T, msg string) *msgSource {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m")
	if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s, err := newMsgSource(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// content reads all of d.
func (d *sectionData) content(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := d.send(nopCloser{&b}, 0, d.n); err != nil {
		t.Fatal(err)
	}
	if int64(b.Len()) != d.n {
		t.Fatalf("sent %d octets, measured %d", b.Len(), d.n)
	}
	return b.Bytes()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func TestBodySectionsMatchFork(t *testing.T) {
	sections := map[string][]*goimap.FetchItemBodySection{
		"plain": {{Specifier: goimap.PartSpecifierHeader}, {Specifier: goimap.PartSpecifierText}, {Part: []int{1}},
			{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"subject", "X-FOLDED"}},
			{Specifier: goimap.PartSpecifierHeader, HeaderFieldsNot: []string{"Subject"}}},
		"lf": {{Specifier: goimap.PartSpecifierHeader}, {Specifier: goimap.PartSpecifierText}, {Part: []int{1}}},
		"mixed": {{Specifier: goimap.PartSpecifierText}, {Part: []int{1}}, {Part: []int{1, 1}}, {Part: []int{1, 2}},
			{Part: []int{1, 2}, Specifier: goimap.PartSpecifierMIME}, {Part: []int{2}}, {Part: []int{2}, Specifier: goimap.PartSpecifierHeader},
			{Part: []int{2}, Specifier: goimap.PartSpecifierText}, {Part: []int{2, 1}}, {Part: []int{2, 2}},
			{Part: []int{2, 2}, Specifier: goimap.PartSpecifierMIME}, {Part: []int{3}}, {Part: []int{3}, Specifier: goimap.PartSpecifierMIME},
			{Part: []int{2}, Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"Subject"}},
			{Part: []int{1, 1}, Partial: &goimap.SectionPartial{Offset: 2, Size: 5}}},
	}
	for name, items := range sections {
		msg := sectionMessages[name]
		s := sectionSource(t, msg)
		for _, item := range items {
			d, err := s.bodySection(item)
			if err != nil {
				t.Fatalf("%s %+v: %v", name, item, err)
			}
			off, n := d.window(item.Partial)
			got := d.content(t)[off : off+n]
			want := imapserver.ExtractBodySection(strings.NewReader(strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", "\r\n")), item)
			if !bytes.Equal(got, want) {
				t.Errorf("%s %v %s %v: got %q, the fork %q", name, item.Part, item.Specifier, item.HeaderFields, got, want)
			}
		}
	}
}

func TestBinarySections(t *testing.T) {
	s := sectionSource(t, sectionMessages["mixed"])
	for _, tc := range []struct {
		part []int
		want string
	}{
		{[]int{2, 2}, "hello world"},
		{[]int{3}, "caf\xc3\xa9 end"},
		{[]int{1, 1}, "plain text"},
		{[]int{9}, ""},
		{[]int{1, 1, 1}, ""},
	} {
		d, err := s.binarySection(tc.part)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(d.content(t)); got != tc.want {
			t.Errorf("BINARY[%v] = %q, want %q", tc.part, got, tc.want)
		}
	}
	u := sectionSource(t, "Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n")
	if _, err := u.binarySection([]int{1}); err != errUnknownCTE {
		t.Errorf("BINARY of an x-uuencode part: %v, want UNKNOWN-CTE", err)
	}
}

// TestSectionsPastTheDepthLimit: a 150-level message/rfc822 chain is parsed 100 levels
// deep; a section past that names no part and one past 101 numbers is refused.
func TestSectionsPastTheDepthLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: 0\r\n")
	for i := 1; i <= 150; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\nSubject: " + strings.Repeat("x", i%7) + "\r\n")
	}
	b.WriteString("\r\nbottom\r\n")
	s := sectionSource(t, b.String())
	ones := func(n int) []int {
		p := make([]int, n)
		for i := range p {
			p[i] = 1
		}
		return p
	}
	if d, err := s.bodySection(&goimap.FetchItemBodySection{Part: ones(100)}); err != nil || !strings.Contains(string(d.content(t)), "bottom") {
		t.Errorf("BODY[1^100]: %v", err)
	}
	if d, err := s.bodySection(&goimap.FetchItemBodySection{Part: ones(101)}); err != nil || d.n != 0 {
		t.Errorf("BODY[1^101]: %d octets, %v; want empty", d.n, err)
	}
	if _, err := s.bodySection(&goimap.FetchItemBodySection{Part: ones(102)}); err != errSectionDepth {
		t.Errorf("BODY[1^102]: %v, want the depth error", err)
	}
}

func TestHeaderFilterLongAndUnterminated(t *testing.T) {
	long := "X-Long: " + strings.Repeat("v", 10000) + "\r\n"
	s := sectionSource(t, "Subject: s\r\n"+long+"To: t@example.org")
	d, err := s.bodySection(&goimap.FetchItemBodySection{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"X-Long", "To"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(d.content(t)), long+"To: t@example.org\r\n\r\n"; got != want {
		t.Errorf("HEADER.FIELDS = %.80q..., want %.80q...", got, want)
	}
}

// FuzzSections: any message and section numbers give a section whose octets sent are
// the octets measured, or an error; nothing panics.
func FuzzSections(f *testing.F) {
	for _, m := range sectionMessages {
		f.Add(m, []byte{2, 1})
	}
	f.Add("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nx", []byte{2, 1, 1})
	f.Fuzz(func(t *testing.T, msg string, nums []byte) {
		if len(nums) > 200 {
			nums = nums[:200]
		}
		part := make([]int, len(nums))
		for i, n := range nums {
			part[i] = int(n % 5)
		}
		s := sectionSource(t, msg)
		for _, spec := range []goimap.PartSpecifier{goimap.PartSpecifierNone, goimap.PartSpecifierHeader, goimap.PartSpecifierMIME, goimap.PartSpecifierText} {
			if spec == goimap.PartSpecifierMIME && len(part) == 0 {
				continue
			}
			d, err := s.bodySection(&goimap.FetchItemBodySection{Part: part, Specifier: spec, HeaderFields: []string{"subject"}})
			if err == nil && len(part)+len(msg) > 0 {
				d.content(t)
			}
		}
		if d, err := s.binarySection(part); err == nil {
			d.content(t)
		}
	})
}

// BenchmarkSection compares section.go with the fork's ExtractBodySection (what FETCH
// used before) on the sections a mail client asks for most.
func BenchmarkSection(b *testing.B) {
	attach := strings.Repeat(strings.Repeat("QUJD", 19)+"\r\n", 4000) // ~300 KiB of base64
	msg := "From: a@example.org\r\nTo: b@example.org\r\nSubject: report\r\nDate: Mon, 2 Jun 2025 10:00:00 +0000\r\n" +
		strings.Repeat("Received: from relay.example.org by mx.example.org; Mon, 2 Jun 2025 10:00:00 +0000\r\n", 8) +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\n" +
		strings.Repeat("some text of the message\r\n", 200) + "--o\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		attach + "--o--\r\n"
	p := filepath.Join(b.TempDir(), "m")
	if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		item *goimap.FetchItemBodySection
	}{
		{"header-fields", &goimap.FetchItemBodySection{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"From", "To", "Subject", "Date"}}},
		{"text-part", &goimap.FetchItemBodySection{Part: []int{1}}},
		{"attachment", &goimap.FetchItemBodySection{Part: []int{2}}},
	} {
		b.Run(tc.name+"/ours", func(b *testing.B) {
			benchFile(b, p, func(f *os.File) {
				s, err := newMsgSource(f)
				if err != nil {
					b.Fatal(err)
				}
				d, err := s.bodySection(tc.item)
				if err != nil {
					b.Fatal(err)
				}
				if err := d.send(nopCloser{io.Discard}, 0, d.n); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(tc.name+"/fork", func(b *testing.B) {
			benchFile(b, p, func(f *os.File) {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				out := imapserver.ExtractBodySection(&crlfReader{r: bufio.NewReaderSize(f, 32<<10)}, tc.item)
				_, _ = io.Discard.Write(replaceNUL(out))
			})
		})
	}
}

// benchFile runs op on the open file at path b.N times.
func benchFile(b *testing.B, path string, op func(*os.File)) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ReportAllocs()
	for b.Loop() {
		op(f)
	}
}
