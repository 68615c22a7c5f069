package localsubmit

import "context"

// ScanPickup delivers every complete pickup file now, as the periodic scan does; for the
// tests in package localsubmit_test, which drive the real delivery agent.
func (ls *Server) ScanPickup(ctx context.Context) { ls.scanPickup(ctx, ctx) }

// ListFor answers OpList for uid, as the socket does for a caller with that uid: the
// tests cannot connect as another user.
func (ls *Server) ListFor(uid uint32) Reply { return ls.listFor(uid) }
