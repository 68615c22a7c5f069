// Package prom is a small Prometheus registry: counter, histogram and gauge families with
// labels, written in the text exposition format (version 0.0.4) without a client library.
// What the daemon counts, and from which events, is package server's (metrics_events.go).
package prom
