// Package localsubmit is how `postern sendmail` hands a message to the daemon: the
// protocol of the local submission socket, the daemon's side of it (Server), the pickup
// directory for when the daemon is down, and the client (Submit, WritePickup).
//
// The client half (protocol.go, client.go) depends on nothing of the daemon, so the
// sendmail command does not link the server; the Server half delivers through a Deliverer
// that the composition root (package server) passes in.
//
// The socket (config [admin] submit_socket, mode 0666) is the authorisation: any local
// user may send, as Postfix's sendmail lets any user send. The caller's uid comes from
// the kernel (SO_PEERCRED), is logged, and goes into a Received line the way Postfix
// writes it: "Received: by HOST (Postern, from userid 1000) id ID; DATE".
//
// Recipients are qualified (a bare name gets @hostname) and then rewritten when they are
// names of the machine (rewrite.go, through the Names the server passes in): "root",
// "nut", root@HOSTNAME and x@localhost reach name@ the first local domain or the owner
// ([alerts] to, else postmaster@ the first domain), as Postfix's aliases(5) sends root
// to a person; with no owner they wait in pickup. Only local submission does this: the
// SMTP listeners give outside senders no aliases of the machine.
//
// The protocol, one request per connection:
//
//	client: one JSON line, a Request (at most MaxRequestLine octets),
//	        then exactly Size octets of message text (LF or CRLF line ends)
//	server: one JSON line, a Reply, sent only after every recipient's copy is
//	        on disk (delivered to a Maildir, in the outbound queue, or kept in pickup
//	        for a retry)
//
// A Request's Op is OpSubmit (the zero value: a message) or, with no message, OpList
// (mailq for a user outside group postern: her own messages, list.go) or OpVerify
// (sendmail -bv: how each recipient would be delivered, verify.go). The caller is
// always the kernel's uid of the connection, never something the request says. A uid
// holds at most maxConnsPerUID connections; list and verify have a per-uid rate of
// their own (ratelimit.go), and what a user can repeat is logged sparingly (logonce.go).
//
// A maildrop file (state_dir/maildrop/UID, written by sendmail of any user while the
// daemon is down; see maildrop.go and userdrop.go for why no user can reach another's)
// has the same bytes: the JSON line, then the message. The daemon's own retries use the
// same format in the private state_dir/pickup. The daemon delivers pickup files at
// start and every 30 s (its own retries when due, pickup.go), removes each only once
// delivered (at least once, never lost), bounces recipients refused for good to the
// sender (nobody waits for that delivery), and keeps temporarily failed recipients as a
// prepared retry file until [queue] lifetime.
package localsubmit
