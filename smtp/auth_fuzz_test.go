package smtp

import (
	"bytes"
	"testing"
)

// FuzzLoginExchange drives the LOGIN server with arbitrary responses, with or
// without an initial response: it only ever asks "Username:" then "Password:",
// checks exactly the two values the client gave, exactly once, finishes within
// three steps, and refuses anything after that.
func FuzzLoginExchange(f *testing.F) {
	f.Add(false, []byte(""), []byte("alice@example.test"), []byte("pw"), []byte("extra"))
	f.Add(true, []byte("alice@example.test"), []byte("pw"), []byte(""), []byte("x"))
	f.Add(true, []byte(""), []byte("\x00"), []byte("*"), []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, hasIR bool, ir, r1, r2, r3 []byte) {
		var calls int
		var gotUser, gotPass string
		l := &loginServer{check: func(u, p string, ok bool) error {
			calls++
			gotUser, gotPass = u, p
			if !ok {
				t.Fatal("LOGIN responses are never malformed by themselves")
			}
			return nil
		}}
		var first []byte
		if hasIR {
			first = ir
			if first == nil {
				first = []byte{}
			}
		}
		inputs := [][]byte{first, r1, r2, r3}
		var fed [][]byte
		done := false
		for i, in := range inputs {
			ch, fin, err := l.Next(in)
			fed = append(fed, in)
			if done {
				if err == nil {
					t.Fatalf("step %d after done accepted", i)
				}
				break
			}
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if fin {
				done = true
				if ch != nil {
					t.Fatalf("final step sent a challenge %q", ch)
				}
				continue
			}
			if !bytes.Equal(ch, loginUsername) && !bytes.Equal(ch, loginPassword) {
				t.Fatalf("challenge %q", ch)
			}
		}
		if !done || calls != 1 {
			t.Fatalf("done=%v calls=%d after %d steps", done, calls, len(fed))
		}
		wantUser, wantPass := r1, r2
		if hasIR {
			wantUser, wantPass = first, r1
		}
		if gotUser != string(wantUser) || gotPass != string(wantPass) {
			t.Fatalf("checked %q/%q, want %q/%q", gotUser, gotPass, wantUser, wantPass)
		}
	})
}

// FuzzPlainResponse: splitPlain accepts exactly "authzid NUL authcid NUL
// passwd" with no further NUL and authzid empty or equal to authcid, and
// returns the two fields unchanged.
func FuzzPlainResponse(f *testing.F) {
	f.Add([]byte("\x00alice@example.test\x00pw"))
	f.Add([]byte("alice\x00alice\x00pw"))
	f.Add([]byte("bob\x00alice\x00pw"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("no nul"))
	f.Fuzz(func(t *testing.T, resp []byte) {
		user, pass, ok := splitPlain(resp)
		parts := bytes.Split(resp, []byte{0})
		want := len(parts) == 3 && (len(parts[0]) == 0 || bytes.Equal(parts[0], parts[1]))
		if ok != want {
			t.Fatalf("ok=%v for %q", ok, resp)
		}
		if ok && (user != string(parts[1]) || pass != string(parts[2])) {
			t.Fatalf("got %q/%q from %q", user, pass, resp)
		}
		if validCredential(user) && bytes.IndexByte([]byte(user), 0) >= 0 {
			t.Fatal("NUL in a valid credential")
		}
	})
}
