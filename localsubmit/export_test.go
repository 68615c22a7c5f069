package localsubmit

import "context"

// ScanPickup delivers every complete pickup file now, as the periodic scan does; for the
// tests in package localsubmit_test, which drive the real delivery agent.
func (ls *Server) ScanPickup(ctx context.Context) { ls.scanPickup(ctx, ctx) }
