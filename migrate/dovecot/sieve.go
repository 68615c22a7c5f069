package dovecot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxSieveScript bounds a script read from disk.
const maxSieveScript = 1 << 20

// SieveScripts lists the NAME.sieve scripts of a Pigeonhole sieve directory and the
// name of the active one (the script the active symlink points to), "" if none.
func SieveScripts(dir, active string) (names []string, activeName string, err error) {
	if dir != "" {
		des, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("sieve directory: %w", err)
		}
		for _, de := range des {
			if n, ok := strings.CutSuffix(de.Name(), ".sieve"); ok && de.Type().IsRegular() && n != "" {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	if active == "" {
		return names, "", nil
	}
	target, err := os.Readlink(active)
	if errors.Is(err, fs.ErrNotExist) {
		return names, "", nil
	}
	if err != nil {
		// A regular file: Pigeonhole runs it, but it is in no script directory.
		if _, serr := os.Stat(active); serr == nil {
			return names, "", fmt.Errorf("active script %s is a plain file, not a link into the sieve directory", active)
		}
		return names, "", fmt.Errorf("active script: %w", err)
	}
	n, ok := strings.CutSuffix(filepath.Base(target), ".sieve")
	if !ok || !slices.Contains(names, n) {
		return names, "", fmt.Errorf("active script link points to %s, not to a script of the sieve directory", target)
	}
	return names, n, nil
}

// importSieve stores the user's scripts and activates the active one. A script that
// already exists with the same content is left alone, so a second run changes nothing.
func (im *Importer) importSieve(ctx context.Context, src UserSource, rep *UserReport) {
	names, active, err := SieveScripts(src.SieveDir, src.ActiveSieve)
	if err != nil {
		rep.Errors = append(rep.Errors, "sieve: "+err.Error())
	}
	for _, n := range names {
		line, err := im.importScript(ctx, src, n, n == active)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("sieve script %s: %v", n, err))
			continue
		}
		rep.Sieve = append(rep.Sieve, line)
	}
}

func (im *Importer) importScript(ctx context.Context, src UserSource, name string, active bool) (string, error) {
	path := filepath.Join(src.SieveDir, name+".sieve")
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Size() > maxSieveScript {
		return "", fmt.Errorf("%d bytes, more than %d", fi.Size(), maxSieveScript)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if im.o.CheckSieve != nil {
		if err := im.o.CheckSieve(ctx, src.Address, name, content); err != nil {
			return "", fmt.Errorf("does not compile in Postern, not imported: %w", err)
		}
	}
	state := ""
	if active {
		state = " (active)"
	}
	cur, err := im.st.GetScript(ctx, src.Address, name)
	same := err == nil && cur.Content == string(content) && cur.Active == active
	switch {
	case same:
		return "unchanged " + name + state, nil
	case im.o.DryRun:
		return "would store " + name + state, nil
	}
	if err == nil && cur.Content != string(content) {
		state += ", replacing the script of that name"
	}
	if err := im.st.PutScript(ctx, src.Address, name, string(content)); err != nil {
		return "", err
	}
	if active {
		if err := im.st.SetActive(ctx, src.Address, name); err != nil {
			return "", err
		}
	}
	return "stored " + name + state, nil
}
