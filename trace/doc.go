// Package trace keeps the history of each message for postern trace: what the mail log
// says about it (the client and its HELO, TLS, each refusal, the message and its
// Message-ID, each recipient's delivery into a mailbox or through the queue, each
// attempt with the remote reply, bounces), as events in the store (package store's
// trace tables), bounded in age and size, and tells it back as a story per message.
//
// Recording is off the hot path: Handler is a slog.Handler that passes every record on
// to the real log handler and hands a copy of the mail-log records (those that carry a
// session, message or queue id) to the Recorder over a buffered channel; one goroutine
// gathers what arrives within a short linger (250 ms, at most Batch events) into a chunk
// and appends it in one transaction whose commit does not wait for the disk (the trace
// is a diagnosis, not mail: a crash loses at most the last chunks, never a message).
// A chunk is one row of JSON lines plus one index entry per distinct key its events
// carry, which keeps the writer's cost near that of appending to a file; one row per
// event cost a third more server CPU per received message. When the channel is full an
// event is dropped and counted rather than slowing delivery down. The Recorder prunes a
// prefix of the chunks by age and by the running total of their sizes, and imports
// (then removes) the day files (state_dir/trace) an earlier version wrote, idempotently
// (a file's chunks carry "f:NAME"; one still there at start is dropped and done again).
//
// The Recorder's input is the small Sink interface (Record(Event)), so typed events from
// the packages themselves (package event) can feed it too, next to or instead of the log.
//
// Lookup finds the events that match a Message-ID, an address, a queue id or a time
// window through the store's indexes and widens each match to its story: every event
// linked to it through a shared session id, message id or queue id (Find groups them).
package trace
