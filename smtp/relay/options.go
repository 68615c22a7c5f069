package relay

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// TLSMode says how the connection to the relay is protected.
type TLSMode string

const (
	// TLSStartTLS: plain connect, then STARTTLS (RFC 3207), required; port 587.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit: TLS from the first byte (RFC 8314 section 3.3); port 465.
	TLSImplicit TLSMode = "implicit"
	// TLSNone: no TLS, only for a relay on the same host. AUTH is refused
	// unless the peer is a loopback address.
	TLSNone TLSMode = "none"
)

// Dialer opens network connections; *net.Dialer satisfies it.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Resolver looks up MX and address records; *net.Resolver satisfies it.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Options configure a Client.
type Options struct {
	// Host is the smart host. Empty means direct delivery: each recipient
	// domain's MX hosts are looked up and tried (port 25, opportunistic
	// STARTTLS, no AUTH).
	Host string
	// Port defaults to 465 for TLSImplicit, 25 in direct mode, else 587.
	Port int
	// TLS defaults to TLSStartTLS. Ignored in direct mode.
	TLS TLSMode
	// Username and Password for AUTH; no AUTH when Username is "". The
	// password is never logged nor put into an error.
	Username string
	Password string
	// RootCAs verifies the relay's certificate; nil means the system pool.
	RootCAs *x509.CertPool
	// InsecureSkipVerify encrypts without checking the certificate. A
	// warning is logged at every connection. Only for a relay whose
	// certificate cannot be fixed.
	InsecureSkipVerify bool
	// AllowInternal lets the client connect to loopback, private, link-local and
	// this host's own addresses: set for a smart host the owner named (an IP
	// literal, or a relay table that allows it). Otherwise, and always for MX
	// delivery, such an address is refused with 554 5.4.4.
	AllowInternal bool
	// HeloName is our name in EHLO (the config's hostname). Default
	// "localhost".
	HeloName string

	DialTimeout    time.Duration // default 30s
	CommandTimeout time.Duration // per command reply; default 5m (RFC 5321 section 4.5.3.2)
	DataTimeout    time.Duration // reply to the final dot; default 10m (RFC 5321 section 4.5.3.2.6)

	// MaxIdle connections kept per host for reuse; default 8; -1 disables
	// reuse. IdleTimeout closes a pooled connection unused that long;
	// default 10s (servers drop idle clients after a while anyway).
	MaxIdle     int
	IdleTimeout time.Duration

	Dialer   Dialer   // default: a *net.Dialer with DialTimeout
	Resolver Resolver // direct mode and Diagnose; default net.DefaultResolver
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now (pool idle times)
}

func (o *Options) setDefaults() error {
	if o.Host == "" {
		o.TLS = ""
		if o.Port == 0 {
			o.Port = 25
		}
	} else {
		switch o.TLS {
		case "":
			o.TLS = TLSStartTLS
		case TLSStartTLS, TLSImplicit, TLSNone:
		default:
			return fmt.Errorf("relay: unknown TLS mode %q (want starttls, implicit or none)", o.TLS)
		}
		if o.Port == 0 {
			o.Port = 587
			if o.TLS == TLSImplicit {
				o.Port = 465
			}
		}
	}
	if o.Port < 1 || o.Port > 65535 {
		return fmt.Errorf("relay: bad port %d", o.Port)
	}
	if o.Username == "" && o.Password != "" {
		return errors.New("relay: password without username")
	}
	if o.HeloName == "" {
		o.HeloName = "localhost"
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 30 * time.Second
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 5 * time.Minute
	}
	if o.DataTimeout <= 0 {
		o.DataTimeout = 10 * time.Minute
	}
	if o.MaxIdle == 0 {
		o.MaxIdle = 8
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Second
	}
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{Timeout: o.DialTimeout}
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}
