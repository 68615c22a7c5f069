package smtp

// textChecker scans message text as it streams past and remembers the first rule
// it breaks. It sees the text after go-smtp removed the dot-stuffing (DATA) or the
// raw chunk contents (BDAT), so every line must end in CRLF there.
//
// Bare CR and bare LF are refused (RFC 5321 sections 2.3.8 and 4.1.1.4): another
// MTA that takes a bare LF for a line end would read "\n.\n" as the end of the
// message, and whatever follows as a second, smuggled message. Refusing them here
// means nothing we accept can be re-read differently downstream.
//
// It also counts the Received: fields of the header (Postfix's hopcount_limit): a
// message that has passed maxHops hops is looping and is refused with 554 5.4.6,
// whichever way it came in. And it bounds the header block itself (octets, blank
// line included, and fields): a message whose header is larger is refused with
// 552 5.3.4 before anything downstream parses it.
type textChecker struct {
	maxLine   int   // octets per line including CRLF; 0 = no limit
	maxHops   int   // Received: fields allowed; 0 = no limit
	maxHeader int64 // header octets allowed; 0 = no limit
	maxFields int   // header fields allowed; 0 = no limit
	hops      int   // Received: fields seen
	hdrSize   int64 // header octets seen
	fields    int   // header fields seen
	inBody    bool  // the blank line that ends the header has been seen
	blankCR   bool  // the current header line so far is a CR
	recv      bool  // the current header line may still start with "Received:"
	lineLen   int   // octets of the current line so far, terminator included
	prevCR    bool  // the previous octet was CR
	size      int64 // octets seen
	bare      bool  // a bare CR or LF was seen
	long      bool  // a line over maxLine was seen
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
		if !t.inBody {
			t.hdrSize++
			t.header(b)
		}
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

// receivedName is matched case-insensitively (octet | 0x20) at each header line start.
const receivedName = "received:"

// header follows the start of each header line for a Received: name and the blank
// line that ends the header. t.lineLen is b's position in its line.
func (t *textChecker) header(b byte) {
	pos := t.lineLen
	if b == '\n' && (pos == 0 || pos == 1 && t.blankCR) {
		t.inBody = true // the blank line, counted in hdrSize
		return
	}
	t.blankCR = pos == 0 && b == '\r'
	if pos == 0 {
		if t.blankCR {
			t.recv = false
			return
		}
		t.recv = true
		if b != ' ' && b != '\t' {
			t.fields++
		}
	}
	if !t.recv || pos >= len(receivedName) {
		return
	}
	if b|0x20 != receivedName[pos] {
		t.recv = false
		return
	}
	if pos == len(receivedName)-1 {
		t.hops++
		t.recv = false
	}
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
	case t.maxHops > 0 && t.hops >= t.maxHops:
		return errTooManyHops
	case t.maxHeader > 0 && t.hdrSize > t.maxHeader, t.maxFields > 0 && t.fields > t.maxFields:
		return headerTooBig(t.maxHeader, t.maxFields)
	}
	return nil
}
