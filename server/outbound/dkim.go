package outbound

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/postern/postern/server/config"
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

// NewSigner is the [dkim] sign signer with the keys of cfg.DKIMDir(), or nil (which signs
// nothing) when signing is off.
func NewSigner(cfg *config.Config, log *slog.Logger) *Signer {
	if !cfg.DKIM.Sign {
		return nil
	}
	return &Signer{keys: dkimkeys.Dir(cfg.DKIMDir()), log: log, wants: signWanted(cfg)}
}

// Signer signs outgoing mail whose From: domain, or a parent domain of it (the
// server's own MAILER-DAEMON@mail.example.org under example.org's key, which DMARC's
// relaxed alignment accepts), has an active key in state_dir/dkim ([dkim] sign).
// Mail from other domains (forwards, SRS) goes out unsigned. A signing failure is
// logged and the message sent unsigned: refusing it would stop mail over a key problem
// the receiver may not even check.
type Signer struct {
	keys dkimkeys.Dir
	log  *slog.Logger
	// wants says whether mail from the envelope sender to rcpts is signed at all; nil
	// signs everything. See signWanted.
	wants func(from string, rcpts []string) bool
}

// signWanted is the [dkim] signing decision per message: mail that leaves directly for
// the recipients' MX hosts ([[route]] via = "direct", or no [relay]) is signed, because
// nobody else will; mail through a smart host only with sign_via_relay, because smart
// hosts such as Fastmail sign with their own keys. A message with recipients on both
// kinds of route is signed.
func signWanted(cfg *config.Config) func(from string, rcpts []string) bool {
	if cfg.DKIM.SignViaRelay {
		return nil
	}
	return func(from string, rcpts []string) bool {
		sender := domainPart(from)
		for _, r := range rcpts {
			if cfg.RouteFor(domainPart(r), sender) == config.ViaDirect {
				return true
			}
		}
		return false
	}
}

// Wanted says whether mail from the envelope sender from to rcpts is to be signed;
// false for a nil signer ([dkim] sign = false).
func (s *Signer) Wanted(from string, rcpts []string) bool {
	return s != nil && (s.wants == nil || s.wants(from, rcpts))
}

// activeKey is the active key of domain or of its nearest parent domain that has one
// (never a top-level domain alone).
func (s *Signer) activeKey(domain string) (*dkimkeys.Key, error) {
	for {
		key, err := s.keys.Active(domain)
		if !errors.Is(err, dkimkeys.ErrNoKey) {
			return key, err
		}
		i := strings.IndexByte(domain, '.')
		if i < 0 || !strings.Contains(domain[i+1:], ".") {
			return nil, err
		}
		domain = domain[i+1:]
	}
}

// signature returns the DKIM-Signature field for msg, or nil when its From:
// domain has no key.
func (s *Signer) signature(env *smtp.Envelope, msg smtp.Message) []byte {
	rc, err := msg.Open()
	if err != nil {
		return nil
	}
	domains, err := senderauth.FromDomains(rc)
	rc.Close()
	if err != nil || len(domains) != 1 {
		return nil
	}
	key, err := s.activeKey(domains[0])
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

// Sign prepends the DKIM-Signature (if any) to the trace header a
// queued message gets; a nil Signer returns header as it is.
func (s *Signer) Sign(env *smtp.Envelope, msg smtp.Message, header []byte) []byte {
	if s == nil {
		return header
	}
	sig := s.signature(env, msg)
	if sig == nil {
		return header
	}
	return append(bytes.Clone(sig), header...)
}
