// Package delivertest holds what the tests of the delivery agent and of its callers
// share: a real store in a temporary directory with one domain and three users, and a
// look into a user's INBOX. It is for tests only; nothing in the daemon imports it.
package delivertest
