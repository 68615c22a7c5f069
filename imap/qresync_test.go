package imap

import (
	"slices"
	"sync"
	"testing"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// vanishedLog collects the VANISHED responses a client receives outside SELECT.
type vanishedLog struct {
	mu   sync.Mutex
	data []goimap.VanishedData
}

func (l *vanishedLog) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{Vanished: func(d *goimap.VanishedData) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.data = append(l.data, *d)
	}}
}

func (l *vanishedLog) take() []goimap.VanishedData {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.data
	l.data = nil
	return d
}

func uidsOf(s goimap.UIDSet) []goimap.UID {
	var out []goimap.UID
	for _, r := range s {
		for u := r.Start; u <= r.Stop; u++ {
			out = append(out, u)
		}
	}
	return out
}

func TestQResync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "alice@example.org")
	var log vanishedLog
	c := e.dial("alice@example.org", log.handler())
	for i := range 5 {
		e.appendMsg(c, "INBOX", testMessage("m"+string(rune('a'+i)), "body"))
	}
	if !c.Caps().Has(goimap.CapQResync) {
		t.Fatal("QRESYNC not advertised")
	}
	if _, err := c.Enable(goimap.CapQResync).Wait(); err != nil {
		t.Fatal(err)
	}
	sd := e.selectBox(c, "INBOX")
	base := sd.HighestModSeq

	// Another session: expunge UID 2, flag UID 4.
	o := e.dial("alice@example.org", nil)
	e.selectBox(o, "INBOX")
	if err := o.Store(goimap.UIDSetNum(2), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Store(goimap.UIDSetNum(4), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}

	// The QRESYNC session hears VANISHED, not EXPUNGE, at its next command.
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	got := log.take()
	if len(got) != 1 || got[0].Earlier || !slices.Equal(uidsOf(got[0].UIDs), []goimap.UID{2}) {
		t.Fatalf("after NOOP: VANISHED %+v, want 2", got)
	}

	// UID FETCH 1:* (FLAGS) (CHANGEDSINCE base VANISHED): VANISHED (EARLIER) 2 and
	// the flagged message only.
	msgs, err := c.Fetch(goimap.UIDSet{{Start: 1, Stop: 0}}, &goimap.FetchOptions{UID: true, Flags: true, ChangedSince: base, Vanished: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got = log.take()
	if len(got) != 1 || !got[0].Earlier || !slices.Equal(uidsOf(got[0].UIDs), []goimap.UID{2}) {
		t.Errorf("UID FETCH VANISHED: %+v, want (EARLIER) 2", got)
	}
	if len(msgs) != 1 || msgs[0].UID != 4 {
		t.Errorf("UID FETCH CHANGEDSINCE: %d messages, want only UID 4", len(msgs))
	}

	// Own EXPUNGE: VANISHED 5, no EXPUNGE.
	if err := c.Store(goimap.UIDSetNum(5), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	exp, err := c.Expunge().Collect()
	if err != nil {
		t.Fatal(err)
	}
	got = log.take()
	if len(exp) != 0 || len(got) != 1 || !slices.Equal(uidsOf(got[0].UIDs), []goimap.UID{5}) {
		t.Errorf("own EXPUNGE: EXPUNGE %v, VANISHED %+v; want only VANISHED 5", exp, got)
	}

	// Reconnect with SELECT (QRESYNC (uidvalidity base)): VANISHED (EARLIER) 2,5 and
	// the changed message 4.
	c2 := e.dial("alice@example.org", nil)
	if _, err := c2.Enable(goimap.CapQResync).Wait(); err != nil {
		t.Fatal(err)
	}
	sd2, err := c2.Select("INBOX", &goimap.SelectOptions{QResync: &goimap.QResyncData{UIDValidity: sd.UIDValidity, ModSeq: base}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uidsOf(sd2.Vanished), []goimap.UID{2, 5}) {
		t.Errorf("SELECT QRESYNC VANISHED = %v, want 2,5", sd2.Vanished)
	}
	if sd2.NumMessages != 3 {
		t.Errorf("EXISTS %d, want 3", sd2.NumMessages)
	}

	// Known UIDs narrow the answer; a wrong UIDVALIDITY gets none.
	c3 := e.dial("alice@example.org", nil)
	c3.Enable(goimap.CapQResync).Wait()
	sd3, err := c3.Select("INBOX", &goimap.SelectOptions{QResync: &goimap.QResyncData{UIDValidity: sd.UIDValidity, ModSeq: base, KnownUIDs: goimap.UIDSet{{Start: 1, Stop: 3}}}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uidsOf(sd3.Vanished), []goimap.UID{2}) {
		t.Errorf("known-uids 1:3: VANISHED = %v, want 2", sd3.Vanished)
	}
	c4 := e.dial("alice@example.org", nil)
	c4.Enable(goimap.CapQResync).Wait()
	sd4, err := c4.Select("INBOX", &goimap.SelectOptions{QResync: &goimap.QResyncData{UIDValidity: sd.UIDValidity + 1, ModSeq: base}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(sd4.Vanished) != 0 {
		t.Errorf("wrong UIDVALIDITY: VANISHED %v, want none", sd4.Vanished)
	}
}

func TestVanishedIn(t *testing.T) {
	t.Parallel()
	v := &snapView{msgs: []snapMsg{{}, {}, {}}}
	for i, u := range []uint32{3, 4, 8} {
		v.msgs[i].UID = u
	}
	got := vanishedIn(v, []uint32{3, 4, 6, 8}, goimap.UIDSet{{Start: 1, Stop: 0}}, 11)
	if want := []goimap.UID{1, 2, 5, 7, 9, 10}; !slices.Equal(uidsOf(got), want) {
		t.Errorf("vanishedIn = %v, want %v", got, want)
	}
	got = vanishedIn(v, nil, goimap.UIDSet{{Start: 4, Stop: 7}}, 11)
	if want := []goimap.UID{5, 6, 7}; !slices.Equal(uidsOf(got), want) {
		t.Errorf("vanishedIn 4:7 = %v, want %v", got, want)
	}
}
