package main

// Blank imports pin the module's dependencies in go.mod until the packages that use
// them exist; remove a line once real code imports that module.
import (
	_ "github.com/caddyserver/certmagic"
	_ "github.com/emersion/go-imap/v2"
	_ "github.com/emersion/go-message"
	_ "github.com/emersion/go-msgauth/dkim"
	_ "github.com/emersion/go-sasl"
	_ "github.com/emersion/go-smtp"
	_ "github.com/miekg/dns"
	_ "github.com/pelletier/go-toml/v2"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/term"
	_ "modernc.org/sqlite"
)
