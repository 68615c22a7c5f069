package imap

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// flagChange is the outcome of a flag change on one message.
type flagChange struct {
	flags  []string
	modseq uint64
}

// changeFlags applies fn to the flags of msgs: each file is renamed first (the file name
// is the truth that Dovecot and mutt read), and the index follows in one transaction,
// fed while the renames go on (flagFeed), with a new MODSEQ per message; the snapshot
// takes the result without reading it back. Messages whose flags do not change are
// left alone, as are messages whose file has gone (expunged by another program; the
// next rescan drops them). Other sessions are woken. On an error the folder's new
// stamp is not recorded, so the next poll rescans it and the index catches up with
// whatever was renamed.
func (ss *session) changeFlags(ctx context.Context, sel *selected, msgs []snapMsg, fn func([]string) []string) (_ map[uint32]flagChange, err error) {
	unlock := ss.srv.locks.lock(ss.user)
	defer unlock()
	f, err := ss.srv.newFolder(sel.dir)
	if err != nil {
		return nil, err
	}
	// One batch: dovecot-keywords read once, no fsync per rename (see
	// maildir.FlagRenamer for why that is safe for flags).
	ren, err := maildir.NewFlagRenamer(sel.dir, f.kw)
	if err != nil {
		return nil, err
	}
	own := ss.srv.beginOwnChange(sel.dir)
	defer func() {
		if err == nil {
			own.done()
		}
	}()
	feed := newFlagFeed(ctx, ss.srv.opts.Store, sel.id)
	defer feed.abort()
	newFlags := map[uint32][]string{}
	for _, m := range msgs {
		want := fn(m.Flags)
		if sameFlags(want, m.Flags) {
			continue
		}
		var newPath string
		_, err := f.withPath(m, func(p string) error {
			var err error
			newPath, err = ren.SetFlags(p, want)
			return err
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m.cell.path.Store(&newPath)
		f.kw = ren.Keywords()
		_, stored := maildir.ParseInfo(filepath.Base(newPath), f.kw)
		if err := feed.add(store.FlagUpdate{UID: m.UID, Flags: stored}); err != nil {
			return nil, err
		}
		newFlags[m.UID] = stored
	}
	if len(newFlags) == 0 {
		return nil, nil
	}
	res, err := feed.commit()
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]flagChange, len(res.ModSeqs))
	for uid, ms := range res.ModSeqs {
		out[uid] = flagChange{flags: newFlags[uid], modseq: ms}
		sel.own[uid] = ms
	}
	sel.snap.applyFlags(out, res.From, res.To)
	ss.srv.hub.notify(ss.user, sel.name, sel.notify)
	return out, nil
}

func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !containsFold(b, x) {
			return false
		}
	}
	return true
}

func containsFold(list []string, f string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, f) })
}

// applyStore computes STORE's result on one message's flags (RFC 3501 6.4.6).
func applyStore(op goimap.StoreFlagsOp, flags []goimap.Flag) func([]string) []string {
	arg := fromFlags(flags)
	return func(old []string) []string {
		switch op {
		case goimap.StoreFlagsSet:
			return dedupFold(arg)
		case goimap.StoreFlagsAdd:
			return dedupFold(append(slices.Clone(old), arg...))
		default:
			return slices.DeleteFunc(slices.Clone(old), func(f string) bool { return containsFold(arg, f) })
		}
	}
}

func dedupFold(fs []string) []string {
	var out []string
	for _, f := range fs {
		if !containsFold(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Store changes flags (STORE, UID STORE) and answers with the new FLAGS unless .SILENT.
// With UNCHANGEDSINCE (RFC 7162 3.1.3), messages changed after that MODSEQ are skipped
// and reported in a MODIFIED response code.
func (ss *session) Store(ctx context.Context, w *imapserver.FetchWriter, numSet goimap.NumSet, sf *goimap.StoreFlags, options *goimap.StoreOptions) (err error) {
	defer ss.recovered(&err)
	sel, err := ss.requireSelected()
	if err != nil {
		return err
	}
	if sel.readOnly {
		return ss.readOnlyError()
	}
	for _, f := range sf.Flags {
		if strings.HasPrefix(string(f), `\`) && !slices.Contains(systemFlags, f) && f != flagRecent {
			if _, ok := letterOf[strings.ToLower(string(f))]; !ok {
				return &goimap.Error{Type: goimap.StatusResponseTypeBad, Text: "Unknown system flag " + string(f)}
			}
		}
	}
	msgs, seqs, err := ss.pick(ctx, sel, sel.resolve(numSet))
	if err != nil {
		return ss.imapError("store", err)
	}
	var modified goimap.UIDSet
	var modifiedSeq goimap.SeqSet
	if options != nil && options.UnchangedSince > 0 {
		keep := msgs[:0]
		keepSeq := seqs[:0]
		for i, m := range msgs {
			if m.ModSeq > options.UnchangedSince {
				modified.AddNum(goimap.UID(m.UID))
				modifiedSeq.AddNum(seqs[i])
				continue
			}
			keep = append(keep, m)
			keepSeq = append(keepSeq, seqs[i])
		}
		msgs, seqs = keep, keepSeq
	}
	if err := ss.tellHighestModSeq(w, sel); err != nil {
		return err
	}
	changes, err := ss.changeFlags(ctx, sel, msgs, applyStore(sf.Op, sf.Flags))
	if err != nil {
		return ss.imapError("store", err)
	}
	ss.sieveFlagged(sel.name, msgs, changes)
	condstore := options != nil && options.UnchangedSince > 0 || ss.conn != nil && ss.conn.CondStoreEnabled()
	showRecent := ss.recentShown(sel)
	for i, m := range msgs {
		ch, changed := changes[m.UID]
		if sf.Silent && !(changed && condstore) {
			continue
		}
		flags, modseq := m.Flags, m.ModSeq
		if changed {
			flags, modseq = ch.flags, ch.modseq
		}
		if !sf.Silent {
			if err := ss.announceKeywords(w, sel, flags); err != nil {
				return err
			}
		}
		rw := w.CreateMessage(seqs[i])
		if numKindOf(numSet) == imapserver.NumKindUID {
			rw.WriteUID(goimap.UID(m.UID))
		}
		if !sf.Silent {
			rw.WriteFlags(sel.flagsOf(m.UID, flags, showRecent))
		}
		if condstore {
			rw.WriteModSeq(modseq)
		}
		if err := rw.Close(); err != nil {
			return err
		}
	}
	if len(modified) > 0 {
		set := modifiedSeq.String()
		if numKindOf(numSet) == imapserver.NumKindUID {
			set = modified.String()
		}
		return &goimap.Error{Type: goimap.StatusResponseTypeOK, Code: goimap.ResponseCode("MODIFIED " + set), Text: "Some messages were modified"}
	}
	return nil
}
