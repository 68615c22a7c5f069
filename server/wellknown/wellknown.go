package wellknown

import (
	"context"
	"encoding/xml"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/server/config"
)

// Handler serves the well-known files: what mail clients and sending servers fetch over
// HTTP(S) about a local domain (see the package doc).
//
//   - Thunderbird-style autoconfiguration (also used by K-9/Thunderbird for Android,
//     Evolution, KMail and others): GET /mail/config-v1.1.xml on autoconfig.DOMAIN, or
//     /.well-known/autoconfig/mail/config-v1.1.xml on DOMAIN, with ?emailaddress=. It
//     names the IMAP and submission listeners that are on, with their ports and TLS, and
//     the full address as the login. Served over HTTPS and plain HTTP (clients try both;
//     it holds nothing secret).
//   - The MTA-STS policy (RFC 8461): GET /.well-known/mta-sts.txt on mta-sts.DOMAIN, over
//     HTTPS only, when [mta_sts] mode is set.
//
// The domain comes from the Host header (or emailaddress) and must be a local domain;
// everything else is 404, so the listener says nothing about other names.
type Handler struct {
	cfg   *config.Config
	dir   Domains
	bound func() map[string]string // the listeners' bound addresses, by [listen] name
	https bool                     // on a TLS listener: the MTA-STS policy may be served
}

// New is the handler of one listener: https says whether it is a TLS one (only those
// serve the MTA-STS policy); bound reports the listeners' bound addresses by [listen]
// name (nil: the configured ones), for the ports autoconfiguration names.
func New(cfg *config.Config, domains Domains, bound func() map[string]string, https bool) *Handler {
	return &Handler{cfg: cfg, dir: domains, bound: bound, https: https}
}

func (wk *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	host := requestHost(r)
	switch r.URL.Path {
	case "/.well-known/mta-sts.txt":
		d, ok := strings.CutPrefix(host, "mta-sts.")
		policy := wk.cfg.MTASTSPolicy()
		if !ok || !wk.https || policy == "" || !wk.local(r.Context(), d) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write([]byte(policy))
	case "/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml":
		d := strings.TrimPrefix(host, "autoconfig.")
		if addr := r.URL.Query().Get("emailaddress"); addr != "" {
			if i := strings.LastIndexByte(addr, '@'); i >= 0 {
				d = strings.ToLower(addr[i+1:])
			}
		}
		if !wk.local(r.Context(), d) {
			http.NotFound(w, r)
			return
		}
		var bound map[string]string
		if wk.bound != nil {
			bound = wk.bound()
		}
		body, err := autoconfigXML(wk.cfg, d, bound)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Write(body)
	default:
		http.NotFound(w, r)
	}
}

// Problem is one reason the well-known files cannot be fetched as they should be: a
// message and its slog attributes (the name concerned, the fix).
type Problem struct {
	Message string
	Attrs   []any
}

// CertProblems says what keeps the MTA-STS policy from being fetched with a valid
// certificate: senders fetch it only over HTTPS with a certificate valid for
// mta-sts.DOMAIN (RFC 8461 section 3.3), and ignore it otherwise. domains are the local
// domains. Nothing when no policy is configured.
func CertProblems(cfg *config.Config, domains []string) []Problem {
	if cfg.MTASTSPolicy() == "" {
		return nil
	}
	var out []Problem
	addrs := cfg.Addrs()
	if _, ok := addrs["https"]; !ok {
		if a, ok := addrs["acme_tls"]; !ok || listenPort(a.Address) != 443 {
			out = append(out, Problem{"mta_sts: the policy is served on listen.https or on acme_tls at port 443, and neither is on", []any{"fix", `set [listen] https = ":443"`}})
		}
	}
	if cfg.TLS.ACME == nil {
		if cfg.TLS.Cert == "" {
			out = append(out, Problem{"mta_sts: senders ignore a policy served with a self-signed certificate", []any{"fix", "use [tls.acme] with mta-sts.DOMAIN in names, or a cert valid for it"}})
		}
		return out
	}
	names := cfg.TLS.ACME.NamesOr(cfg.Hostname)
	for _, d := range domains {
		want := "mta-sts." + d
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, want) }) {
			out = append(out, Problem{"mta_sts: the ACME certificate does not cover the policy's name; senders will not fetch it", []any{"name", want, "fix", "add it to tls.acme.names (and point it at this server in DNS)"}})
		}
	}
	return out
}

// requestHost is the Host header without a port, lower-cased.
func requestHost(r *http.Request) string {
	h := r.Host
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func (wk *Handler) local(ctx context.Context, domain string) bool {
	if domain == "" || wk.dir == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok, err := wk.dir.HasDomain(ctx, domain)
	return err == nil && ok
}

// Domains says whether a domain is one of ours (the recipient directory).
type Domains interface {
	HasDomain(ctx context.Context, name string) (bool, error)
}

// The autoconfiguration format (Mozilla's clientConfig 1.1).
type clientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider emailProvider `xml:"emailProvider"`
}

type emailProvider struct {
	ID       string         `xml:"id,attr"`
	Domain   string         `xml:"domain"`
	Display  string         `xml:"displayName"`
	Short    string         `xml:"displayShortName"`
	Incoming []clientServer `xml:"incomingServer"`
	Outgoing []clientServer `xml:"outgoingServer"`
}

type clientServer struct {
	Type     string `xml:"type,attr"`
	Hostname string `xml:"hostname"`
	Port     int    `xml:"port"`
	Socket   string `xml:"socketType"`
	Auth     string `xml:"authentication"`
	Username string `xml:"username"`
}

// autoconfigXML describes the listeners that are on, best first: IMAP over implicit
// TLS, then IMAP with STARTTLS; submission over implicit TLS (RFC 8314 prefers it), then
// STARTTLS. The login is the full address. Ports are those bound (bound, by [listen]
// name) where known, else those configured.
func autoconfigXML(cfg *config.Config, domain string, bound map[string]string) ([]byte, error) {
	srv := func(kind, name, socket string) []clientServer {
		addr := bound[name]
		if addr == "" {
			addr = cfg.Addrs()[name].Address
		}
		port := listenPort(addr)
		if port == 0 {
			return nil
		}
		return []clientServer{{Type: kind, Hostname: cfg.Hostname, Port: port, Socket: socket,
			Auth: "password-cleartext", Username: "%EMAILADDRESS%"}}
	}
	p := emailProvider{ID: domain, Domain: domain, Display: domain + " mail", Short: domain}
	p.Incoming = append(srv("imap", "imaps", "SSL"), srv("imap", "imap", "STARTTLS")...)
	p.Outgoing = append(srv("smtp", "submissions", "SSL"), srv("smtp", "submission", "STARTTLS")...)
	out, err := xml.MarshalIndent(clientConfig{Version: "1.1", Provider: p}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// listenPort is the port of a [listen] address; 0 when off or unparsable (or port 0,
// which only tests use: then the bound port is not known here).
func listenPort(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return 0
	}
	return port
}
