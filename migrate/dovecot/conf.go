package dovecot

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/postern/postern/store"
)

// Limits on a Dovecot configuration: it is outside input, read as root.
const (
	MaxConfBytes    = 8 << 20 // all files together (exported: what a caller reading stdin allows)
	maxConfFiles    = 256     // files read through !include
	maxIncludeDepth = 10
	maxSectionDepth = 16
	maxConfLine     = 64 << 10
)

// ConfFiles is where ReadDovecotConf reads a configuration and what it includes.
type ConfFiles interface {
	ReadFile(path string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

// OSConfFiles reads the configuration from the file system.
type OSConfFiles struct{}

// ReadFile reads path, refusing more than MaxConfBytes.
func (OSConfFiles) ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfBytes+1))
	if err == nil && len(data) > MaxConfBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxConfBytes)
	}
	return data, err
}

// Glob expands an !include pattern.
func (OSConfFiles) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

// DovecotConf is what an import takes from Dovecot's configuration.
type DovecotConf struct {
	// SpecialUse maps Postern folder names ('/' separated UTF-8) to the RFC 6154
	// attribute the configuration gives them (mailbox NAME { special_use = ... } in
	// the private namespaces).
	SpecialUse map[string]string
	// Warnings are settings read but not taken, one line each.
	Warnings []string
}

// confSection is one open section while parsing.
type confSection struct {
	typ, name string
	settings  map[string]string
	mailboxes []confMailbox // of a namespace, or of the top level
}

type confMailbox struct{ name, specialUse, where string }

// confNamespace is a namespace as the configuration left it (repeated blocks merged).
type confNamespace struct {
	settings  map[string]string
	mailboxes []confMailbox
}

// setting is a namespace setting under its 2.3 name (separator) or its 2.4 one
// (namespace_separator).
func (ns *confNamespace) setting(name string) string {
	if v, ok := ns.settings[name]; ok {
		return v
	}
	return ns.settings["namespace_"+name]
}

// confParser holds the state of one ReadDovecotConf.
type confParser struct {
	files      ConfFiles
	bytes      int
	nfiles     int
	stack      []*confSection
	top        map[string]string // top-level settings (mail_location)
	topBoxes   []confMailbox
	namespaces []*confNamespace
	byName     map[string]*confNamespace
}

// ReadDovecotConf reads Dovecot's configuration at path (dovecot.conf with its
// !include and !include_try files, or what doveconf -n printed) through files.
func ReadDovecotConf(files ConfFiles, path string) (*DovecotConf, error) {
	data, err := files.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dovecot config: %w", err)
	}
	return ParseDovecotConf(data, path, files)
}

// ParseDovecotConf parses a configuration named name. Includes are read through files
// relative to name's directory; with files nil an !include is an error.
func ParseDovecotConf(data []byte, name string, files ConfFiles) (*DovecotConf, error) {
	p := &confParser{files: files, top: map[string]string{}, byName: map[string]*confNamespace{}}
	if err := p.parse(data, name, 0); err != nil {
		return nil, err
	}
	if len(p.stack) > 0 {
		s := p.stack[len(p.stack)-1]
		return nil, fmt.Errorf("dovecot config %s: section %s %s is not closed", name, s.typ, s.name)
	}
	return p.result(), nil
}

// parse reads one file's lines; depth is how many includes deep it is.
func (p *confParser) parse(data []byte, name string, depth int) error {
	p.bytes += len(data)
	p.nfiles++
	if p.bytes > MaxConfBytes || p.nfiles > maxConfFiles {
		return fmt.Errorf("dovecot config %s: more than %d bytes or %d files in all", name, MaxConfBytes, maxConfFiles)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxConfLine)
	lineNo, pending := 0, ""
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`)
			continue
		}
		line, pending = pending+line, ""
		if err := p.line(line, name, depth); err != nil {
			return fmt.Errorf("dovecot config %s line %d: %w", name, lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("dovecot config %s: %w", name, err)
	}
	if pending != "" {
		if err := p.line(pending, name, depth); err != nil {
			return fmt.Errorf("dovecot config %s line %d: %w", name, lineNo, err)
		}
	}
	return nil
}

// line handles one logical line.
func (p *confParser) line(line, file string, depth int) error {
	line = strings.TrimSpace(stripComment(line))
	switch {
	case line == "":
		return nil
	case strings.HasPrefix(line, "!include"):
		return p.include(line, file, depth)
	case line == "}":
		return p.closeSection()
	case strings.HasSuffix(line, "{"):
		return p.openSection(strings.TrimSpace(strings.TrimSuffix(line, "{")))
	}
	key, value, ok := strings.Cut(line, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.ContainsAny(key, " \t{}") {
		return fmt.Errorf("expected 'key = value', a section or '}', got %q", clipLine(line))
	}
	value, err := unquoteConf(strings.TrimSpace(value))
	if err != nil {
		return err
	}
	if len(p.stack) == 0 {
		p.top[key] = value
	} else {
		p.stack[len(p.stack)-1].settings[key] = value
	}
	return nil
}

// stripComment cuts line at a '#' outside quotes, as Dovecot does.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && c == '#':
			return line[:i]
		}
	}
	return line
}

// unquoteConf removes the quotes of a "..." or '...' value (backslash escapes the next
// character); an unquoted value is taken as it is, backslashes included (\Junk).
func unquoteConf(v string) (string, error) {
	if v == "" || (v[0] != '"' && v[0] != '\'') {
		return v, nil
	}
	q := v[0]
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == q:
			if strings.TrimSpace(v[i+1:]) != "" {
				return "", fmt.Errorf("text after the closing quote in %q", clipLine(v))
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated quote in %q", clipLine(v))
}

func (p *confParser) include(line, file string, depth int) error {
	directive, arg, _ := strings.Cut(line, " ")
	optional := directive == "!include_try"
	if !optional && directive != "!include" {
		return fmt.Errorf("unknown directive %q", directive)
	}
	pattern, err := unquoteConf(strings.TrimSpace(arg))
	if err != nil || pattern == "" {
		return fmt.Errorf("%s needs a file name", directive)
	}
	if p.files == nil {
		return fmt.Errorf("%s %s: includes are not read here; give the file itself or doveconf -n output", directive, pattern)
	}
	if depth >= maxIncludeDepth {
		return fmt.Errorf("%s %s: includes nested deeper than %d (a loop?)", directive, pattern, maxIncludeDepth)
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(file), pattern)
	}
	paths, err := p.files.Glob(pattern)
	if err != nil {
		return fmt.Errorf("%s %s: %w", directive, pattern, err)
	}
	if len(paths) == 0 && !optional {
		return fmt.Errorf("!include %s: no such file (use !include_try for an optional one)", pattern)
	}
	for _, path := range paths {
		data, err := p.files.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) && optional {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", directive, err)
		}
		if err := p.parse(data, path, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (p *confParser) openSection(head string) error {
	if len(p.stack) >= maxSectionDepth {
		return fmt.Errorf("sections nested deeper than %d", maxSectionDepth)
	}
	typ, name, _ := strings.Cut(head, " ")
	name, err := unquoteConf(strings.TrimSpace(name))
	if err != nil {
		return err
	}
	if typ == "" || strings.ContainsAny(typ, "={}\"'") || strings.HasPrefix(name, "=") {
		return fmt.Errorf("bad section header %q", clipLine(head))
	}
	p.stack = append(p.stack, &confSection{typ: typ, name: name, settings: map[string]string{}})
	return nil
}

func (p *confParser) closeSection() error {
	if len(p.stack) == 0 {
		return errors.New("'}' without an open section")
	}
	s := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	switch s.typ {
	case "mailbox":
		su, ok := s.settings["special_use"]
		if !ok {
			su, ok = s.settings["mailbox_special_use"]
		}
		if !ok {
			return nil
		}
		mb := confMailbox{name: s.name, specialUse: su, where: "mailbox " + s.name}
		if ns := p.enclosingNamespace(); ns != nil {
			ns.mailboxes = append(ns.mailboxes, mb)
		} else {
			p.topBoxes = append(p.topBoxes, mb)
		}
	case "namespace":
		p.addNamespace(s)
	}
	return nil
}

// enclosingNamespace is the innermost open namespace section, if any.
func (p *confParser) enclosingNamespace() *confSection {
	for i := len(p.stack) - 1; i >= 0; i-- {
		if p.stack[i].typ == "namespace" {
			return p.stack[i]
		}
	}
	return nil
}

// addNamespace merges a closed namespace section into the one of the same name (a
// repeated block updates a namespace).
func (p *confParser) addNamespace(s *confSection) {
	ns := p.byName[s.name]
	if ns == nil || s.name == "" {
		ns = &confNamespace{settings: map[string]string{}}
		p.namespaces = append(p.namespaces, ns)
		if s.name != "" {
			p.byName[s.name] = ns
		}
	}
	for k, v := range s.settings {
		ns.settings[k] = v
	}
	ns.mailboxes = append(ns.mailboxes, s.mailboxes...)
}

func clipLine(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// result turns the parsed namespaces into Postern folder names and attributes.
func (p *confParser) result() *DovecotConf {
	c := &DovecotConf{SpecialUse: map[string]string{}}
	// Maildir++ separates with '.'; the fs layout and the other formats with '/'
	// (2.3's mail_location, 2.4's mail_driver and mailbox_list_layout).
	defSep := "."
	loc, driver := p.top["mail_location"], p.top["mail_driver"]
	if strings.Contains(loc, "LAYOUT=fs") || (loc != "" && !strings.HasPrefix(loc, "maildir:")) ||
		p.top["mailbox_list_layout"] == "fs" || (driver != "" && driver != "maildir") {
		defSep = "/"
	}
	for _, ns := range p.namespaces {
		if t := ns.setting("type"); t != "" && t != "private" {
			continue
		}
		sep := ns.setting("separator")
		if sep == "" {
			sep = defSep
		}
		for _, mb := range ns.mailboxes {
			c.take(mb, ns.setting("prefix"), sep)
		}
	}
	for _, mb := range p.topBoxes {
		c.take(mb, "", defSep)
	}
	// Dovecot 2.4's settings group: the English names, under what the sections said.
	switch g := p.top["@mailbox_defaults"]; g {
	case "":
	case "english":
		for name, su := range map[string]string{"Drafts": store.SpecialDrafts, "Junk": store.SpecialJunk, "Sent": store.SpecialSent, "Trash": store.SpecialTrash} {
			if _, ok := c.SpecialUse[name]; !ok {
				c.SpecialUse[name] = su
			}
		}
	default:
		c.warn("@mailbox_defaults = %s: not a group Postern knows: not taken", g)
	}
	return c
}

// take records one mailbox's special use under its Postern name.
func (c *DovecotConf) take(mb confMailbox, prefix, sep string) {
	name := mb.name
	if prefix != "" && strings.HasPrefix(name, prefix) {
		name = name[len(prefix):]
	}
	if sep != "/" {
		if strings.Contains(name, "/") {
			c.warn("%s: name holds '/' but the separator is %q: not taken", mb.where, sep)
			return
		}
		name = strings.ReplaceAll(name, sep, "/")
	}
	name, err := store.NormalizeMailboxName(name)
	if err != nil {
		c.warn("%s: %v: not taken", mb.where, err)
		return
	}
	var su string
	for _, f := range strings.Fields(mb.specialUse) {
		canon, ok := specialUseAttr(f)
		switch {
		case !ok:
			c.warn("%s: special_use %s is not one Postern keeps: not taken", mb.where, f)
		case su != "":
			c.warn("%s: special_use %s: Postern keeps one attribute per folder (%s): not taken", mb.where, f, su)
		default:
			su = canon
		}
	}
	if su == "" {
		return
	}
	if old, ok := c.SpecialUse[name]; ok && old != su {
		c.warn("%s: special_use %s: already %s from an earlier section: not taken", mb.where, su, old)
		return
	}
	c.SpecialUse[name] = su
}

func (c *DovecotConf) warn(format string, args ...any) {
	c.Warnings = append(c.Warnings, fmt.Sprintf(format, args...))
}

// specialUseAttr is the canonical spelling of an RFC 6154 attribute Postern keeps.
func specialUseAttr(s string) (string, bool) {
	for _, a := range []string{store.SpecialAll, store.SpecialArchive, store.SpecialDrafts, store.SpecialFlagged,
		store.SpecialJunk, store.SpecialSent, store.SpecialTrash} {
		if strings.EqualFold(s, a) {
			return a, true
		}
	}
	return "", false
}
