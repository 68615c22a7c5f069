package sieve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FormatOutcome renders a run's outcome in the format of docs/sieve-outcome.md. v is a *Result, a *CompileError, or
// any other error (a runtime failure: the message is kept in INBOX).
func FormatOutcome(v any) string {
	var lines []string
	switch x := v.(type) {
	case *Result:
		lines = resultLines(x)
	case *CompileError:
		lines = []string{"error compile " + string(x.Class)}
	case error:
		var ce *CompileError
		if errors.As(x, &ce) {
			lines = []string{"error compile " + string(ce.Class)}
		} else {
			lines = []string{"error runtime", "keep"}
		}
	default:
		lines = []string{"error runtime", "keep"}
	}
	sort.Strings(lines)
	var b strings.Builder
	prev := ""
	for i, l := range lines {
		if i > 0 && l == prev {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
		prev = l
	}
	return b.String()
}

func resultLines(r *Result) []string {
	var lines []string
	type store struct {
		name  string
		flags []string
	}
	var stores []store
	index := map[string]int{}
	addStore := func(name string, flags []string, replace bool) {
		key := name
		if strings.EqualFold(name, "INBOX") {
			key = "INBOX"
		}
		if i, ok := index[key]; ok {
			if replace {
				stores[i].flags = flags
			}
			return
		}
		index[key] = len(stores)
		stores = append(stores, store{key, flags})
	}
	for _, a := range r.Actions {
		switch x := a.(type) {
		case Keep:
			addStore("INBOX", x.Flags, true)
		case FileInto:
			addStore(x.Mailbox, x.Flags, true)
		case Redirect:
			lines = append(lines, "redirect "+quoteJSON(x.Address))
		case Discard:
			lines = append(lines, "discard")
		case Reject:
			lines = append(lines, "reject "+quoteJSON(normalizeText(x.Reason)))
		case Vacation:
			days := int64((x.Period + 24*3600e9 - 1) / (24 * 3600e9))
			if days < 1 {
				days = 1
			}
			lines = append(lines, fmt.Sprintf("vacation to=%s from=%s subject=%s days=%d reason=%s",
				quoteJSON(x.To), quoteJSON(x.From), quoteJSON(x.Subject), days, quoteJSON(normalizeText(x.Reason))))
		}
	}
	if r.ImplicitKeep {
		// An explicit INBOX store's flags win over the implicit keep's.
		addStore("INBOX", r.ImplicitKeepFlags, false)
	}
	for _, s := range stores {
		l := "fileinto " + quoteJSON(s.name)
		if s.name == "INBOX" {
			l = "keep"
		}
		if f := formatFlags(s.flags); f != "" {
			l += " flags=" + f
		}
		lines = append(lines, l)
	}
	return lines
}

func formatFlags(flags []string) string {
	seen := map[string]bool{}
	var out []string
	for _, f := range flags {
		l := strings.ToLower(f)
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// normalizeText turns CRLF/CR into LF and drops trailing white space.
func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimRight(s, " \t\n")
}

// quoteJSON quotes s as JSON without HTML escaping.
func quoteJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
