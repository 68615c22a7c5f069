package sieve

import (
	"fmt"
	"net/url"
	"strings"
)

// enotify (RFC 5435) with the mailto method (RFC 5436). notify records a
// Notify action; whether it is sent is decided after the run, like
// vacation: never for a message that is itself auto-submitted
// (RFC 5436 section 2.7), at most maxNotifyRecipients recipients, one
// notification per method URI. Header values taken from the script or
// the URI are sanitized (no CR, LF or NUL) before they reach the action.

const (
	maxNotifyRecipients = 8
	maxNotifyHeaders    = 16
)

var notifyTags = map[string]tagSpec{
	"from":       {param: pString},
	"importance": {param: pString},
	"options":    {param: pStringList},
	"message":    {param: pString},
}

type notifyCmd struct {
	method     value
	from       *value
	importance value
	message    *value
	options    []value
}

func buildNotify(c *compiler, pa *parsedArgs) (cmd, *CompileError) {
	if err := pa.positional(pString); err != nil {
		return nil, err
	}
	m, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	if m.isConst() {
		if _, perr := parseMailto(m.lit); perr != nil {
			return nil, errAt(pa.pos[0].pos, ClassArgument, "notify: %v", perr)
		}
	}
	x := notifyCmd{method: m, importance: constValue("2")}
	if a, ok := pa.tags["importance"]; ok {
		v, err := c.one(a)
		if err != nil {
			return nil, err
		}
		if v.isConst() && v.lit != "1" && v.lit != "2" && v.lit != "3" {
			return nil, errAt(a.pos, ClassArgument, "notify: :importance must be \"1\", \"2\" or \"3\"")
		}
		x.importance = v
	}
	for tag, dst := range map[string]**value{"from": &x.from, "message": &x.message} {
		if a, ok := pa.tags[tag]; ok {
			v, err := c.one(a)
			if err != nil {
				return nil, err
			}
			*dst = &v
		}
	}
	if a, ok := pa.tags["options"]; ok {
		if x.options, err = c.strs(a); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Notify is a notification (RFC 5435) to send by mail (RFC 5436). The
// delivery agent sends it through the queue, like a vacation reply,
// with Auto-Submitted: auto-notified.
type Notify struct {
	Method     string   // the mailto: URI as the script gave it
	From       string   // :from, "" for the user's address
	Importance int      // 1 high, 2 normal, 3 low
	Subject    string   // the URI's subject, else :message; "" for the default
	Body       string   // the URI's body
	To         []string // the URI's recipients (to and cc), at most 8
	Cc         []string
}

func (Notify) action() {}

func (x notifyCmd) exec(st *runState) error {
	uri := st.expand(x.method)
	mt, err := parseMailto(uri)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	imp := st.expand(x.importance)
	n := Notify{Method: uri, Importance: 2, Subject: mt.subject, Body: mt.body, To: mt.to, Cc: mt.cc}
	switch imp {
	case "1":
		n.Importance = 1
	case "3":
		n.Importance = 3
	}
	if x.from != nil {
		n.From = sanitizeHeaderValue(st.expand(*x.from))
	}
	if n.Subject == "" && x.message != nil {
		n.Subject = sanitizeHeaderValue(st.expand(*x.message))
	}
	for _, a := range st.notifies {
		if a.Method == n.Method {
			return nil // one notification per method URI, the first wins
		}
	}
	if len(st.actions)+len(st.notifies) >= st.opts.MaxActions {
		return fmt.Errorf("too many actions (limit %d)", st.opts.MaxActions)
	}
	st.notifies = append(st.notifies, n)
	st.notifyAt = append(st.notifyAt, st.at)
	return nil
}

func validFieldBody(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= 0x80 || c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// sanitizeHeaderValue removes what could end a header field or start a
// new one: CR, LF (folded into spaces) and NUL.
func sanitizeHeaderValue(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
	return s
}

type mailtoURI struct {
	to, cc        []string
	subject, body string
}

// parseMailto parses a mailto: URI (RFC 6068) as far as notifications need.
func parseMailto(uri string) (mailtoURI, error) {
	var m mailtoURI
	if len(uri) < 7 || !strings.EqualFold(uri[:7], "mailto:") {
		return m, fmt.Errorf("unsupported notification method %s", quoteJSON(uri))
	}
	rest := uri[7:]
	addrs, query, _ := strings.Cut(rest, "?")
	add := func(list *[]string, raw string) error {
		for _, a := range strings.Split(raw, ",") {
			a, err := url.PathUnescape(strings.TrimSpace(a))
			if err != nil {
				return fmt.Errorf("invalid mailto URI %s", quoteJSON(uri))
			}
			if a == "" {
				continue
			}
			addr, ok := validRedirectAddress(a)
			if !ok {
				return fmt.Errorf("invalid recipient %s in mailto URI", quoteJSON(a))
			}
			if len(m.to)+len(m.cc) >= maxNotifyRecipients {
				return fmt.Errorf("too many recipients in mailto URI (limit %d)", maxNotifyRecipients)
			}
			*list = append(*list, addr)
		}
		return nil
	}
	if err := add(&m.to, addrs); err != nil {
		return m, err
	}
	if query != "" {
		fields := strings.Split(query, "&")
		if len(fields) > maxNotifyHeaders {
			return m, fmt.Errorf("too many headers in mailto URI (limit %d)", maxNotifyHeaders)
		}
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			v, err := url.QueryUnescape(strings.ReplaceAll(v, "+", "%2B"))
			if err != nil {
				return m, fmt.Errorf("invalid mailto URI %s", quoteJSON(uri))
			}
			lk := strings.ToLower(k)
			if lk != "body" && !validFieldBody(v) {
				// Pigeonhole refuses 8-bit and control characters in a
				// header of the URI ("invalid header field body").
				return m, fmt.Errorf("mailto URI: invalid header field body in %s", quoteJSON(k))
			}
			switch lk {
			case "to":
				err = add(&m.to, v)
			case "cc":
				err = add(&m.cc, v)
			case "subject":
				m.subject = sanitizeHeaderValue(v)
			case "body":
				m.body = v
			}
			if err != nil {
				return m, err
			}
		}
	}
	if len(m.to)+len(m.cc) == 0 {
		return m, fmt.Errorf("mailto URI %s has no recipient", quoteJSON(uri))
	}
	return m, nil
}

// decideNotifies drops every notification when the message is itself
// auto-submitted (RFC 5436 section 2.7), as Pigeonhole does.
func (st *runState) decideNotifies() []Notify {
	for _, v := range st.msg.HeaderFields("auto-submitted") {
		if !strings.EqualFold(strings.TrimSpace(v), "no") {
			return nil
		}
	}
	return st.notifies
}

// valid_notify_method (RFC 5435 section 5).
type validNotifyTest struct{ uris []value }

func buildValidNotify(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList); err != nil {
		return nil, err
	}
	vs, err := c.strs(pa.pos[0])
	if err != nil {
		return nil, err
	}
	return validNotifyTest{vs}, nil
}

func (x validNotifyTest) eval(st *runState) (bool, error) {
	for _, u := range st.expandAll(x.uris) {
		if _, err := parseMailto(u); err != nil {
			return false, nil
		}
	}
	return true, nil
}

// notify_method_capability (RFC 5435 section 6): mailto can only say
// "maybe" about "online".
type notifyCapTest struct {
	uri, capability value
	m               *matcher
}

func buildNotifyCap(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pString, pString, pStringList); err != nil {
		return nil, err
	}
	u, err := c.one(pa.pos[0])
	if err != nil {
		return nil, err
	}
	cp, err := c.one(pa.pos[1])
	if err != nil {
		return nil, err
	}
	m, err := c.matcher(pa, pa.pos[2])
	if err != nil {
		return nil, err
	}
	return &notifyCapTest{uri: u, capability: cp, m: m}, nil
}

func (x *notifyCapTest) eval(st *runState) (bool, error) {
	if _, err := parseMailto(st.expand(x.uri)); err != nil {
		return false, nil
	}
	if !strings.EqualFold(st.expand(x.capability), "online") {
		return false, nil
	}
	return x.m.test(st, []string{"maybe"})
}

// encodeURL is the :encodeurl set modifier (RFC 5435 section 4.1).
func encodeURL(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
