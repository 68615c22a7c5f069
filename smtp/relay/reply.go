package relay

import (
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
)

// reply is one SMTP reply (RFC 5321 section 4.2) with its enhanced status
// code (RFC 2034, RFC 3463) split off.
type reply struct {
	Code     int
	Enhanced string
	Text     string   // lines joined by spaces, enhanced codes removed
	Lines    []string // the raw text of each line (for EHLO keywords)
}

func (r *reply) positive() bool  { return r.Code/100 == 2 || r.Code/100 == 3 }
func (r *reply) temporary() bool { return r.Code/100 == 4 }
func (r *reply) String() string {
	if r.Enhanced != "" {
		return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
	}
	return fmt.Sprintf("%d %s", r.Code, r.Text)
}

var enhancedPrefix = regexp.MustCompile(`^([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:\s+|$)`)

// readReply reads one possibly multi-line reply. A line that is not an
// SMTP reply line is a *textproto.ProtocolError: what a TLS port or some
// other protocol sends.
func readReply(r *textproto.Reader) (*reply, error) {
	code, msg, err := r.ReadResponse(0)
	if err != nil {
		if te, ok := err.(*textproto.Error); ok {
			code, msg = te.Code, te.Msg
		} else {
			return nil, err
		}
	}
	return parseReply(code, msg), nil
}

// parseReply splits the text textproto joined with "\n".
func parseReply(code int, msg string) *reply {
	rp := &reply{Code: code, Lines: strings.Split(msg, "\n")}
	var texts []string
	for i, l := range rp.Lines {
		if m := enhancedPrefix.FindStringSubmatch(l); m != nil && (code/100 == int(m[1][0]-'0')) {
			if i == 0 {
				rp.Enhanced = m[1]
			}
			l = l[len(m[0]):]
		}
		texts = append(texts, strings.TrimSpace(l))
	}
	rp.Text = strings.Join(strings.Fields(strings.Join(texts, " ")), " ")
	return rp
}

// parseEHLO reads the keywords of an EHLO reply (RFC 5321 section 4.1.1.1):
// every line after the first is "KEYWORD [params]".
func parseEHLO(lines []string) map[string]string {
	ext := make(map[string]string)
	for _, l := range lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		if kw != "" {
			ext[strings.ToUpper(kw)] = params
		}
	}
	return ext
}
