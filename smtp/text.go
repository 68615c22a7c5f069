package smtp

// textChecker scans message text as it streams past and remembers the first rule
// it breaks. It sees the text after go-smtp removed the dot-stuffing (DATA) or the
// raw chunk contents (BDAT), so every line must end in CRLF there.
//
// Bare CR and bare LF are refused (RFC 5321 sections 2.3.8 and 4.1.1.4): another
// MTA that takes a bare LF for a line end would read "\n.\n" as the end of the
// message, and whatever follows as a second, smuggled message. Refusing them here
// means nothing we accept can be re-read differently downstream.
type textChecker struct {
	maxLine int   // octets per line including CRLF; 0 = no limit
	lineLen int   // octets of the current line so far, terminator included
	prevCR  bool  // the previous octet was CR
	size    int64 // octets seen
	bare    bool  // a bare CR or LF was seen
	long    bool  // a line over maxLine was seen
}

// Write scans p; it never fails, so it can sit in an io.MultiWriter.
func (t *textChecker) Write(p []byte) (int, error) {
	t.size += int64(len(p))
	for _, b := range p {
		if t.prevCR && b != '\n' {
			t.bare = true
		}
		if b == '\n' && !t.prevCR {
			t.bare = true
		}
		t.prevCR = b == '\r'
		t.lineLen++
		if t.maxLine > 0 && t.lineLen > t.maxLine {
			t.long = true
		}
		if b == '\n' {
			t.lineLen = 0
		}
	}
	return len(p), nil
}

// finish is called at the end of the text: a CR as the very last octet is bare.
func (t *textChecker) finish() {
	if t.prevCR {
		t.bare = true
	}
}

// failed reports whether a rule was broken so far, and which reply refuses it.
func (t *textChecker) failed() *ReplyError {
	switch {
	case t.bare:
		return errBareLineEnd
	case t.long:
		return lineTooLong(t.maxLine)
	}
	return nil
}
