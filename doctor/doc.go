// Package doctor runs the checks that catch the failures a mail server otherwise makes
// silently: a smart host that refuses the password or is set up with the wrong TLS mode
// for its port, a missing CA bundle, a certificate that is about to expire or does not
// name the host, DNS records that do not match what `postern dns records` prints, secret
// files others can read, an open relay, trusted_networks so wide that every client is
// trusted, a milter or Rspamd controller that does not answer, mail stuck in the queue,
// a nearly full disk.
//
// Each check is a small function of the inputs it needs (values, or functions that fetch
// them), so that a test can hand it a fault: a relay that refuses the password, a DNS
// that answers what the test wants, a certificate 10 days from expiry. The composition
// root (server/doctor_bind.go) builds them from the running daemon. Run runs them at
// once, each within a time limit, and returns every finding; a finding is a sentence
// saying what is wrong and one saying what to do. A report is OK when no finding is a
// warning or a problem; postern doctor exits 1 otherwise.
package doctor
