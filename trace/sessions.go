package trace

import (
	"context"
	"net/netip"
	"time"
)

// RecentReader reads the newest stored chunks (package store).
type RecentReader interface {
	RecentTraceChunks(ctx context.Context, since time.Time, limit int) ([]int64, error)
	TraceEvents(ctx context.Context, seq int64) ([]byte, error)
}

// Session is one SMTP connection as its connect and helo lines tell it.
type Session struct {
	Client  netip.Addr // invalid for a local (unix socket) client
	Role    string     // mx, submission, submissions, lmtp
	Trusted bool       // in trusted_networks
	HELO    string     // "" when the client never said HELO
}

// maxSessionChunks bounds how many chunks RecentSessions reads.
const maxSessionChunks = 200

// RecentSessions returns the SMTP sessions of the newest connect lines since since, at
// most limit, each with its HELO name. It reads the chunks from the newest back until
// it has enough.
func RecentSessions(ctx context.Context, rd RecentReader, since time.Time, limit int) ([]Session, error) {
	seqs, err := rd.RecentTraceChunks(ctx, since, maxSessionChunks)
	if err != nil {
		return nil, err
	}
	var out []Session
	helo := map[string]string{}
	var sids []string
	for _, seq := range seqs {
		if len(out) >= limit {
			break
		}
		b, err := rd.TraceEvents(ctx, seq)
		if err != nil {
			return nil, err
		}
		for _, e := range parseChunk(b) {
			sid := e.Attrs["sid"]
			switch {
			case sid == "" || e.Time.Before(since):
			case e.What == "helo":
				helo[sid] = e.Attrs["helo"]
			case e.What == "connect" && e.Attrs["role"] != "" && len(out) < limit:
				a, _ := netip.ParseAddr(e.Attrs["client"])
				out = append(out, Session{Client: a.Unmap(), Role: e.Attrs["role"], Trusted: e.Attrs["trusted"] == "true"})
				sids = append(sids, sid)
			}
		}
	}
	for i, sid := range sids {
		out[i].HELO = helo[sid]
	}
	return out, nil
}
