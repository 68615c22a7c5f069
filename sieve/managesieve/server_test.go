package managesieve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/sieve"
)

func TestGreetingBeforeTLS(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl, greet := ts.dial(t)
	for _, want := range []string{`"IMPLEMENTATION" "Postern"`, `"SASL" ""`, `"STARTTLS"`, `"VERSION" "1.0"`} {
		if !slices.Contains(greet.lines, want) {
			t.Errorf("greeting lacks %s:\n%s", want, greet)
		}
	}
	if !strings.HasPrefix(greet.final, "OK") {
		t.Fatalf("greeting ends with %q", greet.final)
	}
	sieveLine := ""
	for _, l := range greet.lines {
		if strings.HasPrefix(l, `"SIEVE" `) {
			sieveLine = l
		}
	}
	for _, ext := range []string{"fileinto", "vacation", "imap4flags", "include", "comparator-i;ascii-numeric"} {
		if !strings.Contains(sieveLine, " "+ext) && !strings.Contains(sieveLine, `"`+ext) {
			t.Errorf("SIEVE capability %q lacks %s", sieveLine, ext)
		}
	}
	// No password before TLS, and no script access before login.
	cl.want(`AUTHENTICATE "PLAIN" "`+plain("alice@example.com", "secret")+`"`, "NO (ENCRYPT-NEEDED)")
	cl.want("LISTSCRIPTS", "NO")
	cl.want(`PUTSCRIPT "x" {5+}`+"\r\nkeep;", "NO")
	cl.want("CAPABILITY", "OK")
	cl.want("NOOP", "OK")
	cl.want("LOGOUT", "OK")
	if _, err := cl.r.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after LOGOUT: %v", err)
	}
}

func TestStartTLSReissuesCapabilities(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl, _ := ts.dial(t)
	caps := cl.startTLS(ts.client)
	if !strings.HasPrefix(caps.final, "OK") || !slices.Contains(caps.lines, `"SASL" "PLAIN"`) || slices.Contains(caps.lines, `"STARTTLS"`) {
		t.Fatalf("capabilities after STARTTLS:\n%s", caps)
	}
	cl.want("STARTTLS", "NO")
	cl.want(`AUTHENTICATE "PLAIN" "`+plain("alice@example.com", "wrong")+`"`, "NO")
	cl.want(`AUTHENTICATE "LOGIN"`, "NO")
	// Authorizing as someone else is refused even with the right password.
	cl.want(`AUTHENTICATE "PLAIN" "`+base64Plain("bob@example.com", "alice@example.com", "secret")+`"`, "NO")
	cl.want(`AUTHENTICATE "PLAIN" "`+plain("alice@example.com", "secret")+`"`, "OK")
	r := cl.want("CAPABILITY", "OK")
	if !slices.Contains(r.lines, `"OWNER" "alice@example.com"`) {
		t.Fatalf("no OWNER after login:\n%s", r)
	}
	cl.want(`AUTHENTICATE "PLAIN" "`+plain("alice@example.com", "secret")+`"`, "NO")
	cl.want("UNAUTHENTICATE", "OK")
	cl.want("LISTSCRIPTS", "NO")
}

func base64Plain(authz, authc, pw string) string {
	return plainRaw(authz + "\x00" + authc + "\x00" + pw)
}

func TestAuthenticateContinuation(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl, _ := ts.dial(t)
	cl.startTLS(ts.client)
	cl.send("AUTHENTICATE \"PLAIN\"\r\n")
	if l, _ := cl.r.ReadString('\n'); l != "\"\"\r\n" {
		t.Fatalf("continuation = %q", l)
	}
	// The response as a synchronising literal.
	resp := plain("alice@example.com", "secret")
	cl.send(fmt.Sprintf("{%d}\r\n%s\r\n", len(resp), resp))
	if r := cl.read(); !strings.HasPrefix(r.final, "OK") {
		t.Fatalf("login via continuation: %s", r)
	}
	cl.want("UNAUTHENTICATE", "OK")
	cl.send("AUTHENTICATE \"PLAIN\"\r\n")
	_, _ = cl.r.ReadString('\n')
	if r := cl.cmd(`"*"`); !strings.HasPrefix(r.final, "NO") {
		t.Fatalf("cancelled login: %s", r)
	}
}

func TestThreeFailedLoginsEndTheSession(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl, _ := ts.dial(t)
	cl.startTLS(ts.client)
	bad := `AUTHENTICATE "PLAIN" "` + plain("alice@example.com", "nope") + `"`
	cl.want(bad, "NO")
	cl.want(bad, "NO")
	cl.want(bad, "BYE")
}

func TestScriptCommands(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl := ts.login(t)
	spam := "require \"fileinto\";\r\nif header :is \"X-Spam\" \"Yes\" { fileinto \"Junk\"; }\r\n"
	cl.want(`HAVESPACE "spam" 100`, "OK")
	cl.want(`PUTSCRIPT "spam" `+literal(spam), "OK")
	cl.want(`PUTSCRIPT {4+}`+"\r\nmain "+literal("keep;"), "OK")
	// A broken script is refused with its line.
	broken := "require \"fileinto\";\r\nfileinto \"Junk\";\r\nfrobnicate;\r\n"
	r := cl.want(`PUTSCRIPT "broken" `+literal(broken), "NO")
	if !strings.Contains(r.final, "line 3") {
		t.Fatalf("error without its line: %s", r.final)
	}
	r = cl.want(`CHECKSCRIPT `+literal("if true { frobnicate; }"), "NO")
	if !strings.Contains(r.final, "line 1") || !strings.Contains(r.final, "frobnicate") {
		t.Fatalf("CHECKSCRIPT error: %s", r.final)
	}
	cl.want(`CHECKSCRIPT "keep;"`, "OK")
	if _, err := ts.scripts.GetScript(context.Background(), "alice@example.com", "broken"); err == nil {
		t.Fatal("a broken script was stored")
	}
	cl.want(`SETACTIVE "spam"`, "OK")
	r = cl.want("LISTSCRIPTS", "OK")
	if want := []string{`"main"`, `"spam" ACTIVE`}; !slices.Equal(r.lines, want) {
		t.Fatalf("LISTSCRIPTS = %q, want %q", r.lines, want)
	}
	r = cl.want(`GETSCRIPT "spam"`, "OK")
	if len(r.lines) != 1 || r.lines[0] != spam {
		t.Fatalf("GETSCRIPT = %q", r.lines)
	}
	cl.want(`GETSCRIPT "nope"`, "NO (NONEXISTENT)")
	cl.want(`SETACTIVE "nope"`, "NO (NONEXISTENT)")
	cl.want(`DELETESCRIPT "spam"`, "NO (ACTIVE)")
	cl.want(`RENAMESCRIPT "spam" "main"`, "NO (ALREADYEXISTS)")
	cl.want(`RENAMESCRIPT "nope" "x"`, "NO (NONEXISTENT)")
	cl.want(`RENAMESCRIPT "spam" "junk"`, "OK")
	r = cl.want("LISTSCRIPTS", "OK")
	if want := []string{`"junk" ACTIVE`, `"main"`}; !slices.Equal(r.lines, want) {
		t.Fatalf("after rename LISTSCRIPTS = %q", r.lines)
	}
	cl.want(`SETACTIVE ""`, "OK")
	cl.want(`DELETESCRIPT "junk"`, "OK")
	cl.want(`DELETESCRIPT "junk"`, "NO (NONEXISTENT)")
	cl.want(`HAVESPACE "big" 99999999`, "NO (QUOTA/MAXSIZE)")
	cl.want(`PUTSCRIPT "bad\u0001name" "keep;"`, "NO")
	cl.want(`NOOP "t1"`, `OK (TAG "t1")`)
	cl.want("LOGOUT", "OK")
}

func TestPersonalIncludeResolvesFromUserScripts(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl := ts.login(t)
	inc := "require \"include\";\r\ninclude :personal \"lib\";\r\n"
	r := cl.want(`PUTSCRIPT "main" `+literal(inc), "NO")
	if !strings.Contains(r.final, "include") {
		t.Fatalf("missing include: %s", r.final)
	}
	cl.want(`PUTSCRIPT "lib" "keep;"`, "OK")
	cl.want(`PUTSCRIPT "main" `+literal(inc), "OK")
}

func TestMaxScripts(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(o *Options) { o.MaxScripts = 2 })
	cl := ts.login(t)
	cl.want(`PUTSCRIPT "a" "keep;"`, "OK")
	cl.want(`PUTSCRIPT "b" "keep;"`, "OK")
	cl.want(`PUTSCRIPT "c" "keep;"`, "NO (QUOTA/MAXSCRIPTS)")
	cl.want(`HAVESPACE "c" 5`, "NO (QUOTA/MAXSCRIPTS)")
	cl.want(`PUTSCRIPT "a" "discard;"`, "OK") // replacing needs no room
}

func TestBoundedInput(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(o *Options) { o.MaxScriptSize = 1000 })
	cl := ts.login(t)
	// An over-long literal is skipped and refused; the session goes on.
	cl.want(`PUTSCRIPT "big" `+literal(strings.Repeat("#", 5000)), "NO (QUOTA/MAXSIZE)")
	cl.want("NOOP", "OK")
	cl.want(`PUTSCRIPT "x" {9999999999+}`, "BYE")

	cl = ts.login(t)
	cl.want("NOOP "+strings.Repeat("x", maxLine+10), "BYE")

	cl = ts.login(t)
	for range maxBadCommands {
		cl.want("FROB", "NO")
	}
	if r := cl.read(); !strings.HasPrefix(r.final, "BYE") {
		t.Fatalf("after %d bad commands: %s", maxBadCommands, r)
	}

	cl = ts.login(t)
	cl.want(`NOOP "unterminated`, "NO")
	cl.want(`NOOP "a\qb"`, "NO")
	cl.want(`PUTSCRIPT "x"`, "NO")
	cl.want(`GETSCRIPT 12`, "NO")
	cl.want("NOOP", "OK")
}

func TestStartTLSInjectionRefused(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl, _ := ts.dial(t)
	cl.send("STARTTLS\r\nCAPABILITY\r\n")
	if r := cl.read(); !strings.HasPrefix(r.final, "BYE") {
		t.Fatalf("pipelined STARTTLS: %s", r)
	}
}

func TestShutdownSaysBye(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	cl := ts.login(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := cl.read(); !strings.HasPrefix(r.final, "BYE") {
		t.Fatalf("after Shutdown: %s", r)
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Fatal("listener still accepts after Shutdown")
	}
}

// Every advertised extension must be one the engine accepts in require.
func TestAdvertisedExtensionsCompile(t *testing.T) {
	t.Parallel()
	for _, ext := range DefaultExtensions() {
		if _, err := sieve.Compile("x", []byte(`require "`+ext+`";`), sieve.CompileOptions{}); err != nil {
			t.Errorf("advertised %s: %v", ext, err)
		}
	}
}

func TestCompileFailureIsTryLater(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(o *Options) {
		o.Compile = func(context.Context, string, string, []byte) error { return errors.New("disk on fire") }
	})
	cl := ts.login(t)
	cl.want(`CHECKSCRIPT "keep;"`, "NO (TRYLATER)")
}
