package localsubmit

import (
	"context"
	"time"
)

// ScanPickup delivers every complete pickup file now, as the scan at start does (every
// retry file, due or not); for the tests in package localsubmit_test, which drive the
// real delivery agent.
func (ls *Server) ScanPickup(ctx context.Context) { ls.scanPickup(ctx, ctx, true, time.Now()) }

// ScanDue is a periodic scan: retry files only when due.
func (ls *Server) ScanDue(ctx context.Context) { ls.scanPickup(ctx, ctx, false, time.Time{}) }

// ListFor answers OpList for uid, as the socket does for a caller with that uid: the
// tests cannot connect as another user.
func (ls *Server) ListFor(uid uint32) Reply { return ls.listFor(uid) }
