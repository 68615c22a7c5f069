// Package durable is the one durable-write helper of Postern: every file the
// server acknowledges to a client (a message in a Maildir, a queued message,
// a keyword list, a certificate) is written through it.
//
// The pattern is always the same: write the bytes to a temporary file in the
// directory where the file will finally live, fsync the file, rename it over
// the final name, and fsync the directory so that the new directory entry is
// itself on disk. rename(2) within one file system is atomic, so a reader (or
// a process restarted after a crash) sees either the old file or the complete
// new one, never a prefix.
//
// Failure behaviour: every function either succeeds completely or returns an
// error wrapping the underlying *os.PathError (so errors.Is(err,
// fs.ErrNotExist) works); temporary files are removed on every error path.
// A crash between writing and renaming can leave a temporary file behind:
// temporaries are named with a leading ".tmp-" (CreateTemp's pattern is the
// caller's choice) so that owners can sweep them.
//
// File permissions are set with chmod after creation, so the process umask
// does not apply to them.
//
// The package has no state; all functions are safe for concurrent use on
// distinct paths.
package durable
