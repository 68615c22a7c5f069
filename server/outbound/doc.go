// Package outbound is the sending side of the daemon: the durable queue (smtp/queue), the
// router that is its Transport (each recipient leaves the way the [[route]]s say, through
// [relay], a [relays.NAME] with its fallback, or straight to the MX hosts), the relay
// client options with their password checks, and the DKIM signer of what leaves.
//
// Everything that leaves the server goes through Outbound.Enqueue: relayed and submitted
// mail, alias forwards, Sieve redirects and vacation replies, and bounces for remote
// senders. The queue's own DSNs go to the Bouncer given to Run, which is the local
// delivery agent in the daemon; it is a Run argument, not a constructor one, because the
// agent itself is built with the Outbound as its way out.
package outbound
