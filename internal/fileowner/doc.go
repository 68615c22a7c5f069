// Package fileowner gives files to the service user. The commands that work on the
// state directory directly (init, import, restore) run as root, while the daemon runs
// as its own user and must be able to rename, rewrite and remove what they created; so
// they hand the tree over when they are done. Modes are never changed here: a secret
// that was 0600 stays 0600, only its owner changes.
package fileowner
