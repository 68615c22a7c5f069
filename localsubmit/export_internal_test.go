package localsubmit

// openOf is how many connections uid holds.
func (ls *Server) openOf(uid uint32) int {
	ls.slots.mu.Lock()
	defer ls.slots.mu.Unlock()
	return ls.slots.open[uid]
}
