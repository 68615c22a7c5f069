package server

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
)

// startPprof serves Go's profiler on addr when $POSTERN_PPROF_ADDR names one (for
// benchmarks and performance work; never on by default). Only loopback addresses are
// accepted: profiles reveal memory contents.
func startPprof(addr string, log *slog.Logger) {
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !(host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1") {
		log.Warn("POSTERN_PPROF_ADDR must be a loopback host:port; profiler not started", "addr", addr)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("profiler not started", "addr", addr, "err", err)
		return
	}
	log.Info("profiler listening", "addr", ln.Addr().String())
	go func() { _ = http.Serve(ln, mux) }()
}
