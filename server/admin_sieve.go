package server

import (
	"context"
	"errors"

	"github.com/postern/postern/admin"
	"github.com/postern/postern/sieve"
	"github.com/postern/postern/store"
)

func sieveHints(address string) hints {
	return hints{
		notFound: "see the scripts: postern sieve list " + address,
		exists:   "",
		inUse:    "deactivate it first: postern sieve activate " + address,
	}
}

func (b *adminBackend) ListSieveScripts(ctx context.Context, address string) ([]admin.SieveScript, error) {
	list, err := b.st.ListScripts(ctx, address)
	if err != nil {
		return nil, adminError(err, hints{notFound: hintListUsers})
	}
	out := make([]admin.SieveScript, len(list))
	for i, sc := range list {
		out[i] = toAdminSieve(sc)
	}
	return out, nil
}

func (b *adminBackend) GetSieveScript(ctx context.Context, address, name string) (admin.SieveScript, error) {
	sc, err := b.st.GetScript(ctx, address, name)
	if err != nil {
		return admin.SieveScript{}, adminError(err, sieveHints(address))
	}
	return toAdminSieve(sc), nil
}

// PutSieveScript compiles before storing: a script that would fail at every delivery is
// refused now, with its line and column, as ManageSieve's PUTSCRIPT does.
func (b *adminBackend) PutSieveScript(ctx context.Context, address, name, content string) (admin.SieveScript, error) {
	if err := b.compileSieve(ctx, address, name, []byte(content)); err != nil {
		var ce *sieve.CompileError
		if errors.As(err, &ce) {
			return admin.SieveScript{}, admin.Errorf(admin.CodeInvalid, "check it locally: postern sieve check FILE",
				"sieve script %s: line %d, column %d: %s error: %s", name, ce.Line, ce.Col, ce.Class, ce.Msg)
		}
		return admin.SieveScript{}, err
	}
	if err := b.st.PutScript(ctx, address, name, content); err != nil {
		return admin.SieveScript{}, adminError(err, hints{notFound: hintListUsers})
	}
	return b.GetSieveScript(ctx, address, name)
}

func (b *adminBackend) ActivateSieveScript(ctx context.Context, address, name string) error {
	return adminError(b.st.SetActive(ctx, address, name), sieveHints(address))
}

func (b *adminBackend) DeleteSieveScript(ctx context.Context, address, name string) error {
	return adminError(b.st.DeleteScript(ctx, address, name), sieveHints(address))
}

func toAdminSieve(sc store.SieveScript) admin.SieveScript {
	return admin.SieveScript{Name: sc.Name, Active: sc.Active, Size: sc.Size, UpdatedAt: sc.UpdatedAt, Content: sc.Content}
}
