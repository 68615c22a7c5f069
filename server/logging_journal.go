package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
)

// Under systemd, standard error is a stream to journald, which stores every line at the
// unit's default priority (info) unless the line starts with an sd-daemon "<N>" prefix
// (sd-daemon(3)). journalOutput recognises that stream the way sd-daemon documents it:
// $JOURNAL_STREAM holds "DEVICE:INODE" of the stream, compared with fstat(2) of the
// output (a child whose output was redirected inherits the variable but not the stream).
// newLogger then wraps its handler in journalHandler, which prefixes each line with the
// priority of the record's level, so that `journalctl -p warning` works.

// journalWriter is the log output when it is the journal's stream. prefix is set, under
// mu, by journalHandler for the one Write the inner handler makes per record.
type journalWriter struct {
	out    io.Writer
	mu     sync.Mutex
	prefix []byte
	buf    []byte
}

// journalOutput returns out wrapped as a journalWriter when it is the stream named by
// $JOURNAL_STREAM, else out unchanged.
func journalOutput(out io.Writer, getenv func(string) string) io.Writer {
	f, ok := out.(*os.File)
	want := getenv("JOURNAL_STREAM")
	if !ok || want == "" {
		return out
	}
	fi, err := f.Stat()
	if err != nil {
		return out
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || fmt.Sprintf("%d:%d", st.Dev, st.Ino) != want {
		return out
	}
	return &journalWriter{out: out}
}

func (w *journalWriter) Write(p []byte) (int, error) {
	w.buf = append(append(w.buf[:0], w.prefix...), p...)
	if _, err := w.out.Write(w.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// journalHandler writes each record through inner with the sd-daemon prefix of its level.
type journalHandler struct {
	inner slog.Handler
	w     *journalWriter
}

func (h *journalHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.prefix = journalPriority(r.Level)
	return h.inner.Handle(ctx, r)
}

func (h *journalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &journalHandler{inner: h.inner.WithAttrs(attrs), w: h.w}
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{inner: h.inner.WithGroup(name), w: h.w}
}

// journalPriority is the syslog priority of a level as an sd-daemon prefix: error is
// <3> (err), warn <4> (warning), info <6> (info), debug <7> (debug).
func journalPriority(l slog.Level) []byte {
	switch {
	case l >= slog.LevelError:
		return []byte("<3>")
	case l >= slog.LevelWarn:
		return []byte("<4>")
	case l >= slog.LevelInfo:
		return []byte("<6>")
	}
	return []byte("<7>")
}

// JournalStream says whether out is the journal's stream named by $JOURNAL_STREAM, so
// that a caller writing to it directly (the reason the daemon did not start, printed
// after Serve returns) can prefix its lines with a priority as the logger does.
func JournalStream(out io.Writer, getenv func(string) string) bool {
	_, ok := journalOutput(out, getenv).(*journalWriter)
	return ok
}
