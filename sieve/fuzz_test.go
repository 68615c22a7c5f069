package sieve

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzCompile: any input compiles or fails with a *CompileError, never
// panics, and is bounded in time.
func FuzzCompile(f *testing.F) {
	scripts, _ := filepath.Glob("testdata/diff/*.sieve")
	for _, sp := range scripts {
		b, _ := os.ReadFile(sp)
		f.Add(b)
	}
	f.Add([]byte("require \"vacation\"; vacation text:\n.\n;"))
	f.Add([]byte(`if header :matches "a" "${hex:4}" {}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		start := time.Now()
		s, err := Compile("fuzz", src, CompileOptions{Loader: mapLoader{"p:a": "keep;"}})
		if err != nil {
			if _, ok := err.(*CompileError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		res, err := s.Execute(context.Background(), NewRawMessage([]byte(testMsg)), Envelope{From: "a@b.c", To: "me@example.net"}, ExecOptions{Timeout: time.Second})
		if err == nil && res == nil {
			t.Fatal("nil result without error")
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("took %v", el)
		}
	})
}

// FuzzExecute runs fixed scripts over fuzzed messages.
func FuzzExecute(f *testing.F) {
	msgs, _ := filepath.Glob("testdata/diff/msgs/*.eml")
	for _, mp := range msgs {
		b, _ := os.ReadFile(mp)
		f.Add(b)
	}
	src, err := os.ReadFile("testdata/diff/29-homelab.sieve")
	if err != nil {
		f.Fatal(err)
	}
	extra := `require ["body","date","regex","variables","vacation","relational","index"];
if body :text :contains "x" { set "a" "b"; }
if date :value "ge" "date" "year" "2000" { set "b" "c"; }
if address :regex :all "from" "^(.+)@(.+)$" { set "c" "${1}"; }
if header :index 2 :last :matches "received" "*;*" { set "d" "${2}"; }
vacation "away";`
	s1, err := Compile("homelab", src, CompileOptions{})
	if err != nil {
		f.Fatal(err)
	}
	s2, err := Compile("extra", []byte(extra), CompileOptions{})
	if err != nil {
		f.Fatal(err)
	}
	mimeSrc := `require ["foreverypart","mime","extracttext","variables","editheader","spamtestplus","relational","comparator-i;ascii-numeric","enotify"];
foreverypart { if header :mime :anychild :param "filename" "content-disposition" "*.exe" { set "x" "1"; } extracttext :first 100 "t"; }
if spamtest :percent :value "ge" :comparator "i;ascii-numeric" "50" { addheader "X-Junk" "${t}"; deleteheader :index 1 "subject"; }
notify :message "${t}" "mailto:a@example.org";`
	s3, err := Compile("mime", []byte(mimeSrc), CompileOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, s := range []*Script{s1, s2, s3} {
			res, err := s.Execute(context.Background(), NewRawMessage(msg), Envelope{From: "a@b.c", To: "me+x@example.net", User: "me@example.net"}, ExecOptions{})
			if err == nil {
				_ = FormatOutcome(res)
			}
		}
	})
}
