package sieve

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestCompileErrorClasses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src   string
		class ErrorClass
		line  int
	}{
		{"keep", ClassSyntax, 1},
		{"keep;\n}", ClassSyntax, 2},
		{`if true { keep; `, ClassSyntax, 1},
		{`"unterminated`, ClassSyntax, 1},
		{"keep; /* open", ClassSyntax, 1},
		{"require \"vacation\";\nvacation text:\nno end\n", ClassSyntax, 2},
		{"if true keep;", ClassSyntax, 1},
		{"keep { stop; }", ClassSyntax, 1},
		{"if anyof () { keep; }", ClassSyntax, 1},
		{"if not { keep; }", ClassSyntax, 1},
		{"else { keep; }", ClassSyntax, 1},
		{"if true {} \nelsif { }", ClassSyntax, 2},
		{`if "x" { keep; }`, ClassSyntax, 1},
		{"if size :over 10X { keep; }", ClassSyntax, 1},
		{`require "nosuch";`, ClassRequire, 1},
		{`require "FILEINTO";`, ClassRequire, 1},
		{"keep;\nrequire \"fileinto\";", ClassRequire, 2},
		{`fileinto "x";`, ClassUnknownCommand, 1},
		{`frobnicate;`, ClassUnknownCommand, 1},
		{`true;`, ClassUnknownCommand, 1},
		{`if envelope :is "to" "x" { keep; }`, ClassUnknownTest, 1},
		{`if keep { stop; }`, ClassUnknownTest, 1},
		{`redirect :copy "a@b.c";`, ClassUnknownTag, 1},
		{`require "fileinto"; fileinto :flags "x" "y";`, ClassUnknownTag, 1},
		{`if header :regex "a" "b" { keep; }`, ClassUnknownTag, 1},
		{`if address :detail "to" "b" { keep; }`, ClassUnknownTag, 1},
		{`if header :comparator "i;ascii-numeric" "x" "1" { keep; }`, ClassUnknownComparator, 1},
		{`if header :comparator "i;nope" "x" "1" { keep; }`, ClassUnknownComparator, 1},
		{`keep "x";`, ClassArgument, 1},
		{`redirect "not an address";`, ClassArgument, 1},
		{`require "regex"; if header :regex "s" "([a-" { keep; }`, ClassArgument, 1},
		{`require "relational"; if header :value "gx" "s" "x" { keep; }`, ClassArgument, 1},
		{`require "variables"; set "1abc" "x";`, ClassArgument, 1},
		{`require "envelope"; if envelope :is "body" "x" { keep; }`, ClassArgument, 1},
		{`if address :is "subject" "x" { keep; }`, ClassArgument, 1},
		{`if header :is :contains "s" "x" { keep; }`, ClassArgument, 1},
		{`if header :is :is "s" "x" { keep; }`, ClassArgument, 1},
		{`require "variables"; set :lower :upper "a" "b";`, ClassArgument, 1},
		{`require "vacation"; vacation :days "x" "r";`, ClassArgument, 1},
		{`require ["vacation","vacation-seconds"]; vacation :days 1 :seconds 5 "r";`, ClassArgument, 1},
		{`require "fileinto"; fileinto ["a","b"];`, ClassArgument, 1},
		{`require "include"; include "nonexistent";`, ClassInclude, 1},
		{`require "date"; if date :is "date" "fortnight" "x" { keep; }`, ClassArgument, 1},
		{`require ["index"]; if header :last "s" "x" { keep; }`, ClassArgument, 1},
	}
	for _, c := range cases {
		_, err := Compile("t", []byte(c.src), CompileOptions{})
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Errorf("%q: want %s error, got %v", c.src, c.class, err)
			continue
		}
		if ce.Class != c.class || ce.Line != c.line {
			t.Errorf("%q: got %s at line %d (%v), want %s at line %d", c.src, ce.Class, ce.Line, ce, c.class, c.line)
		}
		if got := FormatOutcome(err); got != "error compile "+string(c.class)+"\n" {
			t.Errorf("%q: outcome %q", c.src, got)
		}
	}
}

func TestCompileAcceptsValidScripts(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"",
		"# comment only\n",
		`require ["fileinto", "envelope", "encoded-character", "reject", "imap4flags", "variables", "vacation", "vacation-seconds", "subaddress", "relational", "comparator-i;ascii-numeric", "copy", "body", "regex", "mailbox", "include", "date", "index", "duplicate"];`,
		"require \"vacation\";\nvacation text:\nline one\n..dot\n.\n;",
		`if allof (true, not false, anyof (exists "from", size :under 1M)) { keep; } elsif false { discard; } else { stop; }`,
		`require ["variables", "include"]; global "x"; set "global.y" "1"; set "x" "${global.y}";`,
		`require "duplicate"; if duplicate :seconds 60 :handle "h" { discard; }`,
	} {
		if _, err := Compile("ok", []byte(src), CompileOptions{}); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

type mapLoader map[string]string

func (m mapLoader) LoadScript(_ context.Context, loc ScriptLocation, name string) ([]byte, error) {
	prefix := "p:"
	if loc == Global {
		prefix = "g:"
	}
	s, ok := m[prefix+name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(s), nil
}

func TestIncludeLimits(t *testing.T) {
	t.Parallel()
	loop := mapLoader{"p:a": `require "include"; include "b";`, "p:b": `require "include"; include "a";`}
	_, err := Compile("main", []byte(`require "include"; include "a";`), CompileOptions{Loader: loop})
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Class != ClassInclude {
		t.Fatalf("include loop: got %v", err)
	}
	big := strings.Repeat("if true { ", 40) + strings.Repeat("}", 40)
	if _, err := Compile("deep", []byte(big), CompileOptions{}); err == nil {
		t.Fatal("deep nesting accepted")
	}
	if _, err := Compile("huge", make([]byte, 2<<20), CompileOptions{}); err == nil {
		t.Fatal("oversized script accepted")
	}
}
