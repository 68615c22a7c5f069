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
// RECURSIVEMATCH)) with the special-use (RFC 6154), child (RFC 3348) and LIST-EXTENDED
// (RFC 5258) attributes. Subscriptions are names, not mailboxes: LIST (SUBSCRIBED) lists
// a subscribed name whose mailbox is gone as \NonExistent. Folders that another Maildir
// tool created are indexed on the way.
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
	var subs []string
	if options.SelectSubscribed {
		if subs, err = ss.srv.opts.Store.Subscriptions(ctx, ss.user); err != nil {
			return ss.imapError("list", err)
		}
	}
	v := newListView(mbs, subs, func(name string) bool { return matchAny(name, ref, patterns) })
	for _, name := range v.names {
		if !matchAny(name, ref, patterns) {
			continue
		}
		if d := v.entry(name, options); d != nil {
			if err := w.WriteList(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// listView is what one LIST answers from: the mailboxes, the subscribed names, and the
// hierarchy both imply.
type listView struct {
	exists      map[string]store.Mailbox
	subscribed  map[string]bool
	hasChildren map[string]bool // a mailbox exists below it
	// subscribedChild: a subscribed name below it that the patterns do not list
	// themselves, which RECURSIVEMATCH reports as CHILDINFO (RFC 5258 3.5).
	subscribedChild map[string]bool
	names           []string // every candidate, INBOX first, then by name
}

func newListView(mbs []store.Mailbox, subs []string, matches func(string) bool) *listView {
	v := &listView{exists: map[string]store.Mailbox{}, subscribed: map[string]bool{},
		hasChildren: map[string]bool{}, subscribedChild: map[string]bool{}}
	seen := map[string]bool{}
	add := func(name string, sub, exists bool) {
		parts := strings.Split(name, "/")
		for i := 1; i <= len(parts); i++ {
			n := strings.Join(parts[:i], "/")
			if i < len(parts) {
				v.hasChildren[n] = v.hasChildren[n] || exists
				if sub && !matches(name) {
					v.subscribedChild[n] = true
				}
			}
			if !seen[n] {
				seen[n] = true
				v.names = append(v.names, n)
			}
		}
	}
	for _, mb := range mbs {
		v.exists[mb.Name] = mb
		add(mb.Name, mb.Subscribed, true)
	}
	for _, n := range subs {
		v.subscribed[n] = true
		if _, ok := v.exists[n]; !ok {
			add(n, true, false)
		}
	}
	slices.SortFunc(v.names, func(a, b string) int {
		if a == store.InboxName {
			return -1
		}
		if b == store.InboxName {
			return 1
		}
		return strings.Compare(a, b)
	})
	return v
}

// entry is the LIST line for name, or nil when the selection options leave it out.
func (v *listView) entry(name string, o *goimap.ListOptions) *goimap.ListData {
	mb, ok := v.exists[name]
	sub := ok && mb.Subscribed || v.subscribed[name]
	d := &goimap.ListData{Delim: '/', Mailbox: name}
	switch {
	case o.SelectSubscribed && !sub && !(o.SelectRecursiveMatch && v.subscribedChild[name]):
		return nil
	case o.SelectSpecialUse && (!ok || mb.SpecialUse == ""):
		return nil
	case !o.SelectSubscribed && !ok && !v.hasChildren[name]:
		return nil // only a subscription: not a mailbox, not a parent of one
	}
	if o.SelectRecursiveMatch && o.SelectSubscribed && v.subscribedChild[name] {
		d.ChildInfo = &goimap.ListDataChildInfo{Subscribed: true}
	}
	switch {
	case ok:
	case v.hasChildren[name]:
		// A parent that exists only through its children (RFC 3501 6.3.8).
		d.Attrs = append(d.Attrs, goimap.MailboxAttrNoSelect)
	default:
		// Neither a mailbox nor a parent of one: a subscription that outlived its
		// mailbox, or the parent of one (RFC 5258 3.4; implies \Noselect).
		d.Attrs = append(d.Attrs, goimap.MailboxAttrNonExistent)
	}
	if v.hasChildren[name] {
		d.Attrs = append(d.Attrs, goimap.MailboxAttrHasChildren)
	} else {
		d.Attrs = append(d.Attrs, goimap.MailboxAttrHasNoChildren)
	}
	if sub && (o.ReturnSubscribed || o.SelectSubscribed) {
		d.Attrs = append(d.Attrs, goimap.MailboxAttrSubscribed)
	}
	if ok && mb.SpecialUse != "" {
		d.Attrs = append(d.Attrs, goimap.MailboxAttr(mb.SpecialUse))
	}
	if ok && o.ReturnStatus != nil {
		d.Status = statusData(mb, o.ReturnStatus)
	}
	return d
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
