package imap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	goimap "github.com/emersion/go-imap/v2"

	"github.com/postern/postern/store"
)

// Append stores a message (APPEND): the quota is checked against the literal's
// announced size, the file is written and fsynced by maildir.Append, indexed, and only
// then does the client get OK [APPENDUID] (RFC 4315).
func (ss *session) Append(ctx context.Context, name string, r goimap.LiteralReader, o *goimap.AppendOptions) (data *goimap.AppendData, err error) {
	defer ss.recovered(&err)
	n, err := mailboxName(name)
	if err != nil {
		return nil, ss.imapError("append", err)
	}
	mb, err := ss.srv.opts.Store.GetMailbox(ctx, ss.user, n)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeTryCreate, Text: "No such mailbox"}
		}
		return nil, ss.imapError("append", err)
	}
	ss.srv.recent.floor(mb.ID, mb.UIDNext) // met before the message: it will be \Recent
	size := r.Size()
	if size > int64(ss.srv.opts.AppendLimit) {
		return nil, &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeTooBig, Text: "Message too large"}
	}
	if err := ss.checkQuota(ctx, size); err != nil {
		return nil, err
	}
	var flags []string
	var date time.Time
	if o != nil {
		flags = fromFlags(o.Flags)
		date = o.Time
	}
	if _, err := ss.md.EnsureFolder(n); err != nil {
		return nil, ss.imapError("append", err)
	}
	d, err := ss.md.Append(n, flags, date, io.LimitReader(r, size))
	if err != nil {
		return nil, ss.imapError("append", err)
	}
	if date.IsZero() {
		date = ss.srv.opts.Now()
	}
	base := d.Name
	if i := indexByte(base, ':'); i >= 0 {
		base = base[:i]
	}
	vsize := d.VSize
	if vsize < 0 {
		vsize = d.Size
	}
	added, err := ss.srv.opts.Store.AddMessages(ctx, []store.NewMessage{{
		User: ss.user, Mailbox: n, Filename: base, Size: vsize, InternalDate: date, Flags: flags,
	}})
	if errors.Is(err, store.ErrExists) {
		// Another session's rescan saw the file in the folder and indexed it first
		// (with the same flags, size and date, read from the file): that entry is ours.
		var a store.AddedMessage
		if a, err = ss.srv.opts.Store.IndexedByName(ctx, ss.user, n, base); err == nil {
			added = []store.AddedMessage{a}
		}
	}
	if err != nil {
		if rerr := removeFile(d.Path); rerr != nil {
			ss.log.Error("imap: append: removing unindexed file", "path", d.Path, "err", rerr)
		}
		return nil, ss.imapError("append", err)
	}
	// Summaries now, while the file is in the page cache: its first FETCH reads no file.
	if e, err := summarizeFile(base, d.Path); err == nil {
		ss.srv.putSummaries(added[0].MailboxID, []store.CacheEntry{e}) // before OK: a COPY right after copies it
	}
	var self <-chan struct{}
	if ss.sel != nil && ss.sel.name == n {
		self = ss.sel.notify
	}
	ss.srv.hub.notify(ss.user, n, self)
	ss.learnAppended(ctx, n, d.Path)
	ss.sieveAdded(CauseAppend, "", n, added)
	return &goimap.AppendData{UID: goimap.UID(added[0].UID), UIDValidity: added[0].UIDValidity}, nil
}

// checkQuota refuses with OVERQUOTA (RFC 5530) when adding bytes would take the user
// over the quota set in the store (0 = unlimited).
func (ss *session) checkQuota(ctx context.Context, bytes int64) error {
	u, err := ss.srv.opts.Store.GetUser(ctx, ss.user)
	if err != nil {
		return ss.imapError("quota", err)
	}
	if u.QuotaBytes <= 0 {
		return nil
	}
	used, err := ss.srv.opts.Store.UserUsage(ctx, ss.user)
	if err != nil {
		return ss.imapError("quota", err)
	}
	if used+bytes > u.QuotaBytes {
		return &goimap.Error{Type: goimap.StatusResponseTypeNo, Code: goimap.ResponseCodeOverQuota,
			Text: fmt.Sprintf("Quota exceeded (%d of %d bytes used)", used, u.QuotaBytes)}
	}
	return nil
}
