// Package server is Postern's composition root: it reads the config, builds every part
// in one order (docs/ARCHITECTURE.md, "Construction order"), passing each its
// dependencies through its constructor, binds the listeners, owns their goroutines, and
// runs start, reload and graceful stop. What the parts do lives in their own packages:
// delivery in server/deliver, sending in server/outbound, certificates in server/certs,
// the well-known files in server/wellknown, limits in server/limits, local submission in
// localsubmit. Here are the bind files (one per listener or service, each building its
// protocol server from the parts), the admin backend, the metrics fed from the event
// sink (events.go), and crash recovery.
//
// Life cycle. Serve loads and validates the config, takes the state-dir lock (a second
// daemon on the same state_dir is refused), opens the store, loads or generates the TLS
// certificate, binds every configured listener (binding errors are fatal: a port that is
// silently not served is worse than a daemon that does not start), and only then tells
// systemd READY=1. The admin socket is bound last so that a client that can talk to it can
// rely on every other listener being up: the integration tests wait on it for readiness.
//
// Signals. SIGHUP re-reads the config file and the certificate files; a bad config or an
// unreadable certificate is logged and the running one is kept. Cancelling the context
// (SIGTERM or SIGINT in cmd/postern) stops accepting on every listener, gives open sessions
// drainTimeout to finish, closes the rest, closes the store and exits cleanly.
package server
