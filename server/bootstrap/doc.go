// Package bootstrap is what `postern init` does to a fresh state directory, offline and
// under the state-dir lock (never beside a running daemon): the database, the first
// domain, the first user with the default mailboxes, postmaster@ and abuse@ the domain
// as aliases of that user (the owner: mail for root and the machine's services goes
// there, see package localsubmit), and the tree given to the service user.
package bootstrap
