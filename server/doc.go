// Package server is Postern's composition root: it reads the config, builds every part
// (store, TLS material, protocol listeners, the admin socket), owns their goroutines, and
// runs start, reload and graceful stop. Routing policy (local or relay, who may relay) and
// the local delivery agent (resolve -> Sieve -> Maildir) live here too, because they are
// where the protocol packages meet the store.
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
