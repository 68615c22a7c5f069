package imapserver

import (
	"errors"
	"fmt"

	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleSelect(tag string, dec *imapwire.Decoder, readOnly bool) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) {
		return dec.Err()
	}

	options := imap.SelectOptions{ReadOnly: readOnly}

	if dec.SP() {
		err := dec.ExpectList(func() error {
			var param string
			if !dec.ExpectAtom(&param) {
				return dec.Err()
			}

			switch strings.ToUpper(param) {
			case "CONDSTORE":
				// Per RFC 7162, ignore the parameter if not supported.
				if c.supportsCondStore() {
					options.CondStore = true
					// SELECT/EXAMINE (CONDSTORE) is a CONDSTORE-enabling command
					// (RFC 7162 §3.1): the client is now CONDSTORE-aware.
					c.markCondStoreEnabled()
				}
			case "QRESYNC":
				// Per RFC 7162, QRESYNC requires ENABLE QRESYNC
				if c.enabledHas(imap.CapQResync) {
					if !dec.ExpectSP() {
						return dec.Err()
					}
					err := dec.ExpectList(func() error {
						var uidValidity uint32
						var modSeq uint64
						if !dec.ExpectNumber(&uidValidity) || !dec.ExpectSP() || !dec.ExpectModSeq(&modSeq) {
							return dec.Err()
						}

						qresyncData := &imap.QResyncData{
							UIDValidity: uidValidity,
							ModSeq:      modSeq,
						}

						if dec.SP() {
							var knownUIDs imap.UIDSet
							if dec.ExpectUIDSet(&knownUIDs) {
								qresyncData.KnownUIDs = knownUIDs

								if dec.SP() {
									// Optional sequence/UID match data
									err := dec.ExpectList(func() error {
										var seqNums, uids imap.UIDSet
										if !dec.ExpectUIDSet(&seqNums) || !dec.ExpectSP() || !dec.ExpectUIDSet(&uids) {
											return dec.Err()
										}
										qresyncData.SeqMatch = &imap.QResyncSeqMatch{
											SeqNums: seqNums,
											UIDs:    uids,
										}
										return nil
									})
									if err != nil {
										return err
									}
								}
							}
						}

						options.QResync = qresyncData
						return nil
					})
					if err != nil {
						return err
					}
				}
			default:
				return newClientBugError(fmt.Sprintf("unknown SELECT parameter: %v", param))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}

	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}

	if c.state == imap.ConnStateSelected {
		if err := c.session.Unselect(c.ctx); err != nil {
			return err
		}
		c.state = imap.ConnStateAuthenticated
		c.selectedReadOnly = false
		err := c.writeStatusResp("", &imap.StatusResponse{
			Type: imap.StatusResponseTypeOK,
			Code: "CLOSED",
			Text: "Previous mailbox is now closed",
		})
		if err != nil {
			return err
		}
	}

	data, err := c.session.Select(c.ctx, mailbox, &options)
	if err != nil {
		return err
	}

	enc := newResponseEncoder(c)
	defer enc.end()

	// Write QRESYNC-specific responses first per RFC 7162 §3.2.5
	if len(data.Vanished) > 0 {
		// QRESYNC SELECT responses use VANISHED (EARLIER)
		if err := writeVanishedEarlier(enc.Encoder, data.Vanished); err != nil {
			return err
		}
	}

	if len(data.Modified) > 0 {
		for _, mod := range data.Modified {
			if err := writeQResyncFetch(enc.Encoder, mod); err != nil {
				return err
			}
		}
	}

	// Always write EXISTS per RFC 7162 §3.2.5.2
	// "The server MUST send EXISTS and RECENT responses, as documented
	// in RFC 3501, even when QRESYNC is active."
	writeExists(enc.Encoder, data.NumMessages)
	if !c.enabledHas(imap.CapIMAP4rev2) && c.server.options.caps().Has(imap.CapIMAP4rev1) {
		writeObsoleteRecent(enc.Encoder, data.NumRecent)
		if data.FirstUnseenSeqNum != 0 {
			writeObsoleteUnseen(enc.Encoder, data.FirstUnseenSeqNum)
		}
	}

	writeUIDValidity(enc.Encoder, data.UIDValidity)
	writeUIDNext(enc.Encoder, data.UIDNext)
	writeFlags(enc.Encoder, data.Flags)
	writePermanentFlags(enc.Encoder, data.PermanentFlags)
	if data.List != nil {
		if err := c.writeList(data.List, nil); err != nil {
			return err
		}
	}

	// CondStore could be disabled for this client or not enabled in session
	if c.supportsCondStore() {
		if data.HighestModSeq > 0 {
			writeHighestModSeq(enc.Encoder, data.HighestModSeq)
		} else {
			writeNoModSeq(enc.Encoder)
		}
	}

	c.state = imap.ConnStateSelected
	c.selectedReadOnly = readOnly || data.ReadOnly

	var (
		cmdName string
		code    imap.ResponseCode
	)
	if readOnly {
		cmdName = "EXAMINE"
	} else {
		cmdName = "SELECT"
	}
	// RFC 4314 §5.2: SELECT also returns READ-ONLY when the session reports the user
	// lacks the rights to modify the mailbox (data.ReadOnly). EXAMINE is always
	// READ-ONLY.
	if readOnly || data.ReadOnly {
		code = "READ-ONLY"
	} else {
		code = "READ-WRITE"
	}
	return writeStatusResp(enc.Encoder, tag, &imap.StatusResponse{
		Type: imap.StatusResponseTypeOK,
		Code: code,
		Text: fmt.Sprintf("%v completed", cmdName),
	})
}

func (c *Conn) handleUnselect(dec *imapwire.Decoder, expunge bool) error {
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}

	// RFC 3501 §6.4.2: "No messages are removed, and no error is given, if the
	// mailbox is selected by an EXAMINE command or is otherwise selected
	// read-only." Skip the expunge attempt entirely for read-only mailboxes.
	if expunge && !c.selectedReadOnly {
		w := &ExpungeWriter{conn: c}
		if err := c.session.Expunge(c.ctx, w, nil); err != nil {
			// RFC 4314 §4: for CLOSE, if the server cannot expunge because the user
			// lacks the "e" right, it MUST ignore the expunge request, close the
			// mailbox, and return the tagged OK response. Other errors still fail.
			var imapErr *imap.Error
			if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeNoPerm {
				return err
			}
		}
	}

	if err := c.session.Unselect(c.ctx); err != nil {
		return err
	}

	c.state = imap.ConnStateAuthenticated
	c.selectedReadOnly = false
	return nil
}

func writeObsoleteUnseen(enc *imapwire.Encoder, n uint32) error {
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("UNSEEN").SP().Number(n).Special(']')
	enc.SP().Text("First unseen message")
	return enc.CRLF()
}

func writeUIDValidity(enc *imapwire.Encoder, uidValidity uint32) error {
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("UIDVALIDITY").SP().Number(uidValidity).Special(']')
	enc.SP().Text("UIDs valid")
	return enc.CRLF()
}

func writeUIDNext(enc *imapwire.Encoder, uidNext imap.UID) error {
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("UIDNEXT").SP().UID(uidNext).Special(']')
	enc.SP().Text("Predicted next UID")
	return enc.CRLF()
}

func (c *Conn) writeFlags(flags []imap.Flag) error { // also used by UpdateWriter
	enc := newResponseEncoder(c)
	defer enc.end()
	return writeFlags(enc.Encoder, flags)
}

func writeFlags(enc *imapwire.Encoder, flags []imap.Flag) error {
	enc.Atom("*").SP().Atom("FLAGS").SP().List(len(flags), func(i int) {
		enc.Flag(flags[i])
	})
	return enc.CRLF()
}

func writePermanentFlags(enc *imapwire.Encoder, flags []imap.Flag) error {
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("PERMANENTFLAGS").SP().List(len(flags), func(i int) {
		enc.Flag(flags[i])
	}).Special(']')
	enc.SP().Text("Permanent flags")
	return enc.CRLF()
}

func writeHighestModSeq(enc *imapwire.Encoder, highestModSeq uint64) error {
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("HIGHESTMODSEQ").SP().ModSeq(highestModSeq).Special(']')
	enc.SP().Text("Highest modification sequence")
	return enc.CRLF()
}

func writeNoModSeq(enc *imapwire.Encoder) error {
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("NOMODSEQ").Special(']')
	enc.SP().Text("Mailbox does not support modification sequences")
	return enc.CRLF()
}

func writeVanishedEarlier(enc *imapwire.Encoder, uids imap.UIDSet) error {
	enc.Atom("*").SP().Atom("VANISHED").SP()
	enc.Special('(').Atom("EARLIER").Special(')')
	enc.SP().NumSet(uids)
	return enc.CRLF()
}

func writeQResyncFetch(enc *imapwire.Encoder, mod imap.SelectModifiedData) error {
	enc.Atom("*").SP().Number(mod.SeqNum).SP().Atom("FETCH").SP().Special('(')
	enc.Atom("UID").SP().UID(mod.UID)
	enc.SP().Atom("FLAGS").SP().List(len(mod.Flags), func(i int) {
		enc.Flag(mod.Flags[i])
	})
	enc.SP().Atom("MODSEQ").SP().Special('(').ModSeq(mod.ModSeq).Special(')')
	enc.Special(')')
	return enc.CRLF()
}

// writePermanentFlagsResp writes an untagged OK [PERMANENTFLAGS (...)].
//
// Postern: added so a server can keep PERMANENTFLAGS current when a keyword first
// appears (RFC 3501 7.1, 7.2.6), from a FETCH, STORE or unsolicited update.
func (c *Conn) writePermanentFlagsResp(flags []imap.Flag) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	return writePermanentFlags(enc.Encoder, flags)
}

// WriteMailboxFlags writes an untagged FLAGS response between FETCH responses, so a
// keyword is announced before the first FETCH that carries it (RFC 3501 7.2.6).
//
// Postern: added; must not be called while a FetchResponseWriter is open.
func (w *FetchWriter) WriteMailboxFlags(flags []imap.Flag) error {
	return w.conn.writeFlags(flags)
}

// WritePermanentFlags writes an untagged OK [PERMANENTFLAGS (...)] between FETCH
// responses. Postern: added; must not be called while a FetchResponseWriter is open.
func (w *FetchWriter) WritePermanentFlags(flags []imap.Flag) error {
	return w.conn.writePermanentFlagsResp(flags)
}

// WritePermanentFlags writes an untagged OK [PERMANENTFLAGS (...)]. Postern: added.
func (w *UpdateWriter) WritePermanentFlags(flags []imap.Flag) error {
	return w.conn.writePermanentFlagsResp(flags)
}

// WriteHighestModSeq writes an untagged OK [HIGHESTMODSEQ n]: RFC 7162 3.1 wants it
// when a command other than SELECT/EXAMINE (a FETCH or STORE with a CONDSTORE
// modifier) first makes the connection CONDSTORE-aware. Postern: added.
func (w *FetchWriter) WriteHighestModSeq(modSeq uint64) error {
	enc := newResponseEncoder(w.conn)
	defer enc.end()
	return writeHighestModSeq(enc.Encoder, modSeq)
}
