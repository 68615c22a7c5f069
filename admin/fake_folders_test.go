package admin

import (
	"context"
	"time"

	"github.com/postern/postern/doctor"
	"github.com/postern/postern/trace"
)

func (f *fakeBackend) MailboxStatus(ctx context.Context, address, name string) ([]MailboxStatus, error) {
	return []MailboxStatus{{Name: "INBOX", Messages: 2}}, f.record(ctx, "MailboxStatus %s %s", address, name)
}

func (f *fakeBackend) CreateMailbox(ctx context.Context, address, name, specialUse string) error {
	return f.record(ctx, "CreateMailbox %s %s %s", address, name, specialUse)
}

func (f *fakeBackend) DeleteMailbox(ctx context.Context, address, name string) error {
	return f.record(ctx, "DeleteMailbox %s %s", address, name)
}

func (f *fakeBackend) RenameMailbox(ctx context.Context, address, from, to string) error {
	return f.record(ctx, "RenameMailbox %s %s %s", address, from, to)
}

func (f *fakeBackend) ExpungeMailbox(ctx context.Context, address, name string, cutoff time.Time) (int, error) {
	return 3, f.record(ctx, "ExpungeMailbox %s %s %s", address, name, cutoff.UTC().Format(time.RFC3339))
}

func (f *fakeBackend) Sessions(ctx context.Context) ([]Session, error) {
	return []Session{{User: "a@example.org", Client: "127.0.0.1", Connected: fakeTime}}, f.record(ctx, "Sessions")
}

func (f *fakeBackend) Kick(ctx context.Context, address string) (int, error) {
	return 1, f.record(ctx, "Kick %s", address)
}

func (f *fakeBackend) Doctor(ctx context.Context) (doctor.Report, error) {
	return doctor.Report{OK: true, Findings: []doctor.Finding{{Check: "disk", Severity: doctor.OK, Message: "fine"}}}, f.record(ctx, "Doctor")
}

func (f *fakeBackend) Trace(ctx context.Context, q trace.Query) ([]trace.Story, error) {
	return []trace.Story{{Events: []trace.Event{{What: "message"}}}}, f.record(ctx, "Trace %s", q.MessageID)
}
