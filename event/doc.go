// Package event is the typed record of what happened to mail and logins, as the packages
// that handle them report it: a message received, a command refused, a login, one
// recipient's delivery (local or through the queue). It holds data types only.
//
// Each package that reports events declares its own one-method sink interface (for
// example smtp.EventSink: Emit(event.Event)) and takes it in its Options; nil reports
// nothing. The daemon (package server) passes one sink to all of them and fans every event
// out to its consumers (the Prometheus counters). Each reporting package writes the mail
// log line of an event (the contract fail2ban and grep rely on) from the event value
// itself, in the one function that also emits it, so the line and the count cannot
// disagree; no counter is keyed on a log message text. An event therefore carries what
// its log line says (a rejection's reply text, a login's mechanism).
//
// Adding an event: add a Kind before NumKinds and a type whose Kind method returns it;
// the server's metrics test fails until the new kind has a counter.
package event
