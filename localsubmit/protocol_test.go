package localsubmit

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubmitNotRunning(t *testing.T) {
	t.Parallel()
	_, err := Submit(context.Background(), filepath.Join(t.TempDir(), "none.sock"), &Request{}, nil)
	if err == nil || !strings.Contains(err.Error(), ErrNotRunning.Error()) {
		t.Fatalf("err %v", err)
	}
	// A stale socket file nobody listens on is "not running" too.
	dir, _ := os.MkdirTemp("", "ls")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Submit(context.Background(), path, &Request{}, nil); err == nil || !strings.Contains(err.Error(), ErrNotRunning.Error()) {
		t.Fatalf("stale socket: %v", err)
	}
}

func TestCRLFWriter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a\nb\n":     "a\r\nb\r\n",
		"a\r\nb":     "a\r\nb\r\n",
		"":           "",
		"x\r\n\ny\n": "x\r\n\r\ny\r\n",
		// A bare CR is a line end too: "<CR>.<CR><LF>" must not reach the smart host.
		"a\r.\r\nb\n": "a\r\n.\r\nb\r\n",
		"end\r":       "end\r\n",
	} {
		var b bytes.Buffer
		w := &crlfWriter{w: bufio.NewWriter(&b)}
		w.Write([]byte(in))
		w.finish()
		if b.String() != want || w.n != int64(len(want)) {
			t.Errorf("%q -> %q (n=%d), want %q", in, b.String(), w.n, want)
		}
	}
}

// FuzzReadRequest: the request line of the submission socket (any local user
// can write it) never panics, never reads past its bound, and what it accepts has the
// current version, a size that is not negative, a known op, and no message for a list or
// verify.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"rcpts":["root"],"size":5}` + "\nhello",
		`{"v":1,"sender":"","full_name":"Cron","extract_recipients":true,"size":0}` + "\n",
		`{"v":2,"size":1}` + "\n",
		`{"v":1,"size":-1}` + "\n",
		`{"v":1,"bogus":true}` + "\n",
		`{"v":1,"op":"list"}` + "\n",
		`{"v":1,"op":"verify","rcpts":["a","b"]}` + "\n",
		`{"v":1,"op":"list","size":3}` + "\nabc",
		`{"v":1,"op":"delete"}` + "\n",
		"not json\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		req, err := readRequest(bufio.NewReaderSize(r, 4096))
		if err != nil {
			return
		}
		if req.V != Version || req.Size < 0 {
			t.Fatalf("accepted %+v", req)
		}
		if req.Op != OpSubmit && (req.Op != OpList && req.Op != OpVerify || req.Size != 0) {
			t.Fatalf("accepted op %q with %d bytes", req.Op, req.Size)
		}
		if int64(len(data))-int64(r.Len()) > MaxRequestLine+4096 {
			t.Fatalf("read %d bytes for one line", int64(len(data))-int64(r.Len()))
		}
	})
}
