package mimeparse

import (
	"mime"
	"strings"
)

// Field is one kept header field: its name as written and its value unfolded (CR and
// LF removed), without the leading white space, not decoded.
type Field struct {
	Name, Value string
}

// Header is the bounded copy of a part's header that Parse keeps.
type Header struct {
	Fields []Field
	// Truncated says fields or bytes were dropped at a limit.
	Truncated bool
}

// Get returns the value of the first field named name (case-insensitive), or "".
func (h *Header) Get(name string) string {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field named name is present.
func (h *Header) Has(name string) bool {
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// Values returns the values of every field named name, in message order.
func (h *Header) Values(name string) []string {
	var out []string
	for _, f := range h.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// keptNested reports whether a nested part's field is kept: the fields that the
// structure and an ENVELOPE read. The top-level header keeps every field.
func keptNested(lname string) bool {
	if strings.HasPrefix(lname, "content-") {
		return true
	}
	switch lname {
	case "date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
		"in-reply-to", "message-id", "mime-version":
		return true
	}
	return false
}

// mediaType parses a Content-Type value: the lower-case type and subtype, and the
// parameters (keys lower-case, RFC 2231 continuations joined). A value that does not
// parse keeps what can be read of its type; one without a type is "".
func mediaType(v string) (typ, sub string, params map[string]string) {
	if strings.TrimSpace(v) == "" {
		return "", "", nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if mt == "" && err != nil {
		head, _, _ := strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(head))
		params = nil
	}
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || typ == "" || sub == "" || strings.ContainsAny(mt, " \t\"()<>@,;:\\[]?=") {
		return "", "", nil
	}
	return typ, sub, decodeParams(params)
}

// Disposition parses a Content-Disposition value: the lower-case disposition and its
// parameters; "" when it does not parse.
func Disposition(v string) (string, map[string]string) {
	d, params, err := mime.ParseMediaType(v)
	if err != nil && d == "" {
		return "", nil
	}
	return d, decodeParams(params)
}

// decodeParams decodes RFC 2047 words that some mailers put in parameter values.
func decodeParams(params map[string]string) map[string]string {
	if len(params) == 0 {
		return nil
	}
	for k, v := range params {
		if strings.Contains(v, "=?") {
			params[k] = DecodeText(decoder(), v)
		}
	}
	return params
}
