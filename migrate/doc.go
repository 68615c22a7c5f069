// Package migrate holds the importers that bring an existing mail system into Postern
// without its users noticing: migrate/dovecot (Maildirs with their UIDs, flags,
// subscriptions and Sieve scripts; passwd-file users with their password hashes),
// migrate/postfix (virtual domains, aliases and the relay), and the way out,
// migrate/export (a Maildir++ tree Dovecot opens with the same UIDs, or mbox).
//
// Importers read the other system's files and write through the store and the Maildir
// layer, never around them. They run with the daemon stopped (the CLI takes the state
// directory's lock), are idempotent (a second run changes nothing) and take each unit
// (a folder, a user) whole or not at all.
package migrate
