package localsubmit

import (
	"context"
	"fmt"
)

// sendmail -bv (OpVerify) says for each recipient how it would be delivered, sending
// nothing. The Verifier (the delivery agent's recipient resolution, through the
// composition root) answers; the caller's uid decides how much it may see: root, the
// daemon's own user and the members of its group (who may read the aliases on the admin
// socket anyway) get an alias's targets, any other local user only that the address is
// delivered here, so that -bv is no way to read where someone's alias forwards. A name
// of the machine (root, nut@HOSTNAME) is first rewritten as a submission would be
// (rewrite.go); where to is shown by the same rule.

// Verifier says how rcpt (qualified) would be delivered; full: the answer may name an
// alias's targets.
type Verifier interface {
	Verify(ctx context.Context, rcpt string, full bool) Verdict
}

// maxVerify bounds the addresses of one OpVerify, below max_recipients (1000 by
// default): each is a few lookups, and a user may ask submit_per_minute times a minute,
// so -bv is no way to make the daemon do tens of thousands of lookups a minute.
const maxVerify = 100

// verify answers OpVerify for uid.
func (ls *Server) verify(ctx context.Context, uid uint32, rcpts []string) Reply {
	if len(rcpts) == 0 {
		return Reply{Error: "no recipients to verify"}
	}
	if limit := min(ls.maxRcpts, maxVerify); len(rcpts) > limit {
		return Reply{Error: fmt.Sprintf("%d addresses are more than %d, the most one sendmail -bv verifies (and smtp.max_recipients)", len(rcpts), limit)}
	}
	full := ls.privileged(uid)
	var out Reply
	for _, r := range rcpts {
		out.Verified = append(out.Verified, ls.verifyOne(ctx, r, full))
	}
	ls.log.Info("sendmail -bv", "uid", uid, "rcpts", len(rcpts), "full", full)
	return out
}

// verifyOne places one recipient as submission would (the rewrite of the machine's
// names, rewrite.go) and asks the Verifier how the result is delivered.
func (ls *Server) verifyOne(ctx context.Context, rcpt string, full bool) Verdict {
	q, a, err := ls.rewrite.place(ctx, rcpt)
	switch {
	case q == "":
		return Verdict{Rcpt: rcpt, How: "undeliverable: " + err.Error()}
	case err != nil && isReply(err) && !isPermanent(err):
		return Verdict{Rcpt: q, How: "not deliverable now (a message would wait in pickup): " + err.Error(), Temporary: true}
	case err != nil:
		return Verdict{Rcpt: q, How: "undeliverable: " + err.Error()}
	case ls.verifier == nil:
		return Verdict{Rcpt: q, How: "cannot be verified: this daemon has no recipient resolution", Temporary: true}
	}
	v := ls.verifier.Verify(ctx, a, full)
	v.Rcpt = q
	switch {
	case a == q:
	case full:
		v.How = "rewritten to " + a + "; " + v.How
	default:
		// Where root's mail goes ([alerts] to) is the owner's, like an alias's targets.
		v.How = "rewritten (a name of this machine; to where is shown to root and group postern); " + v.How
	}
	return v
}
