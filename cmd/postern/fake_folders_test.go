package main

import (
	"context"
	"time"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/doctor"
	"github.com/postern/postern/trace"
)

func (m *memBackend) MailboxStatus(_ context.Context, address, name string) ([]admin.MailboxStatus, error) {
	if err := m.knownUser(address); err != nil {
		return nil, err
	}
	all := []admin.MailboxStatus{{Name: "INBOX", Messages: 2, Unseen: 1, Size: 2048, UIDValidity: 7, UIDNext: 3}, {Name: "Trash", SpecialUse: `\Trash`}}
	if name == "" {
		return all, nil
	}
	for _, mb := range all {
		if mb.Name == name {
			return []admin.MailboxStatus{mb}, nil
		}
	}
	return nil, admin.Errorf(admin.CodeNotFound, "see the mailboxes: postern mailbox list "+address, "mailbox %q: not found", name)
}

func (m *memBackend) knownUser(address string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[address]; !ok {
		return admin.Errorf(admin.CodeNotFound, "see the users: postern user list", "user %s: not found", address)
	}
	return nil
}

func (m *memBackend) CreateMailbox(_ context.Context, address, _, _ string) error {
	return m.knownUser(address)
}

func (m *memBackend) DeleteMailbox(_ context.Context, address, _ string) error {
	return m.knownUser(address)
}

func (m *memBackend) RenameMailbox(_ context.Context, address, _, _ string) error {
	return m.knownUser(address)
}

func (m *memBackend) ExpungeMailbox(_ context.Context, address, _ string, cutoff time.Time) (int, error) {
	if time.Since(cutoff) < 24*time.Hour {
		return 0, nil
	}
	return 4, m.knownUser(address)
}

func (m *memBackend) Sessions(context.Context) ([]admin.Session, error) {
	return []admin.Session{{User: "alice@example.org", Client: "192.0.2.7", Connected: m.created, Mailbox: "INBOX"}}, nil
}

func (m *memBackend) Kick(_ context.Context, address string) (int, error) {
	return 1, m.knownUser(address)
}

func (m *memBackend) Doctor(context.Context) (doctor.Report, error) {
	return doctor.Report{Findings: []doctor.Finding{{Check: "relay-tls", Severity: doctor.Problem,
		Message: "[relay] uses port 465 with tls = \"starttls\".", Fix: "set tls = \"implicit\""}}}, nil
}

func (m *memBackend) Trace(context.Context, trace.Query) ([]trace.Story, error) {
	return []trace.Story{{Events: []trace.Event{{Time: m.created, What: "message", Attrs: map[string]string{"sid": "S1", "message_id": "m@example.org"}}}}}, nil
}
