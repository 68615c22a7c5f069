package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/postern/postern/server/dkimkeys"
	"github.com/postern/postern/smtp"
	"github.com/postern/postern/smtp/senderauth"
)

// dkimSignedHeaders are the fields signed (RFC 6376 section 5.4.1's list, less
// the trace fields). From is signed twice, so that a second From: added on
// the way breaks the signature (section 8.15).
var dkimSignedHeaders = []string{"From", "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "List-Id",
	"List-Unsubscribe", "List-Unsubscribe-Post"}

// dkimSigner signs outgoing mail whose From: domain has an active key in
// state_dir/dkim ([dkim] sign; with a relay only with sign_via_relay).
// Mail from other domains (forwards, SRS) goes out unsigned. A signing
// failure is logged and the message sent unsigned: refusing it would stop
// mail over a key problem the receiver may not even check.
type dkimSigner struct {
	keys dkimkeys.Dir
	log  *slog.Logger
}

// signature returns the DKIM-Signature field for msg, or nil when its From:
// domain has no key.
func (s *dkimSigner) signature(env *smtp.Envelope, msg smtp.Message) []byte {
	rc, err := msg.Open()
	if err != nil {
		return nil
	}
	domains, err := senderauth.FromDomains(rc)
	rc.Close()
	if err != nil || len(domains) != 1 {
		return nil
	}
	key, err := s.keys.Active(domains[0])
	if errors.Is(err, dkimkeys.ErrNoKey) {
		return nil
	}
	if err == nil {
		var sig string
		if sig, err = sign(key, msg); err == nil {
			return []byte(sig)
		}
	}
	s.log.Error("dkim signing failed; sending unsigned", smtp.KeySession, env.Session.ID, "id", env.ID,
		"domain", domains[0], "err", err)
	return nil
}

// sign returns the DKIM-Signature field (CRLF-terminated) for msg.
func sign(key *dkimkeys.Key, msg smtp.Message) (string, error) {
	rc, err := msg.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	signer, err := dkim.NewSigner(&dkim.SignOptions{
		Domain: key.Domain, Selector: key.Selector, Signer: key.Signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: dkimSignedHeaders,
	})
	if err != nil {
		return "", fmt.Errorf("dkim: %w", err)
	}
	if _, err := io.Copy(signer, rc); err != nil {
		signer.Close()
		return "", fmt.Errorf("dkim: %w", err)
	}
	if err := signer.Close(); err != nil {
		return "", fmt.Errorf("dkim: %w", err)
	}
	return signer.Signature(), nil
}

// withSignature prepends the DKIM-Signature (if any) to the trace header a
// queued message gets.
func (s *dkimSigner) withSignature(env *smtp.Envelope, msg smtp.Message, header []byte) []byte {
	if s == nil {
		return header
	}
	sig := s.signature(env, msg)
	if sig == nil {
		return header
	}
	return append(bytes.Clone(sig), header...)
}
