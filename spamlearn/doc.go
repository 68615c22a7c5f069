// Package spamlearn teaches Rspamd from what users do: a message moved into
// Junk is learned as spam, one moved out of Junk (except into Trash) as ham.
//
// Design: the IMAP server calls Learner.Learn on the command's path; Learn only
// records the request durably — a hard link to the message file (a copy when
// the spool is on another file system) in the spool directory, named after the
// verdict, with the directory fsynced — and returns. A single worker (Run) sends
// the spooled messages oldest first to Rspamd's controller (POST /learnspam or
// /learnham, the Password header when one is configured) and removes each file
// once Rspamd answered for it. A request Rspamd cannot take now (down, slow,
// 5xx) stays in the spool and is retried with a growing pause (1s up to
// MaxBackoff, 30s); so a restart loses nothing, and a slow or stopped Rspamd never
// slows the IMAP client. An answer that the message was already learned counts
// as done; a message Rspamd refuses (4xx, too large) is dropped with a log line
// rather than retried forever. Every result is one log line ("spam learn",
// with result, kind, user and delay in seconds), one count in Stats and one
// event.SpamLearn; the daemon counts the events as postern_spam_learn_total{kind,result}
// and the latency histogram postern_spam_learn_latency_seconds.
//
// Limits: messages larger than MaxMessage are not learned (Rspamd's own default
// limit is 50 MiB); the spool holds at most MaxSpooled requests, beyond which
// Learn drops the request with a warning instead of filling the disk.
//
// The package has no mutable package state. Learn is safe for concurrent use.
package spamlearn
