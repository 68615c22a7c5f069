package imapserver

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
	"github.com/emersion/go-imap/v2/internal/utf7"
)

func (c *Conn) handleList(dec *imapwire.Decoder) error {
	ref, pattern, options, err := readListCmd(dec)
	if err != nil {
		return err
	}

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}

	w := &ListWriter{
		conn:    c,
		options: options,
	}
	return c.session.List(c.ctx, w, ref, pattern, options)
}

func (c *Conn) handleLSub(dec *imapwire.Decoder) error {
	var ref string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&ref) || !dec.ExpectSP() {
		return dec.Err()
	}
	pattern, err := readListMailbox(dec)
	if err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}

	// LSUB (RFC 3501 §6.3.9) is dispatched as LIST (SUBSCRIBED RECURSIVEMATCH):
	// with the "%" wildcard it must report a non-subscribed mailbox that has
	// subscribed children, flagged \Noselect. That is exactly the RECURSIVEMATCH
	// CHILDINFO case; writeLSub folds CHILDINFO back into the legacy \Noselect
	// wire form. Requesting RECURSIVEMATCH lets a single session.List
	// implementation serve both LSUB and LIST-EXTENDED without knowing which
	// command it is answering.
	options := &imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true}
	w := &ListWriter{
		conn: c,
		lsub: true,
	}
	return c.session.List(c.ctx, w, ref, []string{pattern}, options)
}

// isExtendedListOptions returns true if the client used LIST-EXTENDED syntax,
// i.e. specified any select or return option.  Extended response data items
// (CHILDINFO, OLDNAME) must not be sent in response to a plain LIST command.
func isExtendedListOptions(opts *imap.ListOptions) bool {
	if opts == nil {
		return false
	}
	return opts.SelectSubscribed || opts.SelectRemote ||
		opts.SelectRecursiveMatch || opts.SelectSpecialUse ||
		opts.ReturnSubscribed || opts.ReturnChildren ||
		opts.ReturnSpecialUse || opts.ReturnStatus != nil ||
		opts.ReturnMetadata != nil
}

// writeList writes a single LIST response line.
//
// opts is the set of options from the LIST command; it is used to gate which
// extended-data items are included in the response.  Pass nil when writing
// LIST data outside of a LIST command context (e.g. inside a SELECT response).
func (c *Conn) writeList(data *imap.ListData, opts *imap.ListOptions) error {
	return c.writeListData(data, opts, isExtendedListOptions(opts))
}

// writeListData writes a single LIST response line. allowOldName forces the
// OLDNAME extended-data item to be included independently of opts — used for the
// unsolicited LIST that accompanies a successful RENAME (RFC 9051 §6.3.6), where
// there is no LIST command whose options could be consulted.
func (c *Conn) writeListData(data *imap.ListData, opts *imap.ListOptions, allowOldName bool) error {
	enc := newResponseEncoder(c)
	defer enc.end()

	enc.Atom("*").SP().Atom("LIST").SP()
	enc.List(len(data.Attrs), func(i int) {
		enc.MailboxAttr(data.Attrs[i])
	})
	enc.SP()
	if data.Delim == 0 {
		enc.NIL()
	} else {
		enc.Quoted(string(data.Delim))
	}
	enc.SP().Mailbox(data.Mailbox)

	var ext []string
	// CHILDINFO: only when the client used the RECURSIVEMATCH selection option.
	//
	// RFC 5258 §3.4/§3.5.1: CHILDINFO is returned to inform the client that a
	// mailbox which itself does not match the selection criteria has children
	// that do.  This is only meaningful (and SHOULD NOT be sent otherwise) when
	// RECURSIVEMATCH was requested.
	//
	// Note: RETURN (CHILDREN) is a separate mechanism that requests
	// \HasChildren/\HasNoChildren mailbox attribute flags — it is unrelated to
	// the CHILDINFO extended data item.
	if data.ChildInfo != nil && opts != nil && opts.SelectRecursiveMatch {
		ext = append(ext, "CHILDINFO")
	}
	// OLDNAME: only in LIST-EXTENDED responses or the unsolicited RENAME
	// notification (allowOldName). Sending it in response to a plain LIST command
	// violates RFC 5258 §3.
	if data.OldName != "" && allowOldName {
		ext = append(ext, "OLDNAME")
	}

	if len(ext) > 0 {
		enc.SP().List(len(ext), func(i int) {
			name := ext[i]
			enc.Atom(name).SP()
			switch name {
			case "CHILDINFO":
				enc.Special('(')
				if data.ChildInfo.Subscribed {
					enc.Quoted("SUBSCRIBED")
				}
				enc.Special(')')
			case "OLDNAME":
				enc.Special('(').Mailbox(data.OldName).Special(')')
			default:
				panic(fmt.Errorf("imapserver: unknown LIST extended-item %v", name))
			}
		})
	}

	return enc.CRLF()
}

func (c *Conn) writeLSub(data *imap.ListData) error {
	enc := newResponseEncoder(c)
	defer enc.end()

	attrs := lsubAttrs(data)

	enc.Atom("*").SP().Atom("LSUB").SP()
	enc.List(len(attrs), func(i int) {
		enc.MailboxAttr(attrs[i])
	})
	enc.SP()
	if data.Delim == 0 {
		enc.NIL()
	} else {
		enc.Quoted(string(data.Delim))
	}
	enc.SP().Mailbox(data.Mailbox)
	return enc.CRLF()
}

// lsubAttrs maps a LIST (SUBSCRIBED RECURSIVEMATCH) result to the mailbox-list
// flags of an LSUB response (RFC 3501 §6.3.9). LSUB predates LIST-EXTENDED and
// has no CHILDINFO or \Subscribed/\NonExistent flags:
//
//   - A mailbox present only because it has subscribed children — i.e. it
//     carries CHILDINFO but is not itself subscribed — is reported \Noselect.
//     This is the "% wildcard returns the parent" case: "foo/bar" subscribed,
//     "foo" not, LSUB "" "%" MUST return foo flagged \Noselect.
//   - The LIST-EXTENDED-only \Subscribed and \NonExistent attributes are
//     dropped; LSUB conveys subscription by listing the name at all.
func lsubAttrs(data *imap.ListData) []imap.MailboxAttr {
	subscribed := false
	for _, a := range data.Attrs {
		if a == imap.MailboxAttrSubscribed {
			subscribed = true
			break
		}
	}

	if !subscribed && data.ChildInfo != nil {
		return []imap.MailboxAttr{imap.MailboxAttrNoSelect}
	}

	var attrs []imap.MailboxAttr
	for _, a := range data.Attrs {
		switch a {
		case imap.MailboxAttrSubscribed, imap.MailboxAttrNonExistent:
			// LIST-EXTENDED-only; no LSUB representation.
		default:
			attrs = append(attrs, a)
		}
	}
	return attrs
}

func readListCmd(dec *imapwire.Decoder) (ref string, patterns []string, options *imap.ListOptions, err error) {
	options = &imap.ListOptions{}

	if !dec.ExpectSP() {
		return "", nil, nil, dec.Err()
	}

	hasSelectOpts, err := dec.List(func() error {
		var selectOpt string
		if !dec.ExpectAString(&selectOpt) {
			return dec.Err()
		}
		switch strings.ToUpper(selectOpt) {
		case "SUBSCRIBED":
			options.SelectSubscribed = true
		case "REMOTE":
			options.SelectRemote = true
		case "RECURSIVEMATCH":
			options.SelectRecursiveMatch = true
		case "SPECIAL-USE":
			options.SelectSpecialUse = true
		default:
			return newClientBugError("Unknown LIST select option")
		}
		return nil
	})
	if err != nil {
		return "", nil, nil, fmt.Errorf("in list-select-opts: %w", err)
	}
	if hasSelectOpts && !dec.ExpectSP() {
		return "", nil, nil, dec.Err()
	}

	if !dec.ExpectMailbox(&ref) || !dec.ExpectSP() {
		return "", nil, nil, dec.Err()
	}

	hasPatterns, err := dec.List(func() error {
		pattern, err := readListMailbox(dec)
		if err == nil && pattern != "" {
			patterns = append(patterns, pattern)
		}
		return err
	})
	if err != nil {
		return "", nil, nil, err
	} else if hasPatterns && len(patterns) == 0 {
		return "", nil, nil, newClientBugError("LIST-EXTENDED requires a non-empty parenthesized pattern list")
	} else if !hasPatterns {
		pattern, err := readListMailbox(dec)
		if err != nil {
			return "", nil, nil, err
		}
		if pattern != "" {
			patterns = append(patterns, pattern)
		}
	}

	if dec.SP() { // list-return-opts
		var atom string
		if !dec.ExpectAtom(&atom) || !dec.Expect(strings.EqualFold(atom, "RETURN"), "RETURN") || !dec.ExpectSP() {
			return "", nil, nil, dec.Err()
		}

		err := dec.ExpectList(func() error {
			return readReturnOption(dec, options)
		})
		if err != nil {
			return "", nil, nil, fmt.Errorf("in list-return-opts: %w", err)
		}
	}

	if !dec.ExpectCRLF() {
		return "", nil, nil, dec.Err()
	}

	if options.SelectRecursiveMatch && !options.SelectSubscribed {
		return "", nil, nil, newClientBugError("The LIST RECURSIVEMATCH select option requires SUBSCRIBED")
	}

	return ref, patterns, options, nil
}

func readListMailbox(dec *imapwire.Decoder) (string, error) {
	var mailbox string
	if !dec.String(&mailbox) {
		if !dec.Expect(dec.Func(&mailbox, isListChar), "list-char") {
			return "", dec.Err()
		}
	}

	var decoded string
	var err error
	if dec.QuotedUTF8 {
		decoded, err = utf7.Unescape(mailbox)
	} else {
		decoded, err = utf7.Decode(mailbox)
	}
	if err != nil {
		// Postern: a pattern that is not valid modified UTF-7 (say "&'") is matched
		// as it was sent; it matches no mailbox, and LIST answers OK with nothing
		// (RFC 3501 6.3.8), not a server error.
		return mailbox, nil
	}
	return decoded, nil
}

func isListChar(ch byte) bool {
	switch ch {
	case '%', '*': // list-wildcards
		return true
	case ']': // resp-specials
		return true
	default:
		return imapwire.IsAtomChar(ch)
	}
}

func readReturnOption(dec *imapwire.Decoder, options *imap.ListOptions) error {
	var name string
	if !dec.ExpectAtom(&name) {
		return dec.Err()
	}

	switch strings.ToUpper(name) {
	case "SUBSCRIBED":
		options.ReturnSubscribed = true
	case "CHILDREN":
		options.ReturnChildren = true
	case "SPECIAL-USE":
		options.ReturnSpecialUse = true
	case "STATUS":
		if !dec.ExpectSP() {
			return dec.Err()
		}
		options.ReturnStatus = new(imap.StatusOptions)
		return dec.ExpectList(func() error {
			return readStatusItem(dec, options.ReturnStatus)
		})
	case "METADATA":
		options.ReturnMetadata = []string{}
		if !dec.SP() {
			return nil
		}
		return dec.ExpectList(func() error {
			var entry string
			if !dec.ExpectAString(&entry) {
				return dec.Err()
			}
			if err := imap.ValidateMetadataEntry(entry); err != nil {
				return &imap.Error{
					Type: imap.StatusResponseTypeBad,
					Text: err.Error(),
				}
			}
			options.ReturnMetadata = append(options.ReturnMetadata, entry)
			return nil
		})
	default:
		return newClientBugError("Unknown LIST RETURN options")
	}
	return nil
}

// ListWriter writes LIST responses.
type ListWriter struct {
	conn    *Conn
	options *imap.ListOptions
	lsub    bool
}

// WriteList writes a single LIST response for a mailbox.
func (w *ListWriter) WriteList(data *imap.ListData) error {
	if w.lsub {
		return w.conn.writeLSub(data)
	}

	if err := w.conn.writeList(data, w.options); err != nil {
		return err
	}
	if w.options.ReturnStatus != nil && data.Status != nil {
		if err := w.conn.writeStatus(data.Status, w.options.ReturnStatus); err != nil {
			return err
		}
	}
	if w.options.ReturnMetadata != nil {
		if sessionMeta, ok := w.conn.session.(SessionMetadata); ok {
			metaData, err := sessionMeta.GetMetadata(w.conn.ctx, data.Mailbox, w.options.ReturnMetadata, nil)
			if err == nil && metaData != nil {
				// Write metadata response even if entries is empty (per RFC 5524)
				// Empty map means metadata was queried but no entries matched
				if metaData.Entries != nil {
					if err := w.conn.writeMetadataResp(metaData.Mailbox, metaData.Entries); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// MatchList checks whether a reference and a pattern matches a mailbox.
func MatchList(name string, delim rune, reference, pattern string) bool {
	var delimStr string
	if delim != 0 {
		delimStr = string(delim)
	}

	if delimStr != "" && strings.HasPrefix(pattern, delimStr) {
		reference = ""
		pattern = strings.TrimPrefix(pattern, delimStr)
	}
	if reference != "" {
		if delimStr != "" && !strings.HasSuffix(reference, delimStr) {
			reference += delimStr
		}
		if !strings.HasPrefix(name, reference) {
			return false
		}
		name = strings.TrimPrefix(name, reference)
	}

	return matchList(name, delimStr, pattern)
}

func matchList(name, delim, pattern string) bool {
	// TODO: optimize

	i := strings.IndexAny(pattern, "*%")
	if i == -1 {
		// No more wildcards
		return name == pattern
	}

	// Get parts before and after wildcard
	chunk, wildcard, rest := pattern[0:i], pattern[i], pattern[i+1:]

	// Check that name begins with chunk
	if len(chunk) > 0 && !strings.HasPrefix(name, chunk) {
		return false
	}
	name = strings.TrimPrefix(name, chunk)

	// Expand wildcard
	var j int
	for j = 0; j < len(name); j++ {
		if wildcard == '%' && string(name[j]) == delim {
			break // Stop on delimiter if wildcard is %
		}
		// Try to match the rest from here
		if matchList(name[j:], delim, rest) {
			return true
		}
	}

	return matchList(name[j:], delim, rest)
}
