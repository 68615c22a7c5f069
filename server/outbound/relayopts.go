package outbound

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp/relay"
)

// routeOptions builds the relay client options of every way out the config uses,
// keyed by route target: config.ViaRelay for [relay] (absent without it),
// config.ViaDirect for MX delivery (when it is the default or a route uses it), and
// each [relays.NAME]. Every password file is read, with the same checks as [relay]'s,
// so that a bad one stops the start instead of deferring mail later.
func routeOptions(cfg *config.Config, getenv func(string) string, log *slog.Logger, resolver relay.Resolver) (map[string]relay.Options, error) {
	out := make(map[string]relay.Options)
	targets := []string{}
	if cfg.Relay != nil {
		targets = append(targets, config.ViaRelay)
	} else {
		targets = append(targets, config.ViaDirect)
	}
	targets = append(targets, cfg.RelayNames()...)
	for _, rt := range cfg.Routes {
		if rt.Via == config.ViaDirect {
			targets = append(targets, config.ViaDirect)
		}
	}
	for _, name := range targets {
		if _, done := out[name]; done {
			continue
		}
		o, err := RelayOptions(cfg, name, getenv, log, resolver)
		if err != nil {
			return nil, err
		}
		out[name] = o
	}
	return out, nil
}

// relayTarget names a route target in logs and errors.
func relayTarget(name string) string {
	switch name {
	case config.ViaRelay:
		return "relay"
	case config.ViaDirect:
		return "direct delivery"
	}
	return "relays." + name
}

// RelayOptions builds the relay client's options for a route target (config.ViaRelay,
// config.ViaDirect or a [relays.NAME] name), reading its password file.
func RelayOptions(cfg *config.Config, name string, getenv func(string) string, log *slog.Logger, resolver relay.Resolver) (relay.Options, error) {
	o := relay.Options{HeloName: cfg.Hostname, Logger: log.With("service", "relay"), Resolver: resolver}
	if name == config.ViaDirect {
		return o, nil
	}
	r := cfg.RelayByName(name)
	if r == nil {
		if name == config.ViaRelay {
			return o, nil // direct MX delivery
		}
		return o, fmt.Errorf("no relay named %q (known: %s)", name, strings.Join(cfg.RelayNames(), ", "))
	}
	if name != config.ViaRelay {
		o.Logger = o.Logger.With("relay", name)
	}
	label := relayTarget(name)
	o.Host, o.Port, o.TLS, o.Username = r.Host, r.Port, relay.TLSMode(r.TLS), r.Username
	o.InsecureSkipVerify = r.InsecureSkipVerify
	o.AllowInternal = namedInternal(r)
	if r.Username != "" {
		pw, err := readPasswordFile(label, r.PasswordFile, getenv)
		if err != nil {
			return o, err
		}
		o.Password = pw
	}
	if r.CAFile != "" {
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return o, fmt.Errorf("%s ca_file: %w", label, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("%s ca_file %s: no PEM certificates in it", label, r.CAFile)
		}
		o.RootCAs = pool
	}
	return o, nil
}

// namedInternal says whether the owner named this smart host's address: an IP literal
// or "localhost" in host, or allow_internal. Only then may it be loopback, private,
// link-local or our own; a host name that resolves to such an address otherwise is
// refused, so that DNS cannot point the relay (and its password) at the LAN or back at
// us. MX delivery never may.
func namedInternal(r *config.Relay) bool {
	if r.AllowInternal || strings.EqualFold(r.Host, "localhost") {
		return true
	}
	_, err := netip.ParseAddr(strings.Trim(r.Host, "[]"))
	return err == nil
}

// readPasswordFile reads a smart host's password. Under systemd the unit's
// LoadCredential hands it over in $CREDENTIALS_DIRECTORY under the file's base name,
// which is preferred. Otherwise the file must be private to the service user: mode 0600
// or 0400 and owned by us, so a password left world-readable is refused loudly at start
// rather than leaked quietly.
// label ("relay", "relays.NAME") starts every error.
func readPasswordFile(label, path string, getenv func(string) string) (string, error) {
	if dir := getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		cred := filepath.Join(dir, filepath.Base(path))
		if data, err := os.ReadFile(cred); err == nil {
			return firstLine(data), nil
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s password_file: %w", label, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s password_file %s is readable by others (mode %04o); make it private: chmod 600 %s", label, path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return "", fmt.Errorf("%s password_file %s is owned by uid %d, not by the service user (uid %d): chown it to the user postern runs as", label, path, st.Uid, os.Getuid())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s password_file: %w", label, err)
	}
	pw := firstLine(data)
	if pw == "" {
		return "", fmt.Errorf("%s password_file %s is empty", label, path)
	}
	return pw, nil
}

func firstLine(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
