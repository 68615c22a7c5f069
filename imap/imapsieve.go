package imap

import (
	"slices"

	"github.com/postern/postern/store"
)

// The IMAP events of RFC 6785 (imapsieve): a message put into a mailbox by
// APPEND or COPY/MOVE, or a message whose flags a STORE changed. The server
// only reports them; the imapsieve package runs the scripts off the
// command's path and applies what they decide through ApplySieve
// (sieveapply.go).

// The causes of an event (RFC 6785 section 3.3's imap.cause).
const (
	CauseAppend = "APPEND"
	CauseCopy   = "COPY"
	CauseFlag   = "FLAG"
)

// SieveEvents hears of the events scripts may run on. Wants is a cheap check
// (no event is built when nothing runs for that mailbox and cause); Event
// must only record the event and return: both run on the command's path.
type SieveEvents interface {
	Wants(mailbox, cause string) bool
	Event(ev SieveEvent)
}

// SieveEvent is one message an IMAP command put into Mailbox or changed.
type SieveEvent struct {
	User    string
	Mailbox string // where the message is now
	Cause   string // CauseAppend, CauseCopy or CauseFlag
	From    string // CauseCopy: the mailbox it was copied or moved from
	UID     uint32
	// ChangedFlags are the flags a STORE added or removed (CauseFlag).
	ChangedFlags []string
}

// sieveAdded reports messages that APPEND or COPY/MOVE put into dst.
func (ss *session) sieveAdded(cause, from, dst string, added []store.AddedMessage) {
	ev := ss.srv.opts.SieveEvents
	if ev == nil || len(added) == 0 || !ev.Wants(dst, cause) {
		return
	}
	for _, a := range added {
		ev.Event(SieveEvent{User: ss.user, Mailbox: dst, Cause: cause, From: from, UID: a.UID})
	}
}

// sieveFlagged reports the messages whose flags a STORE changed.
func (ss *session) sieveFlagged(mailbox string, msgs []snapMsg, changes map[uint32]flagChange) {
	ev := ss.srv.opts.SieveEvents
	if ev == nil || len(changes) == 0 || !ev.Wants(mailbox, CauseFlag) {
		return
	}
	for _, m := range msgs {
		ch, ok := changes[m.UID]
		if !ok {
			continue
		}
		ev.Event(SieveEvent{User: ss.user, Mailbox: mailbox, Cause: CauseFlag, UID: m.UID,
			ChangedFlags: changedFlags(m.Flags, ch.flags)})
	}
}

// changedFlags is what differs between before and after, in either direction.
func changedFlags(before, after []string) []string {
	var out []string
	for _, f := range after {
		if !containsFold(before, f) {
			out = append(out, f)
		}
	}
	for _, f := range before {
		if !containsFold(after, f) && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
