package postfix

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Relay is the smart host of relayhost with its SASL login.
type Relay struct {
	Host     string
	Port     int
	TLS      string // "starttls", "implicit" or "none"
	Username string
	Password string `json:"-"`
}

// Alias is one virtual_alias_maps entry.
type Alias struct {
	Source  string   // "user@domain" or "@domain"
	Targets []string // addresses
	Where   string   // file:line
}

// Plan is what an import would apply.
type Plan struct {
	Domains  []string
	Aliases  []Alias
	Relay    *Relay
	Warnings []string
}

// Read reads main.cf in dir and the tables it names.
func Read(dir string) (*Plan, error) {
	f, err := os.Open(filepath.Join(dir, "main.cf"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cf, err := ParseMainCf(f)
	if err != nil {
		return nil, fmt.Errorf("main.cf: %w", err)
	}
	p := &Plan{}
	for _, param := range []string{"virtual_mailbox_domains", "virtual_alias_domains"} {
		for _, item := range cf.List(param) {
			p.addDomains(param, item)
		}
	}
	for _, spec := range cf.List("virtual_alias_maps") {
		p.addAliases(spec)
	}
	p.readRelay(cf)
	return p, nil
}

func (p *Plan) warn(format string, args ...any) {
	p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...))
}

func (p *Plan) addDomain(d string) {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if d != "" && !slices.Contains(p.Domains, d) {
		p.Domains = append(p.Domains, d)
	}
}

// addDomains takes a literal domain, a table (its keys) or a /file of names.
func (p *Plan) addDomains(param, item string) {
	switch {
	case strings.HasPrefix(item, "/"):
		data, err := os.ReadFile(item)
		if err != nil {
			p.warn("%s: %v", param, err)
			return
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				for _, d := range splitList(line) {
					p.addDomain(d)
				}
			}
		}
	case strings.Contains(item, ":"):
		entries, err := readTable(item)
		if err != nil {
			p.warn("%s: %v", param, err)
			return
		}
		for _, e := range entries {
			p.addDomain(e.Key)
		}
	default:
		p.addDomain(item)
	}
}

func readTable(spec string) ([]MapEntry, error) {
	path, err := MapSource(spec)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseMap(f)
}

func (p *Plan) addAliases(spec string) {
	entries, err := readTable(spec)
	if err != nil {
		p.warn("virtual_alias_maps: %v", err)
		return
	}
	path, _ := MapSource(spec)
	for _, e := range entries {
		where := path + ":" + strconv.Itoa(e.Line)
		src := strings.ToLower(e.Key)
		if !strings.Contains(src, "@") {
			p.warn("%s: alias %q has no domain (Postfix adds $myorigin); not imported", where, e.Key)
			continue
		}
		var targets []string
		for _, t := range splitList(e.Value) {
			if !strings.Contains(t, "@") {
				p.warn("%s: target %q of %s is a local user, not an address; left out", where, t, e.Key)
				continue
			}
			targets = append(targets, strings.ToLower(t))
		}
		if len(targets) == 0 {
			p.warn("%s: alias %s has no address targets; not imported", where, e.Key)
			continue
		}
		p.Aliases = append(p.Aliases, Alias{Source: src, Targets: targets, Where: where})
		_, d, _ := strings.Cut(src, "@")
		p.addDomain(d)
	}
}

// readRelay turns relayhost, smtp_tls_* and smtp_sasl_password_maps into a Relay.
func (p *Plan) readRelay(cf MainCf) {
	rh := cf.Get("relayhost")
	if rh == "" {
		return
	}
	host, port := rh, 25
	if h, ps, ok := strings.Cut(strings.TrimPrefix(rh, "["), "]"); ok && strings.HasPrefix(rh, "[") {
		host = h
		if n, err := strconv.Atoi(strings.TrimPrefix(ps, ":")); err == nil {
			port = n
		}
	} else if h, ps, ok := strings.Cut(rh, ":"); ok {
		host = h
		if n, err := strconv.Atoi(ps); err == nil {
			port = n
		}
		p.warn("relayhost %s has no [brackets]: Postfix looks up its MX records; Postern connects to %s itself", rh, h)
	}
	r := &Relay{Host: host, Port: port, TLS: "starttls"}
	switch {
	case cf.Get("smtp_tls_wrappermode") == "yes":
		r.TLS = "implicit"
	case cf.Get("smtp_tls_security_level") == "none" || (cf.Get("smtp_tls_security_level") == "" && cf.Get("smtp_use_tls") != "yes" && port == 25):
		r.TLS = "none"
		p.warn("the relay is reached without TLS in Postfix; Postern's [relay] tls = \"none\" sends the password in clear: prefer starttls")
	}
	if cf.Get("smtp_sasl_auth_enable") == "yes" {
		p.readSASL(cf, rh, r)
	}
	p.Relay = r
}

func (p *Plan) readSASL(cf MainCf, relayhost string, r *Relay) {
	for _, spec := range cf.List("smtp_sasl_password_maps") {
		entries, err := readTable(spec)
		if err != nil {
			p.warn("smtp_sasl_password_maps: %v", err)
			continue
		}
		for _, e := range entries {
			if e.Key == relayhost || e.Key == r.Host || e.Key == "["+r.Host+"]" {
				u, pw, ok := strings.Cut(e.Value, ":")
				if !ok {
					p.warn("sasl_passwd entry for %s is not user:password", e.Key)
					continue
				}
				r.Username, r.Password = u, pw
				return
			}
		}
	}
	p.warn("smtp_sasl_auth_enable = yes but no password for %s was found", relayhost)
}

// RelayTOML is the [relay] fragment of postern.toml for r, its password in passwordFile.
func RelayTOML(r *Relay, passwordFile string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[relay]\nhost = %q\nport = %d\ntls = %q\n", r.Host, r.Port, r.TLS)
	if r.Username != "" {
		fmt.Fprintf(&b, "username = %q\npassword_file = %q\n", r.Username, passwordFile)
	}
	return b.String()
}
