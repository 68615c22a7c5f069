// Package milter hands each message of the MX role to a mail filter speaking
// the Sendmail milter protocol, such as Rspamd's proxy worker, and applies its
// verdict. It is an smtp.Filter built on github.com/emersion/go-milter's
// client.
//
// # Flow
//
// The smtp session calls Filter after the final dot of DATA, when the whole
// message is spooled. Filter then replays the transaction on one new milter
// connection: connect (the client's address and PTR name), HELO, MAIL FROM,
// every RCPT TO, the header fields one by one, end of header, the body in
// chunks, end of message. A milter refusal at any of those steps is therefore
// answered at the end of DATA, which is also where Postfix answers most of
// Rspamd's verdicts.
//
// # Verdicts
//
//	milter            SMTP reply / effect
//	accept, continue  delivered, with the header changes of end of message
//	reject            550 5.7.1 (or the milter's own 5xx reply and its text)
//	tempfail          451 4.7.1 (or the milter's own 4xx reply and its text)
//	discard           250 to the client, nothing delivered (smtp.ErrDiscard)
//	quarantine        Envelope.Quarantine set: the Deliverer files it into Junk
//	add/insert/change header   applied to a rewritten header (change with an
//	                  empty value deletes the field); the body is never copied
//
// Changing the body, the sender or the recipients is not offered to the milter
// in the option negotiation, so a well-behaved milter never asks for it.
//
// # Failure behaviour
//
// When the milter cannot be reached, times out (Options.Timeout per dial, read
// and write) or breaks the protocol, Options.TempFail decides: false (the
// default, as Postfix's milter_default_action = accept) delivers the message
// unfiltered and logs a warning; true answers 451 4.7.1 so the sender retries.
// The package holds no state between messages.
package milter
