// Package relay is Postern's SMTP client: it hands queued mail to the smart
// host of the [relay] config (Fastmail, Mailgun, SES...) or, with no smart
// host, directly to the recipient domains' MX hosts. It also diagnoses a
// relay configuration in plain words for `postern relay test`.
//
// # Wiring (server/)
//
//	cl, err := relay.New(relay.Options{
//		Host: cfg.Relay.Host, Port: cfg.Relay.Port, TLS: relay.TLSMode(cfg.Relay.TLS),
//		Username: cfg.Relay.Username, Password: passwordFromFile,
//		RootCAs: poolFromCAFile, // nil: system CAs
//		HeloName: cfg.Hostname, Logger: logger,
//	})
//	results, err := cl.Send(ctx, relay.Envelope{From: from, Rcpts: rcpts}, msg.Body())
//	defer cl.Close()
//
//	report := relay.Diagnose(ctx, opts, "someone@example.org") // `postern relay test --to`
//	report.Write(os.Stdout)
//
//	p, ok := relay.LookupPreset("fastmail") // host, port, TLS mode, SPF/DKIM hints
//
// The queue adapter is a few lines: call Send with the Message's body and
// map each Result to queue.Result (Delivered(), Temporary, Code, Enhanced,
// Text, RemoteMTA).
//
// # Protocol
//
// We speak SMTP ourselves on net/textproto rather than through go-smtp's
// client, for three reasons: go-smtp's client cannot combine STARTTLS with a
// chosen EHLO name, it re-sends EHLO after every RSET, and it has no
// PIPELINING (RFC 2920). With PIPELINING, MAIL, every RCPT and DATA leave in
// one write, so a message costs two round trips. The fake smart host of the
// tests is go-smtp's server.
//
// Smart host: TLS is mandatory unless TLS is "none" (a relay on the same
// host); "starttls" refuses to go on if STARTTLS is not offered, and the
// certificate is verified against RootCAs or the system pool unless
// InsecureSkipVerify (logged as a warning). AUTH uses PLAIN (RFC 4616) when
// offered, else LOGIN, and never runs without TLS except to a loopback
// address. The password is never logged or put into an error.
//
// Direct delivery: recipients are grouped by domain, one transaction per
// domain; MX hosts are tried in preference order, equal preferences
// shuffled, the domain's own address records when it has no MX (RFC 5321
// section 5.1), a null MX refused (RFC 7505). TLS is opportunistic (RFC
// 7435): STARTTLS when offered, the certificate not checked, plain text
// again if the handshake fails. No AUTH.
//
// # Connections
//
// After a transaction that ended cleanly (or was reset with RSET), the
// connection goes back to a pool (MaxIdle per host, closed after
// IdleTimeout unused). A pooled connection that turns out to be dead before
// the server answered MAIL FROM is replaced and the transaction repeated
// once; nothing was accepted, so nothing is sent twice.
//
// # Failures
//
// Per-recipient outcomes are Results: 2yz delivered, 4yz temporary, 5yz
// permanent. What fails a whole transaction is an *Error carrying the stage,
// the reply and whether it is temporary. Every failure before MAIL FROM
// (connect, TLS, greeting, AUTH: problems of the relay or of our
// configuration) is temporary, so mail waits in the queue for the fix
// instead of bouncing.
package relay
