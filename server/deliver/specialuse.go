package deliver

import (
	"context"
	"errors"
	"strings"

	"github.com/postern/postern/sieve"
	"github.com/postern/postern/store"
)

// SpecialUseMailbox is the user's mailbox with the special-use attribute (RFC 6154,
// e.g. `\Junk`), for Sieve's fileinto :specialuse (RFC 8579); ok false when none has it.
func SpecialUseMailbox(ctx context.Context, st *store.Store, user, attr string) (name string, ok bool) {
	mbs, err := st.ListMailboxes(ctx, user)
	if err != nil {
		return "", false
	}
	for _, mb := range mbs {
		if mb.SpecialUse != "" && strings.EqualFold(mb.SpecialUse, attr) {
			return mb.Name, true
		}
	}
	return "", false
}

// specialUseExists is the engine's specialuse_exists (RFC 8579 section 4) over user's
// mailboxes: with mailbox "", whether any mailbox has attr.
func specialUseExists(st *store.Store, user string) func(ctx context.Context, mailbox, attr string) bool {
	return func(ctx context.Context, mailbox, attr string) bool {
		if mailbox == "" {
			_, ok := SpecialUseMailbox(ctx, st, user, attr)
			return ok
		}
		mb, err := st.GetMailbox(ctx, user, mailbox)
		return err == nil && strings.EqualFold(mb.SpecialUse, attr)
	}
}

// ResolveFileInto is the mailbox a fileinto stores into: with :specialuse the user's
// mailbox that has the attribute when one exists (RFC 8579 section 4), else the named
// one. With :create as well, a named mailbox that does not exist yet is created here with
// the attribute, so the next :specialuse finds it; if the attribute cannot be given
// (the store refuses it), delivery's own :create makes a plain mailbox.
func ResolveFileInto(ctx context.Context, st *store.Store, user string, f sieve.FileInto) string {
	if f.SpecialUse == "" {
		return f.Mailbox
	}
	if name, ok := SpecialUseMailbox(ctx, st, user, f.SpecialUse); ok {
		return name
	}
	if f.Create {
		if _, err := st.GetMailbox(ctx, user, f.Mailbox); errors.Is(err, store.ErrNotFound) {
			_, _ = st.EnsureMailbox(ctx, user, f.Mailbox, f.SpecialUse)
		}
	}
	return f.Mailbox
}
