package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// newLogger builds the process logger. format is "auto" (human text on a terminal, JSON
// otherwise, so that journald and log shippers get structure), "text" (human), "json" or
// "logfmt" (key=value, what slog's TextHandler writes). An out from journalOutput gets
// each line prefixed with its priority for journald (logging_journal.go).
func newLogger(out io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "auto" || format == "" {
		format = "json"
		if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	var h slog.Handler
	switch format {
	case "json":
		h = slog.NewJSONHandler(out, opts)
	case "logfmt":
		h = slog.NewTextHandler(out, opts)
	case "text":
		h = &humanHandler{out: out, level: lvl, mu: &sync.Mutex{}}
	default:
		return nil, fmt.Errorf("log format %q: want auto, text, json or logfmt", format)
	}
	if jw, ok := out.(*journalWriter); ok {
		h = &journalHandler{inner: h, w: jw}
	}
	return slog.New(h), nil
}

// humanHandler writes "15:04:05.000 INFO message key=value ..." for people at a terminal.
type humanHandler struct {
	out    io.Writer
	level  slog.Level
	mu     *sync.Mutex
	prefix string // pre-rendered attrs from WithAttrs
	group  string
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(t.Format("15:04:05.000"))
	b.WriteByte(' ')
	fmt.Fprintf(&b, "%-5s ", r.Level.String())
	b.WriteString(r.Message)
	b.WriteString(h.prefix)
	r.Attrs(func(a slog.Attr) bool {
		writeHumanAttr(&b, h.group, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.out, b.String())
	return err
}

func (h *humanHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		writeHumanAttr(&b, h.group, a)
	}
	n := *h
	n.prefix += b.String()
	return &n
}

func (h *humanHandler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		n.group += "."
	}
	n.group += name
	return &n
}

func writeHumanAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, ga := range a.Value.Group() {
			writeHumanAttr(b, key, ga)
		}
		return
	}
	s := a.Value.String()
	if strings.ContainsAny(s, " \t\"=") || s == "" {
		s = fmt.Sprintf("%q", s)
	}
	b.WriteByte(' ')
	b.WriteString(key)
	b.WriteByte('=')
	b.WriteString(s)
}
