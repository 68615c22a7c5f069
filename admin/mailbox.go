package admin

import "context"

const cmdReindex = "reindex"

// MailboxBackend maintains users' mail stores.
type MailboxBackend interface {
	// Reindex rebuilds a user's message index from their Maildir.
	Reindex(ctx context.Context, address string) ([]MailboxReindex, error)
}

// MailboxReindex is what a reindex did to one mailbox.
type MailboxReindex struct {
	Mailbox            string `json:"mailbox"`
	UIDValidity        uint32 `json:"uidvalidity"`
	Kept               int    `json:"kept"`
	Updated            int    `json:"updated"`
	Added              int    `json:"added"`
	Removed            int    `json:"removed"`
	UIDValidityChanged bool   `json:"uidvalidity_changed"`
}

func mailboxCommands() map[string]handler {
	return map[string]handler{
		cmdReindex: bind(func(ctx context.Context, b Backend, a addressArgs) ([]MailboxReindex, error) {
			if err := need("address", a.Address); err != nil {
				return nil, err
			}
			r, err := b.Reindex(ctx, a.Address)
			return nonNil(r), err
		}),
	}
}

// Reindex rebuilds a user's message index from their Maildir.
func (c *Client) Reindex(ctx context.Context, address string) ([]MailboxReindex, error) {
	var r []MailboxReindex
	err := c.call(ctx, cmdReindex, addressArgs{Address: address}, &r)
	return r, err
}
