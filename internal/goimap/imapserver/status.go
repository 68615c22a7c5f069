package imapserver

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleStatus(dec *imapwire.Decoder) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() {
		return dec.Err()
	}

	var options imap.StatusOptions
	err := dec.ExpectList(func() error {
		err := readStatusItem(dec, &options)
		if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}

	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}

	// RECENT was removed in IMAP4rev2 (RFC 9051). Reject STATUS (RECENT) when the
	// session has ENABLEd IMAP4rev2, or when the server does not advertise
	// IMAP4rev1 at all. This mirrors SELECT, which suppresses the obsolete RECENT
	// response under the same condition (select.go): gating on the session-enabled
	// revision rather than only the server-advertised one, so a rev2 client on a
	// dual-advertised server can't still pull the obsolete item.
	//
	// The state check runs first so a client in the wrong state gets a state
	// error rather than "Unknown STATUS data item".
	if options.NumRecent && (c.enabledHas(imap.CapIMAP4rev2) || !c.server.options.caps().Has(imap.CapIMAP4rev1)) {
		return &imap.Error{
			Type: imap.StatusResponseTypeBad,
			Text: "Unknown STATUS data item",
		}
	}

	data, err := c.session.Status(c.ctx, mailbox, &options)
	if err != nil {
		return err
	}

	return c.writeStatus(data, &options)
}

func (c *Conn) writeStatus(data *imap.StatusData, options *imap.StatusOptions) error {
	enc := newResponseEncoder(c)
	defer enc.end()

	enc.Atom("*").SP().Atom("STATUS").SP().Mailbox(data.Mailbox).SP()
	// RFC 9051 §7.3.2: the server MUST include every requested STATUS item.
	// If the backend's Status() method returns nil for a pointer field that
	// was requested, that is a backend implementation bug.  Return an error
	// rather than panicking (which would crash the connection) or silently
	// omitting the field (which would produce a malformed STATUS response and
	// hide the bug).
	listEnc := enc.BeginList()
	if options.NumMessages {
		if data.NumMessages == nil {
			return fmt.Errorf("imapserver: backend did not populate NumMessages in StatusData")
		}
		listEnc.Item().Atom("MESSAGES").SP().Number(*data.NumMessages)
	}
	if options.UIDNext {
		listEnc.Item().Atom("UIDNEXT").SP().UID(data.UIDNext)
	}
	if options.UIDValidity {
		listEnc.Item().Atom("UIDVALIDITY").SP().Number(data.UIDValidity)
	}
	if options.NumUnseen {
		if data.NumUnseen == nil {
			return fmt.Errorf("imapserver: backend did not populate NumUnseen in StatusData")
		}
		listEnc.Item().Atom("UNSEEN").SP().Number(*data.NumUnseen)
	}
	if options.NumDeleted {
		if data.NumDeleted == nil {
			return fmt.Errorf("imapserver: backend did not populate NumDeleted in StatusData")
		}
		listEnc.Item().Atom("DELETED").SP().Number(*data.NumDeleted)
	}
	if options.Size {
		if data.Size == nil {
			return fmt.Errorf("imapserver: backend did not populate Size in StatusData")
		}
		listEnc.Item().Atom("SIZE").SP().Number64(*data.Size)
	}
	if options.AppendLimit {
		listEnc.Item().Atom("APPENDLIMIT").SP()
		if data.AppendLimit != nil {
			enc.Number(*data.AppendLimit)
		} else {
			enc.NIL()
		}
	}
	if options.DeletedStorage {
		if data.DeletedStorage == nil {
			return fmt.Errorf("imapserver: backend did not populate DeletedStorage in StatusData")
		}
		listEnc.Item().Atom("DELETED-STORAGE").SP().Number64(*data.DeletedStorage)
	}
	if options.NumRecent {
		if data.NumRecent == nil {
			return fmt.Errorf("imapserver: backend did not populate NumRecent in StatusData")
		}
		listEnc.Item().Atom("RECENT").SP().Number(*data.NumRecent)
	}
	if options.HighestModSeq {
		listEnc.Item().Atom("HIGHESTMODSEQ").SP().ModSeq(data.HighestModSeq)
	}
	listEnc.End()

	return enc.CRLF()
}

func readStatusItem(dec *imapwire.Decoder, options *imap.StatusOptions) error {
	var name string
	if !dec.ExpectAtom(&name) {
		return dec.Err()
	}
	switch strings.ToUpper(name) {
	case "MESSAGES":
		options.NumMessages = true
	case "UIDNEXT":
		options.UIDNext = true
	case "UIDVALIDITY":
		options.UIDValidity = true
	case "UNSEEN":
		options.NumUnseen = true
	case "DELETED":
		options.NumDeleted = true
	case "SIZE":
		options.Size = true
	case "APPENDLIMIT":
		options.AppendLimit = true
	case "DELETED-STORAGE":
		options.DeletedStorage = true
	case "RECENT":
		options.NumRecent = true
	case "HIGHESTMODSEQ":
		options.HighestModSeq = true
	default:
		return &imap.Error{
			Type: imap.StatusResponseTypeBad,
			Text: "Unknown STATUS data item",
		}
	}
	return nil
}
