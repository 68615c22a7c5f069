package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"v":1,"cmd":"status"}`))
	f.Add([]byte(`{"v":1,"cmd":"user.add","args":{"address":"a@example.org","password":"pw","quota_bytes":1}}`))
	f.Add([]byte(`{"v":2,"cmd":"x","args":null}`))
	f.Add([]byte(`{"v":1,"cmd":"alias.add","args":{"source":"@x.org","targets":["a@b.c"]}} trailing`))
	f.Add([]byte(`{"cmd":""}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeRequest(line)
		if err != nil {
			return
		}
		if req.Cmd == "" {
			t.Fatalf("accepted a request without cmd: %q", line)
		}
		// What we accept must survive a round trip unchanged.
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", req, err)
		}
		req2, err := DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", again, err)
		}
		if req.V != req2.V || req.Cmd != req2.Cmd {
			t.Fatalf("round trip changed %+v into %+v", req, req2)
		}
		// Every handler must cope with whatever args came in, without panicking.
		var a1, a2 any
		if len(req.Args) > 0 && json.Unmarshal(req.Args, &a1) == nil && json.Unmarshal(req2.Args, &a2) == nil &&
			!reflect.DeepEqual(a1, a2) {
			t.Fatalf("args changed: %s -> %s", req.Args, req2.Args)
		}
		if h, ok := commandTable()[req.Cmd]; ok {
			_, _ = h(t.Context(), &fakeBackend{}, req.Args)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("abc\ndef\n"), 4)
	f.Add([]byte("no newline"), 100)
	f.Add([]byte("\r\n\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		if limit <= 0 || limit > 1<<16 {
			return
		}
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for {
			line, err := readLine(r, limit)
			if err != nil {
				return
			}
			if len(line) >= limit+1 {
				t.Fatalf("line of %d bytes passed limit %d", len(line), limit)
			}
			if bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("line contains a newline: %q", line)
			}
		}
	})
}
