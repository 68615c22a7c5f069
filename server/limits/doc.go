// Package limits holds the limits every listener applies to strangers: how many
// connections may be open at once (in total, per client network, per user and client
// network) and how many failed logins an account or a client network may have before it
// is slowed down and locked out; and how much mail a client address or a user may send
// per minute (Rates, the [limits] rates of every SMTP listener).
//
// A client network is the client's IPv4 address or its IPv6 /64 by default (Networks):
// one home or one VPS gets one counter however many addresses it rotates through.
// Trusted networks are counted too, with their own (higher) limits, so that a
// compromised machine on the LAN cannot exhaust a listener either.
//
// Logins are counted per (normalised account, client network): case and +detail are
// folded, so aLiCe+x@Example.test is alice@example.test. A pair that fails too often is
// locked for that network only, so an attacker cannot lock the owner out of their
// other networks; a network that fails too often across accounts is locked as a whole;
// an account that fails too often across networks is slowed down (never locked), except
// from networks it has logged in from successfully, against distributed guessing. A
// success clears only its own (account, network) pair, so an attacker's login to their
// own account clears nothing of anyone else's.
//
// Everything is in memory, bounded by the number of recent offenders: keys are swept
// once their window has passed.
package limits
