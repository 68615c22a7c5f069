// Package managesieve is a ManageSieve server (RFC 5804): mail clients (Thunderbird's
// Sieve add-on, Roundcube, sieve-connect) list, upload, check, activate, rename and
// delete their Sieve scripts over it, usually on port 4190.
//
// Layout: server.go owns listeners and sessions (Serve, Shutdown); session.go reads
// commands and dispatches them through the table in commands.go; parse.go is the
// command-line parser (atoms, numbers, quoted strings, {N+} and {N} literals);
// response.go formats OK/NO/BYE and strings; auth.go holds CAPABILITY, STARTTLS,
// AUTHENTICATE and UNAUTHENTICATE; scripts.go the script commands.
//
// Security: SASL PLAIN is the only mechanism and it is offered only after STARTTLS
// (before TLS the SASL capability is empty and AUTHENTICATE answers NO
// (ENCRYPT-NEEDED)), so no password crosses the network in clear. Input is bounded:
// 8 KiB per command line outside literals, MaxScriptSize (plus a line) for all
// literals of one command, 8 arguments; a line over the limit ends the session with
// BYE, an over-long literal is skipped (up to 16 MiB) and refused with NO
// (QUOTA/MAXSIZE). Ten bad commands in a row or three failed logins end the session.
//
// Scripts are validated with the engine (Options.Compile) before they are stored: a
// broken script is refused with NO and the error's line and column. Storage goes
// through the Scripts interface, which *store.Store satisfies; the active script is
// what delivery runs.
//
// Concurrency: one goroutine per connection; a session's state is its own. Shutdown
// interrupts sessions waiting for a command (they answer BYE), lets running commands
// finish, and closes what is left when its context ends. Every session recovers from
// a panic, logs it and closes its connection.
package managesieve
