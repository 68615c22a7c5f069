// Package wellknown serves what mail clients and sending servers fetch over HTTP(S)
// about a local domain, on the daemon's listen.https, acme_http and acme_tls listeners:
//
//   - Thunderbird-style autoconfiguration (Mozilla's clientConfig 1.1, also read by
//     K-9/Thunderbird for Android, Evolution, KMail): /mail/config-v1.1.xml on
//     autoconfig.DOMAIN or /.well-known/autoconfig/mail/config-v1.1.xml on DOMAIN, naming
//     the IMAP and submission listeners that are on (implicit TLS first, RFC 8314) with
//     the full address as the login; over HTTPS and plain HTTP, as it holds nothing secret.
//   - The MTA-STS policy (RFC 8461) at /.well-known/mta-sts.txt on mta-sts.DOMAIN, over
//     HTTPS only, when [mta_sts] mode is set. CertProblems says at start what would make
//     senders ignore it (no HTTPS listener on 443, a self-signed certificate, an ACME
//     certificate that does not cover mta-sts.DOMAIN).
//
// The domain comes from the Host header (or ?emailaddress=) and must be a local domain;
// everything else is 404, so the listeners say nothing about other names.
package wellknown
