package imap

import (
	"context"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

var _ imapserver.SessionQuota = (*session)(nil)

// quotaRoot is the name of the one quota root a user has: the quota covers all the
// user's mailboxes (the delivery agent enforces the same figure).
const quotaRoot = ""

// QuotaResources: only STORAGE; Postern has no message-count limit (RFC 9208 5.1).
func (ss *session) QuotaResources() []goimap.QuotaResourceType {
	return []goimap.QuotaResourceType{goimap.QuotaResourceStorage}
}

// GetQuotaRoot answers GETQUOTAROOT (RFC 9208 4.3): every mailbox of a user with a
// quota has the user's root; a user without a quota has no root.
func (ss *session) GetQuotaRoot(ctx context.Context, mailbox string) (_ []goimap.QuotaData, err error) {
	defer ss.recovered(&err)
	n, err := mailboxName(mailbox)
	if err != nil {
		return nil, ss.imapError("getquotaroot", err)
	}
	if _, _, err := ss.srv.opts.Store.LookupMailbox(ctx, ss.user, n); err != nil {
		return nil, ss.imapError("getquotaroot", err)
	}
	q, ok, err := ss.userQuota(ctx)
	if err != nil || !ok {
		return nil, err
	}
	return []goimap.QuotaData{*q}, nil
}

// GetQuota answers GETQUOTA (RFC 9208 4.2) for the user's own root only.
func (ss *session) GetQuota(ctx context.Context, root string) (_ *goimap.QuotaData, err error) {
	defer ss.recovered(&err)
	q, ok, err := ss.userQuota(ctx)
	if err != nil {
		return nil, err
	}
	if !ok || root != quotaRoot {
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeNonExistent, Text: "No such quota root"}
	}
	return q, nil
}

// userQuota is the user's STORAGE usage and limit in units of 1024 octets (rounded
// up, so a nearly full mailbox never looks emptier than it is); false when the user
// has no quota.
func (ss *session) userQuota(ctx context.Context) (*goimap.QuotaData, bool, error) {
	u, err := ss.srv.opts.Store.GetUser(ctx, ss.user)
	if err != nil {
		return nil, false, ss.imapError("quota", err)
	}
	if u.QuotaBytes <= 0 {
		return nil, false, nil
	}
	used, err := ss.srv.opts.Store.UserUsage(ctx, ss.user)
	if err != nil {
		return nil, false, ss.imapError("quota", err)
	}
	kib := func(b int64) int64 { return (b + 1023) / 1024 }
	return &goimap.QuotaData{Root: quotaRoot, Resources: []goimap.QuotaResource{
		{Type: goimap.QuotaResourceStorage, Usage: kib(used), Limit: u.QuotaBytes / 1024},
	}}, true, nil
}
