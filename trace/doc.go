// Package trace keeps the history of each message for postern trace: what the mail log
// says about it (the client and its HELO, TLS, each refusal, the message and its
// Message-ID, each recipient's delivery into a mailbox or through the queue, each
// attempt with the remote reply, bounces), as events in state_dir/trace, bounded in age
// and size, and tells it back as a story per message.
//
// Recording is off the hot path: Handler is a slog.Handler that passes every record on
// to the real log handler and hands a copy of the mail-log records (those that carry a
// session, message or queue id) to the Recorder over a buffered channel; one goroutine
// turns them into events and appends them to the day's file (no fsync: the trace is a
// diagnosis, not mail). When the channel is full an event is dropped and counted rather
// than slowing delivery down.
//
// The Recorder's input is the small Sink interface (Record(Event)), so typed events from
// the packages themselves (package event) can feed it too, next to or instead of the log.
//
// Query finds the events that match a Message-ID, an address, a queue id or a time
// window and widens each match to its story: every event linked to it through a shared
// session id, message id or queue id.
package trace
