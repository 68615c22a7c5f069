package imapserver

// Postern: the server side of QUOTA (RFC 9208), read-only: GETQUOTA, GETQUOTAROOT, and
// the untagged QUOTA responses after APPEND, COPY and MOVE; SETQUOTA is refused.

import (
	"context"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionQuota is an IMAP session which supports QUOTA (RFC 9208).
type SessionQuota interface {
	Session

	// QuotaResources lists the resource types the server reports
	// (the QUOTA=RES-* capabilities).
	QuotaResources() []imap.QuotaResourceType
	// GetQuotaRoot returns the quota roots of a mailbox with their quotas.
	GetQuotaRoot(ctx context.Context, mailbox string) ([]imap.QuotaData, error)
	// GetQuota returns one quota root's resources.
	GetQuota(ctx context.Context, root string) (*imap.QuotaData, error)
}

func (c *Conn) handleGetQuotaRoot(dec *imapwire.Decoder) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	session, ok := c.session.(SessionQuota)
	if !ok {
		return newClientBugError("QUOTA is not supported")
	}
	roots, err := session.GetQuotaRoot(c.ctx, mailbox)
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("QUOTAROOT").SP().Mailbox(mailbox)
	for _, r := range roots {
		enc.SP().String(r.Root)
	}
	if err := enc.CRLF(); err != nil {
		return err
	}
	for i := range roots {
		if err := writeQuota(enc.Encoder, &roots[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) handleGetQuota(dec *imapwire.Decoder) error {
	var root string
	if !dec.ExpectSP() || !dec.ExpectAString(&root) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	session, ok := c.session.(SessionQuota)
	if !ok {
		return newClientBugError("QUOTA is not supported")
	}
	data, err := session.GetQuota(c.ctx, root)
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	return writeQuota(enc.Encoder, data)
}

func (c *Conn) handleSetQuota() error {
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	if _, ok := c.session.(SessionQuota); !ok {
		return newClientBugError("QUOTA is not supported")
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm,
		Text: "Quotas are set by the administrator"}
}

// writeQuotaAfter writes the QUOTA responses of mailbox's roots after a command that
// added mail to it (RFC 9208 section 4.2.3 allows them unsolicited).
func (c *Conn) writeQuotaAfter(mailbox string) error {
	session, ok := c.session.(SessionQuota)
	if !ok {
		return nil
	}
	roots, err := session.GetQuotaRoot(c.ctx, mailbox)
	if err != nil || len(roots) == 0 {
		return nil // the command succeeded; the quota report is a courtesy
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	for i := range roots {
		if err := writeQuota(enc.Encoder, &roots[i]); err != nil {
			return err
		}
	}
	return nil
}

func writeQuota(enc *imapwire.Encoder, d *imap.QuotaData) error {
	enc.Atom("*").SP().Atom("QUOTA").SP().String(d.Root).SP()
	enc.List(len(d.Resources), func(i int) {
		r := d.Resources[i]
		enc.Atom(string(r.Type)).SP().Number64(r.Usage).SP().Number64(r.Limit)
	})
	return enc.CRLF()
}
