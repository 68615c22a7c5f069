// Package certs is the TLS certificate every listener of the daemon serves: one Manager
// whose *tls.Config returns the current certificate at each handshake, whatever SNI the
// client sends or omits.
//
// Where the certificate comes from, in the order a handshake asks:
//
//   - ACME ([tls.acme], package certmagic): certificates obtained and renewed in the
//     background, stored under state_dir/acme, the private key kept across renewals so a
//     DANE TLSA record stays valid. The http-01 and tls-alpn-01 challenges are answered on
//     the daemon's own listeners, which is why those are bound before the ACME side is
//     built (NewACME takes their addresses) and the ACME side before the Manager (New
//     takes it); nothing is attached afterwards.
//   - Files the admin manages ([tls] cert and key): reloaded on SIGHUP and when their size
//     or mtime changes (ReloadIfChanged), so a certbot renewal needs no restart. A reload
//     that fails keeps the old certificate serving.
//   - Otherwise a self-signed certificate for hostname, generated once into state_dir/tls
//     (key 0600, written before the certificate), so a fresh install serves TLS at once.
//
// TLS 1.2 is the floor whatever the config says. The dns-01 solvers are libdns providers
// chosen by [tls.acme] dns_provider (acme_dns.go); certmagic's zap logging is written into
// the daemon's slog logger (acme_log.go).
package certs
