package imap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/postern/postern/store"
)

// summary is what FETCH ENVELOPE/BODYSTRUCTURE writes for one message, and the cache
// entry to store when some of it had to be computed from the file.
type summary struct {
	env  *goimap.Envelope
	bs   goimap.BodyStructure
	fill *store.CacheEntry
}

// summaries returns the envelope and/or body structure of cm, decoded from the cache
// when it holds them, else computed from the file (found through path) and returned in
// fill for the caller to store. The envelope needs only the header; the structure needs
// the whole file, so a FETCH that asks only for ENVELOPE never reads bodies. A blob that
// does not decode (an older format, corruption) is recomputed and overwritten.
func (ss *session) summaries(cm *store.CachedMessage, wantEnv, wantBS bool, path func() (string, error)) (summary, error) {
	var s summary
	if wantEnv && cm.Envelope != nil {
		if env, err := decodeEnvelope(cm.Envelope); err == nil {
			s.env, wantEnv = env, false
		}
	}
	if wantBS && cm.Structure != nil {
		if bs, err := decodeStructure(cm.Structure); err == nil {
			s.bs, wantBS = bs, false
		}
	}
	if !wantEnv && !wantBS {
		return s, nil
	}
	p, err := path()
	if err != nil {
		return s, err
	}
	fill := &store.CacheEntry{Filename: cm.Filename}
	if wantEnv {
		env, err := readEnvelope(p)
		if err != nil {
			return s, err
		}
		s.env, fill.Envelope = env, encodeEnvelope(env)
	}
	if wantBS {
		bs, err := readStructure(p)
		if err != nil {
			return s, err
		}
		s.bs, fill.Structure = bs, encodeStructure(bs)
	}
	s.fill = fill
	return s, nil
}

// summarizeFile computes both cache entries of a message file just written (APPEND),
// so that even its first FETCH reads no file.
func summarizeFile(filename, path string) (store.CacheEntry, error) {
	e := store.CacheEntry{Filename: filename}
	env, err := readEnvelope(path)
	if err != nil {
		return e, err
	}
	bs, err := readStructure(path)
	if err != nil {
		return e, err
	}
	e.Envelope, e.Structure = encodeEnvelope(env), encodeStructure(bs)
	return e, nil
}

// saveSummaries stores cache entries computed while answering a command. The cache is
// derived data, so a failure is logged and the command still succeeds; the entries are
// computed again next time. It does not use the command's context: a client that hangs
// up after its FETCH should not waste the work.
func (s *Server) saveSummaries(mailboxID int64, fill []store.CacheEntry) {
	if len(fill) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.opts.Store.PutMessageCache(ctx, mailboxID, fill); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("imap: storing message summaries", "mailbox_id", mailboxID, "count", len(fill), "err", err)
	}
}

// readEnvelope reads only the header of the message. A malformed header still gets an
// envelope of what could be read.
func readEnvelope(path string) (*goimap.Envelope, error) {
	return withFile(path, func(r io.Reader) (*goimap.Envelope, error) {
		h, _ := textproto.ReadHeader(bufio.NewReader(r))
		return imapserver.ExtractEnvelope(h), nil
	})
}

// readStructure parses the whole message for its MIME structure.
func readStructure(path string) (goimap.BodyStructure, error) {
	return withFile(path, func(r io.Reader) (goimap.BodyStructure, error) {
		return imapserver.ExtractBodyStructure(r), nil
	})
}
