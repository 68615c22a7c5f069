package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Load reads, decodes and validates the config file at path. On failure the
// error lists every problem found, one per line (see Error).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes and validates a config document. filename names it in
// errors and is kept in Config.File; relative paths in the document are
// resolved against the directory of filename (the current directory when
// filename is ""), socket paths against runtime_dir. Keys absent from the
// document keep their Default values.
func Parse(data []byte, filename string) (*Config, error) {
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		return nil, tomlError(filename, err)
	}
	entries, err := scanDocument(data)
	if err != nil {
		// Unmarshal accepted the document, so the scanner should too.
		return nil, &Error{File: filename, Msg: fmt.Sprintf("invalid TOML: %v", err)}
	}
	lines := lineMap(entries)
	pr := &problems{file: filename, lines: lines, skip: make(map[string]bool)}
	for _, path := range checkEntries(entries, pr) {
		prune(raw, path)
		pr.skip[strings.Join(path, ".")] = true
	}

	cfg := Default()
	cfg.File = filename
	cfg.lines = lines
	if _, ok := raw["relay"]; ok {
		// Zero, not DefaultRelay: applyDefaults must see which of host, port
		// and tls the file gave, so that a provider fills only the others.
		cfg.Relay = &Relay{}
	}
	if t, ok := raw["tls"].(map[string]any); ok {
		if _, ok := t["acme"]; ok {
			a := DefaultACME()
			cfg.TLS.ACME = &a
		}
	}
	if err := decodeStrict(raw, &cfg); err != nil {
		pr.list = append(pr.list, &Error{File: filename, Msg: err.Error()})
		return nil, pr.err()
	}
	cfg.applyRelayDefaults()
	// cert and key replace the default self_signed = true; only an explicit
	// self_signed = true next to them is a contradiction (see Validate).
	if _, explicit := lines["tls.self_signed"]; !explicit && (cfg.TLS.Cert != "" || cfg.TLS.Key != "") {
		cfg.TLS.SelfSigned = false
	}
	base, err := filepath.Abs(filepath.Dir(filename))
	if err != nil {
		return nil, fmt.Errorf("resolving paths of %s: %w", filename, err)
	}
	cfg.resolvePaths(base)
	cfg.validate(pr)
	if err := pr.err(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// tomlError turns a go-toml parse error into an Error with line and column.
func tomlError(filename string, err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		return &Error{File: filename, Line: line, Column: col, Msg: "invalid TOML: " + msg}
	}
	return &Error{File: filename, Msg: fmt.Sprintf("invalid TOML: %v", err)}
}

// prune deletes path from the nested map raw, so the strict decoder never
// sees a key that was already reported. A segment below an array of tables is
// the element number (from 1), as scanDocument writes it.
func prune(raw map[string]any, path []string) {
	var cur any = raw
	for i, p := range path {
		lastSeg := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			if lastSeg {
				delete(c, p)
				return
			}
			cur = c[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > len(c) {
				return
			}
			if lastSeg {
				c[n-1] = map[string]any{} // keep the numbering of the others
				return
			}
			cur = c[n-1]
		case []map[string]any:
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > len(c) {
				return
			}
			if lastSeg {
				c[n-1] = map[string]any{}
				return
			}
			cur = c[n-1]
		default:
			return
		}
	}
}

// decodeStrict decodes the checked map into cfg with unknown fields
// disallowed. The map is re-encoded because go-toml decodes only documents;
// the file is small, and this keeps go-toml the only TOML decoder.
func decodeStrict(raw map[string]any, cfg *Config) error {
	doc, err := toml.Marshal(raw)
	if err != nil {
		return fmt.Errorf("re-encoding the checked document: %w", err)
	}
	dec := toml.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		var sme *toml.StrictMissingError
		if errors.As(err, &sme) {
			return fmt.Errorf("decoding: %s", sme.String())
		}
		return fmt.Errorf("decoding: %w", err)
	}
	return nil
}
