// Package deliver is the local delivery agent: what happens to a message between the
// protocol that received it (SMTP, LMTP, local submission, the queue's own bounces) and
// the Maildirs and index of the users it is for.
//
// Per message (Agent.Deliver): every recipient is resolved again (expand.go: user, alias,
// +detail, catch-all, SRS bounce addresses; the store lookups go through a short-lived
// Directory cache that every admin command flushes), grouped into one copy per user, the
// quota checked, the user's Sieve scripts run (sieve.go: spam rule, global before, the
// user's active script, global after), a DMARC quarantine applied (quarantine.go), and
// the copies written once into the Maildirs with hard links and indexed in one group
// commit (indexbatch.go); only then is success reported. Recipients in other domains, and
// alias targets there, go to the Enqueuer (server/outbound) with an SRS-rewritten sender
// for forwards (srs.go) and a DKIM signature from the Signer. Sieve redirects, vacation
// replies and DSNs are delivered the same way (sieveout.go), before the message that
// caused them is acknowledged. The MailboxWatcher (the IMAP server) hears of every
// indexed copy.
//
// The agent is also the RCPT TO policy of every SMTP role (policy.go: the relay rule,
// mayRelay, is written once there) and the submission sender policy (MaySend).
//
// Everything it needs comes in through Options to New; nothing is set afterwards.
package deliver
