// Package connset is the bookkeeping every connection server of the daemon shares for a
// graceful stop: the listeners it accepts on, the connections (and other work) it has
// running, and Shutdown, which stops accepting, lets what runs finish until a deadline and
// then ends the rest. The admin socket, ManageSieve and local submission use it.
//
// Refuser is the answer to connections a server refuses (connection limits): a fixed
// number of background writers with a short deadline, so that a flood of refused
// connections costs a bounded number of goroutines; SMTP, IMAP and ManageSieve use it.
package connset
