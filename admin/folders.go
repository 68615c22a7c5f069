package admin

import (
	"context"
	"time"
)

const (
	cmdMailboxStatus  = "mailbox.status"
	cmdMailboxCreate  = "mailbox.create"
	cmdMailboxDelete  = "mailbox.delete"
	cmdMailboxRename  = "mailbox.rename"
	cmdMailboxExpunge = "mailbox.expunge"
	cmdWho            = "who"
	cmdKick           = "kick"
)

// FolderBackend is the owner's view of a user's mailboxes (what doveadm mailbox gives
// Dovecot users). Changes go through the IMAP server, so open sessions see them.
type FolderBackend interface {
	// MailboxStatus lists the user's mailboxes with their counters; name "" is all.
	MailboxStatus(ctx context.Context, address, name string) ([]MailboxStatus, error)
	CreateMailbox(ctx context.Context, address, name, specialUse string) error
	DeleteMailbox(ctx context.Context, address, name string) error
	RenameMailbox(ctx context.Context, address, from, to string) error
	// ExpungeMailbox removes the messages that arrived before cutoff.
	ExpungeMailbox(ctx context.Context, address, name string, cutoff time.Time) (int, error)
}

// SessionBackend lists and ends IMAP sessions.
type SessionBackend interface {
	Sessions(ctx context.Context) ([]Session, error)
	// Kick ends every IMAP session of a user and says how many it ended.
	Kick(ctx context.Context, address string) (int, error)
}

// MailboxStatus is one mailbox of a user.
type MailboxStatus struct {
	Name          string `json:"name"`
	SpecialUse    string `json:"special_use,omitempty"`
	Subscribed    bool   `json:"subscribed"`
	Messages      int    `json:"messages"`
	Unseen        int    `json:"unseen"`
	Size          int64  `json:"size"`
	UIDValidity   uint32 `json:"uidvalidity"`
	UIDNext       uint32 `json:"uidnext"`
	HighestModSeq uint64 `json:"highestmodseq"`
}

// Session is one open IMAP connection.
type Session struct {
	User      string    `json:"user"` // "" before login
	Client    string    `json:"client"`
	TLS       bool      `json:"implicit_tls"`
	Connected time.Time `json:"connected"`
	Mailbox   string    `json:"mailbox,omitempty"`
}

// Counted is the answer to mailbox.expunge and kick: how many messages or sessions.
type Counted struct {
	Count int `json:"count"`
}

type folderArgs struct {
	Address    string    `json:"address"`
	Mailbox    string    `json:"mailbox,omitempty"`
	To         string    `json:"to,omitempty"`
	SpecialUse string    `json:"special_use,omitempty"`
	Before     time.Time `json:"before,omitzero"`
}

func (a folderArgs) need(mailbox bool) error {
	if err := need("address", a.Address); err != nil {
		return err
	}
	if mailbox {
		return need("mailbox", a.Mailbox)
	}
	return nil
}

func folderCommands() map[string]handler {
	return map[string]handler{
		cmdMailboxStatus: bind(func(ctx context.Context, b Backend, a folderArgs) ([]MailboxStatus, error) {
			if err := a.need(false); err != nil {
				return nil, err
			}
			r, err := b.MailboxStatus(ctx, a.Address, a.Mailbox)
			return nonNil(r), err
		}),
		cmdMailboxCreate: bind(func(ctx context.Context, b Backend, a folderArgs) (empty, error) {
			if err := a.need(true); err != nil {
				return empty{}, err
			}
			return empty{}, b.CreateMailbox(ctx, a.Address, a.Mailbox, a.SpecialUse)
		}),
		cmdMailboxDelete: bind(func(ctx context.Context, b Backend, a folderArgs) (empty, error) {
			if err := a.need(true); err != nil {
				return empty{}, err
			}
			return empty{}, b.DeleteMailbox(ctx, a.Address, a.Mailbox)
		}),
		cmdMailboxRename: bind(func(ctx context.Context, b Backend, a folderArgs) (empty, error) {
			if err := a.need(true); err != nil {
				return empty{}, err
			}
			if err := need("to", a.To); err != nil {
				return empty{}, err
			}
			return empty{}, b.RenameMailbox(ctx, a.Address, a.Mailbox, a.To)
		}),
		cmdMailboxExpunge: bind(func(ctx context.Context, b Backend, a folderArgs) (Counted, error) {
			if err := a.need(true); err != nil {
				return Counted{}, err
			}
			if a.Before.IsZero() {
				return Counted{}, Errorf(CodeInvalid, "", "before is required")
			}
			n, err := b.ExpungeMailbox(ctx, a.Address, a.Mailbox, a.Before)
			return Counted{Count: n}, err
		}),
		cmdWho: bind(func(ctx context.Context, b Backend, _ struct{}) ([]Session, error) {
			r, err := b.Sessions(ctx)
			return nonNil(r), err
		}),
		cmdKick: bind(func(ctx context.Context, b Backend, a addressArgs) (Counted, error) {
			if err := need("address", a.Address); err != nil {
				return Counted{}, err
			}
			n, err := b.Kick(ctx, a.Address)
			return Counted{Count: n}, err
		}),
	}
}

// MailboxStatus lists a user's mailboxes (name "" for all) with their counters.
func (c *Client) MailboxStatus(ctx context.Context, address, name string) ([]MailboxStatus, error) {
	var r []MailboxStatus
	err := c.call(ctx, cmdMailboxStatus, folderArgs{Address: address, Mailbox: name}, &r)
	return r, err
}

// CreateMailbox creates a mailbox; specialUse is an RFC 6154 attribute or "".
func (c *Client) CreateMailbox(ctx context.Context, address, name, specialUse string) error {
	return c.call(ctx, cmdMailboxCreate, folderArgs{Address: address, Mailbox: name, SpecialUse: specialUse}, nil)
}

// DeleteMailbox deletes a mailbox and its messages.
func (c *Client) DeleteMailbox(ctx context.Context, address, name string) error {
	return c.call(ctx, cmdMailboxDelete, folderArgs{Address: address, Mailbox: name}, nil)
}

// RenameMailbox renames a mailbox (and those below it).
func (c *Client) RenameMailbox(ctx context.Context, address, from, to string) error {
	return c.call(ctx, cmdMailboxRename, folderArgs{Address: address, Mailbox: from, To: to}, nil)
}

// ExpungeMailbox removes the messages of a mailbox that arrived before cutoff.
func (c *Client) ExpungeMailbox(ctx context.Context, address, name string, cutoff time.Time) (int, error) {
	var r Counted
	err := c.call(ctx, cmdMailboxExpunge, folderArgs{Address: address, Mailbox: name, Before: cutoff}, &r)
	return r.Count, err
}

// Sessions lists the open IMAP sessions.
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	var r []Session
	err := c.call(ctx, cmdWho, nil, &r)
	return r, err
}

// Kick ends a user's IMAP sessions and says how many.
func (c *Client) Kick(ctx context.Context, address string) (int, error) {
	var r Counted
	err := c.call(ctx, cmdKick, addressArgs{Address: address}, &r)
	return r.Count, err
}
