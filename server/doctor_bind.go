package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"time"

	"github.com/postern/postern/doctor"
	"github.com/postern/postern/server/config"
	"github.com/postern/postern/server/dnsrecords"
	"github.com/postern/postern/smtp/relay"
	"github.com/postern/postern/trace"
	"golang.org/x/sys/unix"
)

// doctorCheckLimit bounds each check of postern doctor (DNS and relay timeouts are
// shorter, so this only catches a hang).
const doctorCheckLimit = 45 * time.Second

// runDoctor runs every check of postern doctor against the running daemon's config.
func (s *Server) runDoctor(ctx context.Context) doctor.Report {
	return doctor.Run(ctx, s.doctorChecks(ctx), doctorCheckLimit)
}

// doctorChecks builds the checks from the config in force and the daemon's parts.
func (s *Server) doctorChecks(ctx context.Context) []doctor.Check {
	cfg := s.currentConfig()
	relays := relaySpecs(cfg)
	milterNet, milterAddr := cfg.Milter.Network()
	if cfg.Milter.Address == "" {
		milterAddr = ""
	}
	checks := []doctor.Check{
		doctor.TLSModeCheck(relays),
		doctor.CACheck(relays, x509.SystemCertPool),
		doctor.CertCheck(cfg.Hostname, s.servedCert(cfg.Hostname), cfg.TLS.Cert == "" && cfg.TLS.ACME == nil, time.Now),
		doctor.DNSCheck(s.localDomains(ctx), func(ctx context.Context, d string) []dnsrecords.Result {
			return dnsrecords.Check(ctx, cfg.DNS.Addrs(), dnsrecords.Records(dnsrecords.FromConfig(cfg, d)))
		}),
		doctor.SecretModesCheck(secretFiles(cfg)),
		doctor.TrustedNetworksCheck(cfg.SMTP.Prefixes()),
		s.proxyCheck(ctx, cfg),
		doctor.MilterCheck(milterNet, milterAddr, (&net.Dialer{Timeout: 5 * time.Second}).DialContext),
		doctor.DiskCheck(cfg.StateDir, 10, statfs),
		doctor.ControllerCheck(cfg.SpamLearning.Controller, &http.Client{Timeout: 5 * time.Second}),
	}
	for _, r := range relays {
		name := r.Name
		checks = append(checks, doctor.RelayCheck(r.Table, func(ctx context.Context) relay.Report { return s.testRelay(ctx, name) }))
	}
	if s.out != nil {
		_, _, _, delay := cfg.Queue.Durations()
		checks = append(checks, doctor.QueueCheck(s.out.Queue().List, delay, time.Now))
	}
	if s.mxProbe != nil {
		if from, ok := doctor.Stranger(cfg.SMTP.Prefixes()); ok {
			dial := func(ctx context.Context) (net.Conn, error) { return s.mxProbe.Dial(ctx, from) }
			checks = append(checks, doctor.OpenRelayCheck(dial, "postern-doctor@example.com"))
		} else {
			checks = append(checks, doctor.Check{Name: "open-relay", Run: func(context.Context) []doctor.Finding {
				return []doctor.Finding{{Severity: doctor.Problem, Message: "trusted_networks covers every address: this server relays for anyone.",
					Fix: "Narrow [smtp] trusted_networks to loopback."}}
			}})
		}
	}
	return checks
}

// Which connections the proxy check reads: the newest port-25 sessions of the last week.
const (
	proxyWindow   = 7 * 24 * time.Hour
	proxySessions = 500
)

// proxyCheck is doctor.ProxyCheck over the sessions the trace kept (none without it).
func (s *Server) proxyCheck(ctx context.Context, cfg *config.Config) doctor.Check {
	if !cfg.Trace.Enabled {
		return doctor.Check{Name: "proxy", Run: func(context.Context) []doctor.Finding {
			return []doctor.Finding{{Severity: doctor.OK, Message: "[trace] is off, so the connections port 25 got are not kept: a proxy in front that makes every client look local cannot be seen from them."}}
		}}
	}
	own := append([]string{cfg.Hostname}, s.localDomains(ctx)...)
	return doctor.ProxyCheck(func(ctx context.Context) ([]doctor.Session, error) {
		ts, err := trace.RecentSessions(ctx, s.store, time.Now().Add(-proxyWindow), proxySessions)
		out := make([]doctor.Session, len(ts))
		for i, t := range ts {
			out[i] = doctor.Session{Client: t.Client, Role: t.Role, Trusted: t.Trusted, HELO: t.HELO}
		}
		return out, err
	}, own)
}

// relaySpecs lists [relay] and every [relays.NAME] as the doctor checks them.
func relaySpecs(cfg *config.Config) []doctor.RelaySpec {
	var out []doctor.RelaySpec
	add := func(table, name string, r *config.Relay) {
		out = append(out, doctor.RelaySpec{Table: table, Name: name, Host: r.Host, Port: r.Port, TLS: r.TLS, CAFile: r.CAFile})
	}
	if cfg.Relay != nil {
		add("[relay]", "", cfg.Relay)
	}
	names := make([]string, 0, len(cfg.Relays))
	for n := range cfg.Relays {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add("[relays."+n+"]", n, cfg.Relays[n])
	}
	return out
}

// testRelay runs the relay diagnosis of postern relay test ("" is [relay]).
func (s *Server) testRelay(ctx context.Context, name string) relay.Report {
	opts, err := s.relayOptions(name)
	if err != nil {
		return relay.Report{Steps: []relay.Step{{Name: "config", Detail: err.Error(),
			Explain: "Fix the relay's settings or its password file (postern relay test explains more)."}}}
	}
	return *relay.Diagnose(ctx, opts, "")
}

// servedCert returns what a client asking for hostname is served (files, ACME or the
// self-signed certificate).
func (s *Server) servedCert(hostname string) func() (*x509.Certificate, error) {
	return func() (*x509.Certificate, error) {
		c, err := s.tlsCfg.GetCertificate(&tls.ClientHelloInfo{ServerName: hostname})
		if err != nil {
			return nil, err
		}
		if c == nil || len(c.Certificate) == 0 {
			return nil, errors.New("no certificate is served")
		}
		if c.Leaf != nil {
			return c.Leaf, nil
		}
		return x509.ParseCertificate(c.Certificate[0])
	}
}

func (s *Server) localDomains(ctx context.Context) []string {
	ds, err := s.store.ListDomains(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

// secretFiles are the files whose contents are keys or passwords.
func secretFiles(cfg *config.Config) []string {
	files := []string{filepath.Join(cfg.StateDir, "srs.key"), filepath.Join(cfg.TLSDir(), "selfsigned.key")}
	if cfg.TLS.Key != "" {
		files = append(files, cfg.TLS.Key)
	}
	for _, r := range append([]*config.Relay{cfg.Relay}, mapValues(cfg.Relays)...) {
		if r != nil && r.PasswordFile != "" {
			files = append(files, r.PasswordFile)
		}
	}
	keys, _ := filepath.Glob(filepath.Join(cfg.DKIMDir(), "*", "*.key"))
	return append(files, keys...)
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func statfs(dir string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), st.Blocks * uint64(st.Bsize), nil
}
