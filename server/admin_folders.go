package server

import (
	"context"
	"errors"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/doctor"
	"github.com/postern/postern/imap"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// mailboxManager is what the owner's mailbox commands need of the IMAP server: every
// change goes through it, under the same per-user lock as its sessions' writes, so the
// sessions that have the mailbox selected are told (expunges announced).
type mailboxManager interface {
	CreateMailbox(ctx context.Context, user, name, specialUse string) error
	DeleteMailbox(ctx context.Context, user, name string) error
	RenameMailbox(ctx context.Context, user, from, to string) error
	ExpungeBefore(ctx context.Context, user, name string, cutoff time.Time) (int, error)
	Sessions() []imap.SessionInfo
	Kick(user string) int
}

// folderAdmin answers postern mailbox, who and kick. It is embedded in adminBackend.
type folderAdmin struct {
	st    *store.Store
	boxes mailboxManager
}

const hintMailboxList = "see the mailboxes: postern mailbox list "

func (b *folderAdmin) folderError(err error, address string) error {
	h := hints{notFound: hintMailboxList + address, exists: hintMailboxList + address}
	switch {
	case errors.Is(err, maildir.ErrExists):
		return admin.NewError(admin.CodeExists, h.exists, err)
	case errors.Is(err, maildir.ErrNoFolder):
		return admin.NewError(admin.CodeNotFound, h.notFound, err)
	case errors.Is(err, maildir.ErrBadName):
		return admin.NewError(admin.CodeInvalid, "", err)
	}
	return adminError(err, h)
}

func (b *folderAdmin) MailboxStatus(ctx context.Context, address, name string) ([]admin.MailboxStatus, error) {
	u, err := b.st.GetUser(ctx, address)
	if err != nil {
		return nil, adminError(err, hints{notFound: hintListUsers})
	}
	var mbs []store.Mailbox
	if name == "" {
		mbs, err = b.st.ListMailboxes(ctx, u.Address)
	} else {
		var mb store.Mailbox
		mb, err = b.st.GetMailbox(ctx, u.Address, name)
		mbs = []store.Mailbox{mb}
	}
	if err != nil {
		return nil, b.folderError(err, u.Address)
	}
	out := make([]admin.MailboxStatus, len(mbs))
	for i, mb := range mbs {
		out[i] = admin.MailboxStatus{Name: mb.Name, SpecialUse: mb.SpecialUse, Subscribed: mb.Subscribed,
			Messages: mb.Messages, Unseen: mb.Unseen, Size: mb.Size, UIDValidity: mb.UIDValidity,
			UIDNext: mb.UIDNext, HighestModSeq: mb.HighestModSeq}
	}
	return out, nil
}

func (b *folderAdmin) CreateMailbox(ctx context.Context, address, name, specialUse string) error {
	return b.folderError(b.boxes.CreateMailbox(ctx, address, name, specialUse), address)
}

func (b *folderAdmin) DeleteMailbox(ctx context.Context, address, name string) error {
	return b.folderError(b.boxes.DeleteMailbox(ctx, address, name), address)
}

func (b *folderAdmin) RenameMailbox(ctx context.Context, address, from, to string) error {
	return b.folderError(b.boxes.RenameMailbox(ctx, address, from, to), address)
}

func (b *folderAdmin) ExpungeMailbox(ctx context.Context, address, name string, cutoff time.Time) (int, error) {
	n, err := b.boxes.ExpungeBefore(ctx, address, name, cutoff)
	return n, b.folderError(err, address)
}

func (b *folderAdmin) Sessions(context.Context) ([]admin.Session, error) {
	ss := b.boxes.Sessions()
	out := make([]admin.Session, len(ss))
	for i, s := range ss {
		out[i] = admin.Session{User: s.User, Client: s.Client, TLS: s.TLS, Connected: s.Connected, Mailbox: s.Mailbox}
	}
	return out, nil
}

func (b *folderAdmin) Kick(_ context.Context, address string) (int, error) {
	return b.boxes.Kick(address), nil
}

// currentConfig returns the config in force (it changes on SIGHUP).
func (s *Server) currentConfig() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// doctorAdmin answers postern doctor. It is embedded in adminBackend.
type doctorAdmin struct {
	run func(ctx context.Context) doctor.Report
}

func (b *doctorAdmin) Doctor(ctx context.Context) (doctor.Report, error) {
	if b.run == nil {
		return doctor.Report{}, errors.New("the doctor is not available in this daemon")
	}
	return b.run(ctx), nil
}
