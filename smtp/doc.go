// Package smtp receives mail: the MX role (port 25, RFC 5321) and the LMTP role
// (RFC 2033), on top of github.com/emersion/go-smtp. It knows the protocol and
// its checks; who may receive mail (Policy) and where it is stored (Deliverer)
// are interfaces that server/ implements. It imports no other Postern package.
//
// # Flow
//
// Server.Serve wraps the listener: each accepted connection is admitted or, over
// MaxConnections or MaxConnectionsPerIP (trusted clients are exempt from the
// per-IP limit, like Postfix's smtpd_client_connection_limit_exceptions), answered
// "421 4.7.0" and closed without a session. An admitted connection is wrapped in
// a conn that sets a read deadline before every read (CommandTimeout while
// waiting for a command, DataTimeout while text arrives: RFC 5321 section
// 4.5.3.2, per read, never one deadline over a whole DATA), counts, and writes
// the disconnect line. go-smtp then runs the protocol and calls back:
//
//	HELO/EHLO/LHLO -> newSession: HELO checks, "helo" log line
//	MAIL FROM      -> session.Mail: sender syntax, FQDN and DNS checks
//	RCPT TO        -> session.Rcpt: recipient limit, syntax, Policy.CheckRecipient
//	DATA / BDAT    -> session.Data / LMTPData: text checks into a spool (memory up
//	                  to SpoolThreshold, then a file in SpoolDir), Deliverer.Deliver
//	                  with a DeliverTimeout context, then the reply
//
// Checks apply to MX clients outside TrustedNetworks; LMTP peers (local MTAs) and
// trusted clients skip the HELO and sender checks but not the syntax, size and
// text rules. The reply to the final dot comes only after Deliver returned, so a
// 250 means the Deliverer has the message on disk.
//
// # Replies
//
//	stage     code enhanced  text (Postfix's where it has one)
//	connect   421  4.7.0     Error: too many connections [from your address]
//	helo      501  5.5.2     <name>: Helo command rejected: Invalid name
//	helo      504  5.5.2     <name>: Helo command rejected: need fully-qualified hostname
//	mail      502  5.5.1     before HELO/EHLO (go-smtp's reply; RFC 5321 would say 503)
//	mail      503  5.5.1     Error: nested MAIL command
//	mail      501  5.1.7     Bad sender address syntax
//	mail      553  5.6.7     Must declare SMTPUTF8 to send unicode address
//	mail      504  5.5.2     <addr>: Sender address rejected: need fully-qualified address
//	mail      550  5.1.8     <addr>: Sender address rejected: Domain not found
//	mail      550  5.7.27    <addr>: Sender address rejected: Domain ... does not accept mail (nullMX, RFC 7505)
//	mail      451  4.1.8     <addr>: Sender address rejected: Domain not found (DNS lookup failed)
//	mail      552  5.3.4     SIZE= over the limit (go-smtp's text)
//	rcpt      452  4.5.3     Error: too many recipients
//	rcpt      501  5.1.3     Bad recipient address syntax
//	rcpt      *    *         whatever Policy returns (550 5.1.1, 554 5.7.1 ...)
//	data      552  5.3.4     Error: message file too big
//	data      554  5.5.2     Error: bare <CR> or <LF> received ...
//	data      554  5.6.0     Error: text line too long ...
//	data      421  4.4.2     Error: timeout exceeded (then the connection closes)
//	data      451  4.3.0     Error: local error in processing (a Deliverer error that is not a *ReplyError)
//	data      250  2.0.0     Ok: queued as <id> (LMTP: <rcpt> Ok: saved as <id>)
//	any       421  4.0.0     a panic in a callback: logged with its stack, this connection closed
//
// Bare CR or LF anywhere in the text is refused after the text has been read, and
// the session goes on in step: go-smtp ends DATA only at CRLF "." CRLF, so the
// smuggling sequences "\n.\n", "\r.\r" and "\n.\r\n" never end the DATA phase,
// and the message containing them is refused, so no second message can be
// carried inside it. 554 is the reply RFC 5321 section 4.3.2 lists for a failed
// DATA; 5.5.2 (syntax) because a bare line end breaks SMTP's own framing, as
// Postfix says; a long line gets 5.6.0 (media) because the sender's fix is to
// encode the content. The same rules apply to BDAT chunk contents. The message
// size is refused with 552 5.3.4 and the session continues.
//
// Two quirks of go-smtp's DATA reader are covered here. It drops a CR that
// follows a line-initial dot ("\r\n.\rX" arrives as "\r\nX"), so conn scans the
// raw stream for that shape while text arrives and the message is refused as
// bare CR; below TLS conn sees only ciphertext, so inside STARTTLS that CR is
// silently lost instead (it still cannot end DATA or smuggle anything). And it
// misses an end marker that directly follows a bare CR ("x\r\r\n.\r\n"): the
// text then runs on to the next marker, and is refused because it contains the
// bare CR, so nothing that rode along is ever delivered. FuzzDataSession checks
// both through a real session.
//
// Line lengths: text lines over MaxLineLength (default 1000, RFC 5321 section
// 4.5.3.1.6) are refused as above. go-smtp has no hook to refuse an over-long
// command line and carry on; its own limit, set to MaxLineLength+64 KiB, is the
// backstop that ends a connection sending an endless line (500 5.4.0).
//
// EHLO advertises PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, CHUNKING, SMTPUTF8,
// SIZE <limit>, and STARTTLS when TLSConfig is set and TLS is not yet active;
// never AUTH. VRFY is answered by go-smtp with "252 2.5.0 Cannot VRFY user",
// which verifies nothing (RFC 5321 section 3.5.3 allows 252). The banner is
// "220 <hostname> ESMTP" (or LMTP), naming no software.
//
// # Mail log
//
// One slog line per event, message = event name. Every line has sid (session
// id) and client (IP address, or "unix"). Keys are the Key* constants and are
// stable; events and their keys:
//
//	connect     role, trusted
//	helo        helo, rdns ("unknown" if not forward-confirmed), tls, cipher
//	reject      status=reject, stage (connect|helo|mail|rcpt|data), code, enhanced, reason, helo, from, to
//	message     id, from, size, nrcpt (text received and checked, before delivery)
//	timeout     stage (command|data), after
//	panic       stage, panic, stack (level ERROR)
//	disconnect  duration_ms, msgs, rcpts, rejects
//
// Delivery lines (per recipient: service, sid, client, id, from, to, size, delay,
// status=delivered|deferred|bounced, mailbox or reason) are written by server/.
// A fail2ban filter can match: `msg=reject .*client=<HOST> .*code=5`.
//
// # Failure behaviour
//
// A panic in any callback (Policy, Deliverer, our own code) is recovered, logged
// with the stack, answered 421 and closes only that connection. A Deliverer error
// that is not a *ReplyError is temporary (451), never a bounce. Shutdown stops
// accepting, waits for sessions until its context ends, then closes the rest.
// There is no package-level state; everything comes in through Options.
package smtp
