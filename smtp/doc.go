// Package smtp receives mail: the MX role (port 25, RFC 5321), the LMTP role
// (RFC 2033) and the submission roles (ports 587 and 465, RFC 6409 and RFC
// 8314), on top of github.com/emersion/go-smtp. It knows the protocol and its
// checks; who may receive mail (Policy), where it is stored (Deliverer), whose
// password is right (Authenticator) and who may send as whom (SenderPolicy) are
// interfaces that server/ implements. Of Postern it imports only the leaf packages
// event and connset.
//
// # Flow
//
// Server.Serve wraps the listener: each accepted connection is admitted or refused
// without a session. On LMTP over TCP a client outside TrustedNetworks is answered
// "554 5.7.1" and closed before it is counted (LMTP runs no sender checks: a stranger
// could inject mail from our own domain that an alias sends on). When
// Options.ConnLimiter refuses it (too many in total or from the client's network;
// trusted networks have their own limit, they are not exempt), it is answered "421 4.7.0"
// and closed without a session. Refusals are written by a connset.Refuser: a fixed
// number of writers with a 2 s deadline; beyond them a refused connection is closed
// without a word. A submission connection that has not authenticated
// within LoginTimeout is closed. An admitted connection is wrapped in
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
// On the MX and submission roles every message first loses the
// Authentication-Results fields that claim our hostname, wherever they stand in
// the header (StripForgedAuthResults). On the MX role, Options.Filters (sender
// authentication in smtp/senderauth, a milter) then inspect the message of an
// untrusted client: each may rewrite the header (EditHeader: add
// Authentication-Results, milter header changes), mark
// it for quarantine (Envelope.Quarantine, filed into Junk by the Deliverer)
// or refuse it with its own reply (550 5.7.1 DMARC reject, 451 4.7.0 DNS
// failure) before anything is delivered.
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
//	connect   554  5.7.1     Error: LMTP service for trusted networks only (LMTP over TCP)
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
//	rcpt      *    *         Options.ClientCheck's refusal (554 5.7.1 DNSBL), decided at connect
//	mail      *    *         Options.RateLimiter (450 4.7.1 too much mail from ...)
//	rcpt      *    *         Options.RateLimiter (452 4.5.3 too many recipients from ...)
//	rcpt      501  5.1.3     Bad recipient address syntax
//	rcpt      *    *         whatever Policy returns (550 5.1.1, 554 5.7.1 ...)
//	data      552  5.3.4     Error: message file too big
//	data      554  5.5.2     Error: bare <CR> or <LF> received ...
//	data      554  5.6.0     Error: text line too long ...
//	data      421  4.4.2     Error: timeout exceeded (then the connection closes)
//	auth      530  5.7.0     Must issue a STARTTLS command first (submission, no TLS yet; MAIL too)
//	auth      504  5.5.4     Unsupported authentication mechanism
//	auth      503  5.5.1     Error: MAIL transaction in progress
//	auth      535  5.7.8     Authentication credentials invalid (or the Authenticator's *ReplyError)
//	auth      421  4.7.0     Error: too many failed authentication attempts (then the connection closes)
//	mail      530  5.7.0     Authentication required (submission)
//	mail      553  5.7.1     <addr>: Sender address rejected: not owned by user <user> (also for From:/Sender:)
//	mail      553  5.7.1     <>: Sender address rejected: null sender not allowed on submission
//	data      552  5.3.4     Error: message header too big (submission)
//	data      554  5.6.0     Error: malformed message header / From: header / Sender: header
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
// SIZE <limit>, STARTTLS when TLSConfig is set and TLS is not yet active, and
// AUTH PLAIN LOGIN only on the submission roles inside TLS. VRFY is answered by
// go-smtp with "252 2.5.0 Cannot VRFY user", which verifies nothing (RFC 5321
// section 3.5.3 allows 252). The banner is "220 <hostname> ESMTP" (or LMTP),
// naming no software.
//
// # Submission
//
// RoleSubmission (587) offers STARTTLS and advertises AUTH only inside TLS;
// before it, AUTH and MAIL are answered "530 5.7.0 Must issue a STARTTLS
// command first" (RFC 3207 section 4, and no password crosses the network in
// clear). RoleSubmissions (465) is the same behind implicit TLS (RFC 8314
// section 3.3): Serve takes a plain listener and wraps every admitted conn in
// TLS itself (a tls.NewListener is unwrapped and re-wrapped the same way), so
// the conn below TLS still keeps the timeouts. Its banner keeps go-smtp's
// "Service Ready" suffix: below TLS, conn cannot rewrite it.
//
// AUTH PLAIN (RFC 4616, with the initial response of RFC 4954) and LOGIN
// ("334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", username allowed as the initial
// response) are implemented here (auth.go); credentials go to the
// Authenticator, which applies the failed-login limiter, and the canonical
// user it returns is Session.User. A PLAIN authorization identity other than
// the user, NUL, invalid UTF-8 and over-long values are failures without
// asking the Authenticator. Failures count per connection (EHLO does not reset
// the count); the one that reaches MaxAuthFailures is answered 421 and the
// connection closes. MAIL needs AUTH (530 5.7.0 Authentication required).
//
// The sender must be the user's: MAIL FROM at MAIL, and every address of every
// From: and Sender: field after the text, through SenderPolicy (553 5.7.1).
// The null sender is refused. The header block is parsed by a bounded parser
// (headers.go, MaxHeaderBytes); a line that is neither a field nor a
// continuation makes it malformed (554 5.6.0), so no From: can hide behind
// one. Then RFC 6409 section 8's fixes: a missing From: becomes the user, a
// missing Date: the receive time, a missing Message-ID: <random@hostname>;
// they are inserted at the end of the header and the Deliverer gets the fixed
// message. Recipients are not checked against local users here, but the Policy
// is still asked for each (with Session.User set), so server/ can refuse.
// ReceivedHeader says ESMTPSA (RFC 3848) when Session.User is set.
//
// # Mail log
//
// One slog line per event, message = event name. Every line has sid (session
// id) and client (IP address, or "unix"). Keys are the Key* constants and are
// stable; events and their keys:
//
//	connect     role, trusted
//	helo        helo, rdns ("unknown" if not forward-confirmed), tls, cipher
//	client listed  code, reason (ClientCheck refused the client: the DNSBL zone that lists it)
//	reject      status=reject, stage (connect|helo|auth|mail|rcpt|data), code, enhanced, reason, helo, from, to
//	auth        user (as given; canonical on success), mechanism, status=ok|fail, and on fail code, enhanced, reason
//	message     id, from, size, nrcpt, to, message_id (text received and checked, before delivery)
//	timeout     stage (command|data), after
//	discard     id, from, to (a Filter returned ErrDiscard; the client got 250)
//	panic       stage, panic, stack (level ERROR)
//	disconnect  duration_ms, msgs, rcpts, rejects
//
// Delivery lines (per recipient: service, sid, client, id, from, to, size, delay,
// status=delivered|deferred|bounced, mailbox and uid or reason, resolved (alias,
// +detail, catch-all), sieve (script:line action)) are written by server/deliver;
// "senderauth" (spf, dkim, dmarc...) by server/, "milter" (action, score) by
// smtp/milter.
// A fail2ban filter can match: `msg=reject .*client=<HOST> .*code=5`, and
// `msg=auth .*client=<HOST> .*status=fail`. Passwords are never logged.
//
// # Failure behaviour
//
// A panic in any callback (Policy, Deliverer, our own code) is recovered, logged
// with the stack, answered 421 and closes only that connection. A Deliverer error
// that is not a *ReplyError is temporary (451), never a bounce. Shutdown stops
// accepting, waits for sessions until its context ends, then closes the rest.
// There is no package-level state; everything comes in through Options.
package smtp
