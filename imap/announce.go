package imap

import (
	"slices"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
)

// flagsWriter writes the untagged FLAGS and OK [PERMANENTFLAGS] responses between
// FETCH responses: imapserver's FetchWriter and UpdateWriter (our patched copy).
type flagsWriter interface {
	WriteMailboxFlags(flags []goimap.Flag) error
	WritePermanentFlags(flags []goimap.Flag) error
}

// announce records the keywords among flags as told to the client.
func (sel *selected) announce(flags []goimap.Flag) {
	if sel.announced == nil {
		sel.announced = map[string]bool{}
	}
	for _, f := range flags {
		if !strings.HasPrefix(string(f), `\`) {
			sel.announced[strings.ToLower(string(f))] = true
		}
	}
}

// announceKeywords makes sure the client knows every keyword in flags before a FETCH
// shows them: a keyword it was not told of in SELECT's FLAGS (set by this or another
// session since) is announced with new FLAGS and PERMANENTFLAGS responses first (RFC
// 3501 7.2.6: FLAGS lists the flags applicable to the mailbox).
func (ss *session) announceKeywords(w flagsWriter, sel *selected, flags []string) error {
	if !slices.ContainsFunc(flags, func(f string) bool {
		return !strings.HasPrefix(f, `\`) && !sel.announced[strings.ToLower(f)]
	}) {
		return nil
	}
	all := ss.mailboxFlags(sel.dir)
	for _, f := range flags {
		if !strings.HasPrefix(f, `\`) && !slices.ContainsFunc(all, func(x goimap.Flag) bool { return strings.EqualFold(string(x), f) }) {
			all = append(all, goimap.Flag(f))
		}
	}
	// Keywords are never taken back in one selection: a client may hold them.
	for k := range sel.announced {
		if !slices.ContainsFunc(all, func(x goimap.Flag) bool { return strings.EqualFold(string(x), k) }) {
			all = append(all, goimap.Flag(k))
		}
	}
	sel.announce(all)
	if err := w.WriteMailboxFlags(all); err != nil {
		return err
	}
	perm := []goimap.Flag{}
	if !sel.readOnly {
		perm = append(slices.Clone(all), goimap.FlagWildcard)
	}
	return w.WritePermanentFlags(perm)
}
