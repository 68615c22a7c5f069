package imap

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapserver"
)

// The BODYSTRUCTURE computation, ours (mimeparse) against the go-imap fork's
// ExtractBodyStructure that it replaced, on a typical multipart message with a
// 64 KiB attachment: the cold-FETCH and summariser path must not get slower.
var structureBenchMsg = strings.Replace(multipartMessage, "AAAA\r\n", strings.Repeat(strings.Repeat("A", 76)+"\r\n", 64<<10/78), 1)

func BenchmarkStructureMimeparse(b *testing.B) {
	b.SetBytes(int64(len(structureBenchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parseStructure(strings.NewReader(structureBenchMsg)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStructureGoIMAP(b *testing.B) {
	b.SetBytes(int64(len(structureBenchMsg)))
	b.ReportAllocs()
	for b.Loop() {
		r := newFileReader(strings.NewReader(structureBenchMsg))
		_ = imapserver.ExtractBodyStructure(r)
	}
}
