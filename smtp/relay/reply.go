package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strconv"
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

// The bounds on what the other side may send us as one reply: RFC 5321 section
// 4.5.3.1.5 allows 512 octets per reply line; real servers stay far below these.
const (
	maxReplyLine  = 2048
	maxReplyLines = 128
)

// errReplyTooLong is a reply over the bounds: the session is given up.
var errReplyTooLong = errors.New("relay: reply over the size limit")

// readReply reads one possibly multi-line reply, bounded in line length and
// number of lines. A line that is not an SMTP reply line is a
// *textproto.ProtocolError: what a TLS port or some other protocol sends.
func readReply(r *textproto.Reader) (*reply, error) {
	var code int
	lines := make([]string, 0, 1)
	for i := 0; ; i++ {
		if i == maxReplyLines {
			return nil, fmt.Errorf("%w: more than %d lines", errReplyTooLong, maxReplyLines)
		}
		line, err := readBoundedLine(r.R, maxReplyLine)
		if err != nil {
			return nil, err
		}
		c, more, text, err := parseReplyLine(line)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			code = c
		} else if c != code {
			return nil, textproto.ProtocolError("status code mismatch: " + line)
		}
		lines = append(lines, text)
		if !more {
			return parseReply(code, strings.Join(lines, "\n")), nil
		}
	}
}

// readBoundedLine reads one line without its CRLF (or LF), refusing one longer than
// max octets.
func readBoundedLine(br *bufio.Reader, max int) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > max+2 {
			return "", fmt.Errorf("%w: a line over %d octets", errReplyTooLong, max)
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		buf = bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))
		return string(buf), nil
	}
}

// parseReplyLine splits "250-text" or "250 text" (RFC 5321 section 4.2.1).
func parseReplyLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 4 || line[3] != ' ' && line[3] != '-' {
		if len(line) != 3 {
			return 0, false, "", textproto.ProtocolError("short response: " + line)
		}
		line += " "
	}
	code, cerr := strconv.Atoi(line[:3])
	if cerr != nil || code < 100 || line[0] > '5' {
		return 0, false, "", textproto.ProtocolError("invalid response code: " + line)
	}
	return code, line[3] == '-', line[4:], nil
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
