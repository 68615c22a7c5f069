// Package senderauth decides whether mail from the internet really comes from
// the domain it claims: SPF (RFC 7208) for the MAIL FROM and HELO identities,
// DKIM (RFC 6376) for every signature, and DMARC (RFC 7489) on top of both,
// with the organisational domain taken from the public suffix list. It knows
// nothing of SMTP sessions: Checker.Check takes the client's address, its HELO
// name, the envelope sender and the message text, and returns a Result that
// says what was found, what the sender's domain asks for (Action), and the
// Authentication-Results header field (RFC 8601) that records it.
//
// # Decisions
//
// DMARC passes when SPF passes for a MAIL FROM domain aligned with the From:
// domain, or a DKIM signature passes whose d= is aligned with it (relaxed:
// same organisational domain; strict: the same name; RFC 7489 section 3.1).
// When it fails, the published policy applies: p= for the From: domain
// itself, sp= (or p=) when the record was found at the organisational domain,
// sampled by pct= (RFC 7489 section 6.6.4: a message outside the sample gets
// the next weaker policy).
//
// A DNS failure is never a silent pass: when DMARC did not pass and the
// DMARC record lookup, the MAIL FROM SPF check or an aligned DKIM signature
// failed temporarily, the Action is Defer, and the client is asked to try
// again later. Temporary failures that cannot change the outcome (a signature
// of an unrelated domain, the HELO check) are only recorded.
//
// A message must have exactly one From: field (RFC 5322 section 3.6); one
// with none, several, or an unparseable one cannot be evaluated and is
// refused (RFC 7489 section 6.6.1 allows it), since a second From: is the
// classic way around DMARC.
//
// There is no package-level state; the resolver, clock and randomness come in
// through Options.
package senderauth
