package sieve

import (
	"fmt"
	"strings"
	"time"
)

// vacation (RFC 5230, RFC 6131 vacation-seconds). The command only records
// its parameters; whether a reply is sent is decided after the script ran
// successfully, by the rules of RFC 5230 section 4 and RFC 3834 as
// Pigeonhole applies them.

var vacationTags = map[string]tagSpec{
	"days":      {group: "period", param: pNumber},
	"seconds":   {cap: "vacation-seconds", group: "period", param: pNumber},
	"subject":   {param: pString},
	"from":      {param: pString},
	"addresses": {param: pStringList},
	"mime":      {},
	"handle":    {param: pString},
}

type vacationCmd struct {
	period    time.Duration
	subject   *value
	from      *value
	addresses []value
	mime      bool
	handle    *value
	reason    value
}

type vacationAction struct {
	period    time.Duration
	subject   string
	hasSubj   bool
	from      string
	addresses []string
	mime      bool
	handle    string
	reason    string
}

func buildVacation(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString); err != nil {
		return nil, err
	}
	x := vacationCmd{period: 7 * 24 * time.Hour, mime: pa.has("mime")}
	if a, ok := pa.tags["days"]; ok {
		x.period = time.Duration(min(a.num, 1<<20)) * 24 * time.Hour
	}
	if a, ok := pa.tags["seconds"]; ok {
		x.period = time.Duration(min(a.num, 1<<40)) * time.Second
	}
	var err *CompileError
	opt := func(tag string) *value {
		a, ok := pa.tags[tag]
		if !ok || err != nil {
			return nil
		}
		v, e := c.one(a)
		if e != nil {
			err = e
			return nil
		}
		return &v
	}
	x.subject, x.from, x.handle = opt("subject"), opt("from"), opt("handle")
	if err != nil {
		return nil, err
	}
	if x.from != nil && x.from.isConst() {
		addr, ok := validRedirectAddress(x.from.lit)
		if !ok {
			return nil, errAt(pa.tags["from"].pos, ClassArgument, "vacation :from address %q is invalid", x.from.lit)
		}
		if check := c.cp.opts.VacationFrom; check != nil && strings.HasPrefix(c.u.key, "personal:") {
			if e := check(addr); e != nil {
				return nil, errAt(pa.tags["from"].pos, ClassArgument, "vacation :from %q: %v", x.from.lit, e)
			}
		}
	}
	if a, ok := pa.tags["addresses"]; ok {
		if x.addresses, err = c.strs(a); err != nil {
			return nil, err
		}
	}
	if x.reason, err = c.one(pa.pos[0]); err != nil {
		return nil, err
	}
	return x, nil
}

func (x vacationCmd) exec(st *runState) error {
	if st.vacation != nil {
		return fmt.Errorf("duplicate vacation action not allowed")
	}
	for _, a := range st.actions {
		if _, ok := a.(Reject); ok {
			return fmt.Errorf("vacation action conflicts with the reject action")
		}
	}
	v := &vacationAction{period: x.period, mime: x.mime, reason: st.expand(x.reason)}
	if x.subject != nil {
		v.subject, v.hasSubj = st.expand(*x.subject), true
	}
	if x.from != nil {
		v.from = st.expand(*x.from)
	}
	v.addresses = st.expandAll(x.addresses)
	if x.handle != nil {
		v.handle = st.expand(*x.handle)
	} else {
		// Pigeonhole's default handle: the reason and the explicit
		// subject/from/mime parameters.
		v.handle = v.reason
		if v.hasSubj {
			v.handle += v.subject
		} else {
			v.handle += "<default-subject>"
		}
		if v.from != "" {
			v.handle += v.from
		} else {
			v.handle += "<default-from>"
		}
		if v.mime {
			v.handle += "<MIME>"
		} else {
			v.handle += "<NO-MIME>"
		}
	}
	st.vacation, st.vacationAt = v, st.at
	return nil
}

// minVacationPeriod is Pigeonhole's sieve_vacation_min_period default.
const minVacationPeriod = 24 * time.Hour

// decide applies the sending rules and returns the reply, or nil.
func (v *vacationAction) decide(st *runState) (*Vacation, error) {
	for _, a := range st.actions {
		if _, ok := a.(Reject); ok {
			return nil, nil
		}
	}
	sender, ok := parsePath(st.env.From)
	if !ok || sender.local == "" {
		return nil, nil // RFC 5230 4.1: never reply to the null sender
	}
	if isSystemSender(sender.local) || hasListOrBulkHeaders(st) {
		return nil, nil
	}
	mine := v.myAddresses(st)
	for _, m := range mine {
		if sameAddress(m, sender) {
			return nil, nil // no reply to ourselves
		}
	}
	me, ok := directRecipient(st, mine)
	if !ok {
		return nil, nil
	}
	period := v.period
	if period < minVacationPeriod {
		period = minVacationPeriod
	}
	to := sender.all()
	if st.opts.Vacation != nil {
		done, err := st.opts.Vacation.Replied(st.ctx, v.handle, to, period)
		if err != nil {
			return nil, &RuntimeError{Script: st.frame.unit.name, Msg: "vacation log: " + err.Error()}
		}
		if done {
			return nil, nil
		}
	}
	out := &Vacation{To: to, Reason: v.reason, MIME: v.mime, Handle: v.handle, Period: period}
	if v.from != "" {
		if a, ok := validRedirectAddress(v.from); ok {
			out.From = a
		} else {
			out.From = v.from
		}
	} else {
		out.From = me.local + "@" + strings.ToLower(me.domain)
	}
	if v.hasSubj {
		out.Subject = v.subject
	} else {
		subj := st.decodedHeader("subject")
		if len(subj) > 0 {
			out.Subject = "Auto: " + subj[0]
		} else {
			out.Subject = "Automated reply"
		}
	}
	return out, nil
}

// isSystemSender recognises senders RFC 3834 section 2 and Pigeonhole
// never answer: MAILER-DAEMON, LISTSERV, majordomo, owner-* and *-request.
func isSystemSender(local string) bool {
	l := strings.ToLower(local)
	switch l {
	case "mailer-daemon", "listserv", "majordomo":
		return true
	}
	return strings.HasPrefix(l, "owner-") || strings.HasSuffix(l, "-request") || strings.HasSuffix(l, "-owner")
}

// hasListOrBulkHeaders: Auto-Submitted other than "no" (RFC 3834 section
// 5), Precedence bulk/junk/list, and any List-* header (RFC 2369, 2919).
func hasListOrBulkHeaders(st *runState) bool {
	for _, v := range st.msg.HeaderFields("auto-submitted") {
		if f := strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0])); f != "no" {
			return true
		}
	}
	for _, v := range st.msg.HeaderFields("precedence") {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "bulk", "junk", "list":
			return true
		}
	}
	for _, h := range []string{"list-id", "list-owner", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-archive"} {
		if len(st.msg.HeaderFields(h)) > 0 {
			return true
		}
	}
	return false
}

func (v *vacationAction) myAddresses(st *runState) []mailAddr {
	var out []mailAddr
	add := func(s string) {
		if a, ok := parsePath(s); ok && a.local != "" {
			out = append(out, a)
		}
	}
	add(st.env.To)
	add(st.env.User)
	for _, a := range v.addresses {
		add(a)
	}
	for _, a := range st.opts.UserAddresses {
		add(a)
	}
	return out
}

func sameAddress(a, b mailAddr) bool {
	return a.local == b.local && strings.EqualFold(a.domain, b.domain) ||
		strings.EqualFold(a.all(), b.all())
}

// directRecipient finds one of the user's addresses in the recipient
// headers (RFC 5230 section 4.5).
func directRecipient(st *runState, mine []mailAddr) (mailAddr, bool) {
	for _, h := range []string{"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc"} {
		for _, raw := range st.msg.HeaderFields(h) {
			for _, a := range parseAddressList(raw) {
				if a.invalid {
					continue
				}
				for _, m := range mine {
					if sameAddress(a, m) {
						return m, true
					}
				}
			}
		}
	}
	return mailAddr{}, false
}
