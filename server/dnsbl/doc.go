// Package dnsbl is the [dnsbl] client check of port 25: the client's address, reversed,
// is looked up in each configured zone (RFC 5782 section 2), answers are cached for a few
// minutes, and a listed client is refused at every RCPT (554 5.7.1 ... blocked using
// ZONE). A failed lookup lets the client through, as Postfix does.
package dnsbl
