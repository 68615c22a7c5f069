package imap

import (
	"context"
	"slices"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
)

// List answers LIST and LSUB (which go-imap sends here as LIST (SUBSCRIBED
// RECURSIVEMATCH)) with the special-use (RFC 6154) and child (RFC 3348) attributes.
// Folders that another Maildir tool created are indexed on the way.
func (ss *session) List(ctx context.Context, w *imapserver.ListWriter, ref string, patterns []string, options *goimap.ListOptions) (err error) {
	defer ss.recovered(&err)
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "") {
		// RFC 3501 6.3.8: an empty pattern asks for the delimiter and root.
		return w.WriteList(&goimap.ListData{Attrs: []goimap.MailboxAttr{goimap.MailboxAttrNoSelect}, Delim: '/'})
	}
	if options == nil {
		options = &goimap.ListOptions{}
	}
	mbs, err := ss.syncFolders(ctx)
	if err != nil {
		return ss.imapError("list", err)
	}
	exists := map[string]store.Mailbox{}
	for _, mb := range mbs {
		exists[mb.Name] = mb
	}
	// Every name and every parent implied by a name ("A" for "A/B").
	var names []string
	hasChildren := map[string]bool{}
	subscribedChild := map[string]bool{}
	seen := map[string]bool{}
	for _, mb := range mbs {
		parts := strings.Split(mb.Name, "/")
		for i := 1; i <= len(parts); i++ {
			n := strings.Join(parts[:i], "/")
			if i < len(parts) {
				hasChildren[n] = true
				// RECURSIVEMATCH's CHILDINFO is for a subscribed descendant the
				// patterns do not list themselves (RFC 5258 3.5).
				if mb.Subscribed && !matchAny(mb.Name, ref, patterns) {
					subscribedChild[n] = true
				}
			}
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if a == store.InboxName {
			return -1
		}
		if b == store.InboxName {
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, name := range names {
		if !matchAny(name, ref, patterns) {
			continue
		}
		mb, ok := exists[name]
		d := &goimap.ListData{Delim: '/', Mailbox: name}
		switch {
		case options.SelectSubscribed && !(ok && mb.Subscribed):
			if !(options.SelectRecursiveMatch && subscribedChild[name]) {
				continue
			}
			d.ChildInfo = &goimap.ListDataChildInfo{Subscribed: true}
			if !ok {
				d.Attrs = append(d.Attrs, goimap.MailboxAttrNonExistent)
			}
		case options.SelectSpecialUse && (!ok || mb.SpecialUse == ""):
			continue
		case options.SelectRecursiveMatch && options.SelectSubscribed && subscribedChild[name]:
			d.ChildInfo = &goimap.ListDataChildInfo{Subscribed: true}
		}
		if !ok && !slices.Contains(d.Attrs, goimap.MailboxAttrNonExistent) {
			// A parent that exists only through its children (RFC 3501 6.3.8).
			d.Attrs = append(d.Attrs, goimap.MailboxAttrNoSelect)
		}
		if hasChildren[name] {
			d.Attrs = append(d.Attrs, goimap.MailboxAttrHasChildren)
		} else {
			d.Attrs = append(d.Attrs, goimap.MailboxAttrHasNoChildren)
		}
		if ok && mb.Subscribed && (options.ReturnSubscribed || options.SelectSubscribed) {
			d.Attrs = append(d.Attrs, goimap.MailboxAttrSubscribed)
		}
		if ok && mb.SpecialUse != "" {
			d.Attrs = append(d.Attrs, goimap.MailboxAttr(mb.SpecialUse))
		}
		if ok && options.ReturnStatus != nil {
			d.Status = statusData(mb, options.ReturnStatus)
		}
		if err := w.WriteList(d); err != nil {
			return err
		}
	}
	return nil
}

func matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		if imapserver.MatchList(name, '/', ref, p) {
			return true
		}
		// INBOX is case-insensitive (RFC 3501 5.1).
		if name == store.InboxName && imapserver.MatchList(name, '/', ref, strings.ToUpper(p)) {
			return true
		}
	}
	return false
}

// syncFolders returns the user's mailboxes after indexing folders that exist only on
// disk (made by another Maildir tool) and creating folders that exist only in the index
// (made by the admin CLI before the first login).
func (ss *session) syncFolders(ctx context.Context) ([]store.Mailbox, error) {
	st := ss.srv.opts.Store
	mbs, err := st.ListMailboxes(ctx, ss.user)
	if err != nil {
		return nil, err
	}
	folders, err := ss.md.Folders()
	if err != nil {
		return nil, err
	}
	indexed := map[string]bool{}
	for _, mb := range mbs {
		indexed[mb.Name] = true
	}
	changed := false
	for _, f := range folders {
		if indexed[f] {
			delete(indexed, f)
			continue
		}
		if _, err := store.NormalizeMailboxName(f); err != nil {
			continue // a name the index cannot hold; leave the folder alone
		}
		if _, err := st.EnsureMailbox(ctx, ss.user, f, ""); err != nil {
			return nil, err
		}
		changed = true
	}
	for name := range indexed {
		if _, err := ss.md.EnsureFolder(name); err != nil {
			return nil, err
		}
	}
	if changed {
		return st.ListMailboxes(ctx, ss.user)
	}
	return mbs, nil
}
