// Package postfix reads what a Postfix installation knows that Postern needs: the
// virtual mailbox and alias domains, the virtual alias maps and the smart-host relay
// with its SASL password (postern import postfix).
//
// main.cf is read as Postfix does: "name = value" lines, a line that starts with
// white space continues the one before, '#' lines are comments, and $name / ${name} /
// $(name) are expanded from the other parameters (to a bounded depth). Lookup tables
// are read from their source files, never from the compiled .db: hash:, btree:, lmdb:,
// cdb:, dbm: and texthash: name a text file of "key value" lines (continuation and
// comments as in main.cf); other table types (regexp, pcre, mysql, ldap...) cannot be
// converted and are reported.
//
// The result is a Plan: domains, aliases and the relay. The caller applies it and
// prints the [relay] fragment for postern.toml. Nothing is guessed: an alias key or
// target without a domain (Postfix would add $myorigin or deliver locally) is reported,
// not imported.
package postfix
