package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern/postern/store/passhash"
)

// authenticateForeign checks a password against a hash imported from another server
// ("{SCHEME}...", see store/passhash) and, when it matches, replaces the hash with our
// own argon2id (compare-and-swap, as rehash does), so the imported hash is used once.
func (s *Store) authenticateForeign(ctx context.Context, cred credentials, password string) (User, error) {
	addr := cred.user.Address
	if err := s.acquireHash(ctx); err != nil {
		return User{}, err
	}
	ok, err := passhash.Verify(cred.phc, password)
	<-s.hashSem
	if err != nil {
		s.log.Error("store: imported password hash cannot be verified; reset it with postern user passwd", "user", addr, "scheme", passhash.Scheme(cred.phc), "err", err)
		return User{}, authFailed("stored password hash is unusable", addr)
	}
	if !ok {
		return User{}, authFailed("wrong password", addr)
	}
	if cred.user.Disabled {
		return User{}, authFailed("user is disabled", addr)
	}
	s.rehash(ctx, addr, cred.phc, password)
	return cred.user, nil
}

// checkImportedHash accepts a hash in the "{SCHEME}data" form of a scheme passhash
// verifies.
func checkImportedHash(h string) error {
	if !passhash.IsForeign(h) || strings.ContainsAny(h, "\r\n\x00") || len(h) > 1024 {
		return fmt.Errorf("%w: password hash must be {SCHEME}data on one line", ErrInvalid)
	}
	if !passhash.Known(passhash.Scheme(h)) {
		return fmt.Errorf("%w: password scheme %q is not supported", ErrInvalid, passhash.Scheme(h))
	}
	return nil
}
