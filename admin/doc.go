// Package admin is the administration protocol between the postern CLI and the running
// daemon, carried over a unix stream socket (by default /run/postern/admin.sock).
//
// Wire format: newline-delimited JSON, one request line answered by one response line,
// any number of exchanges per connection:
//
//	-> {"v":1,"cmd":"user.add","args":{"address":"a@example.org","password":"..."}}
//	<- {"v":1,"ok":true,"result":{"address":"a@example.org",...}}
//	<- {"v":1,"ok":false,"error":{"code":"not_found","message":"...","hint":"..."}}
//
// "v" is the protocol version. A daemon answers a request of any other version with the
// error code "unsupported_version" (in its own version) so that a CLI from another release
// says so clearly instead of misreading fields. A request line longer than MaxRequestSize
// is answered with "request_too_large" and the connection is closed, because the rest of
// the line cannot be resynchronised cheaply.
//
// Layout: protocol.go (envelopes, decoding), errors.go (error codes and the CodedError
// contract), backend.go (the Backend interface server/ implements and the DTOs), one file
// per command group (status.go, domain.go, user.go, apppassword.go, alias.go) holding both
// the server-side handlers and the typed Client methods, dispatch.go (the command table),
// server.go (connections, shutdown), client.go (Dial), access.go with package peercred (who may
// talk to the socket) and listen.go (creating the socket file with the right owner/mode).
//
// Authorisation: the socket file is mode 0660, group-owned by the configured admin group,
// and every accepted connection is also checked by its kernel-supplied peer credentials
// (SO_PEERCRED): root, the daemon's own uid and members of the admin group may talk;
// anyone else gets "permission_denied" and the refusal is logged. The file mode alone is
// not trusted because the directory or the group could be misconfigured.
//
// Failure behaviour: every connection goroutine recovers from panics; a panic inside one
// handler is logged with its stack and answered with an "internal" error, and the
// connection and the server go on. Shutdown stops accepting, lets in-flight requests
// finish, closes idle connections and, when its context expires, closes the rest.
// Request arguments are never logged: they can carry passwords.
package admin
