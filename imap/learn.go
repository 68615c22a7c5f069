package imap

import (
	"context"
	"strings"
)

// SpamLearner hears about messages the user classified by moving them (the
// spamlearn package is one). Learn must only record the request durably and
// return: it runs on the IMAP command's path.
type SpamLearner interface {
	Learn(ctx context.Context, user string, spam bool, paths []string) error
}

type learnRole int

const (
	roleOther learnRole = iota
	roleJunk
	roleTrash
)

// learnRole is what a mailbox is to learning: \Junk or \Trash when it or a
// mailbox above it has that attribute (so Junk/Phishing is Junk too).
func (ss *session) learnRole(ctx context.Context, name string) learnRole {
	for n := name; ; {
		if mb, err := ss.srv.opts.Store.GetMailbox(ctx, ss.user, n); err == nil {
			switch mb.SpecialUse {
			case `\Junk`:
				return roleJunk
			case `\Trash`:
				return roleTrash
			}
		}
		i := strings.LastIndexByte(n, '/')
		if i < 0 {
			return roleOther
		}
		n = n[:i]
	}
}

// learnCopied tells the learner about messages copied or moved from src
// into dst (paths are the new copies): into Junk is spam, out of Junk into
// anything but Trash is ham, the rest teaches nothing.
func (ss *session) learnCopied(ctx context.Context, src, dst string, paths []string) {
	l := ss.srv.opts.SpamLearner
	if l == nil || len(paths) == 0 {
		return
	}
	from, to := ss.learnRole(ctx, src), ss.learnRole(ctx, dst)
	switch {
	case to == roleJunk && from != roleJunk:
		ss.learn(ctx, true, paths)
	case from == roleJunk && to == roleOther:
		ss.learn(ctx, false, paths)
	}
}

// learnAppended: a message appended to Junk is spam.
func (ss *session) learnAppended(ctx context.Context, dst, path string) {
	if ss.srv.opts.SpamLearner != nil && ss.learnRole(ctx, dst) == roleJunk {
		ss.learn(ctx, true, []string{path})
	}
}

func (ss *session) learn(ctx context.Context, spam bool, paths []string) {
	// The copy is done and answered for; a request that cannot be spooled is
	// logged, never turned into a failed COPY.
	if err := ss.srv.opts.SpamLearner.Learn(ctx, ss.user, spam, paths); err != nil {
		ss.log.Error("imap: spam learning: the request was not recorded", "user", ss.user, "spam", spam, "messages", len(paths), "err", err)
	}
}
