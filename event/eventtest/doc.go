// Package eventtest holds, for tests only, a Recorder: an event sink that keeps every
// event it is given, to compare with what a package logged or counted.
package eventtest
