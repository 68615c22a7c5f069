package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/postern/postern/smtp/relay"
)

// Route sends the mail of some recipient or sender domains another way than the
// default [relay] ([[route]] tables). A recipient's own domain is matched first, in
// every route; then the message's sender domain; the rest takes the default.
type Route struct {
	RecipientDomains []string `toml:"recipient_domains" type:"array of domain names" example:"example.org" doc:"Recipients in these domains take this route."`
	SenderDomains    []string `toml:"sender_domains" type:"array of domain names" example:"" doc:"Mail from these envelope sender domains takes this route, for recipients no recipient_domains route matched."`
	Via              string   `toml:"via" required:"true" example:"backup" doc:"Where the mail goes: the NAME of a [relays.NAME] table, \"relay\" for [relay], or \"direct\" for delivery to the domain's MX hosts (opportunistic STARTTLS, no AUTH)."`
}

// The route targets that are not [relays.NAME] tables. They cannot be relay names.
const (
	ViaRelay  = "relay"  // the [relay] table; direct delivery without it
	ViaDirect = "direct" // the recipient domain's MX hosts
)

// reservedRelayNames may not name a [relays.NAME] table: routes use them.
var reservedRelayNames = []string{ViaRelay, ViaDirect, "local"}

// RelayNames returns the names of the [relays.NAME] tables, sorted.
func (c *Config) RelayNames() []string {
	names := make([]string, 0, len(c.Relays))
	for n := range c.Relays {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RelayByName returns [relay] for "relay" and the [relays.NAME] table for a NAME, or nil.
func (c *Config) RelayByName(name string) *Relay {
	if name == ViaRelay {
		return c.Relay
	}
	return c.Relays[name]
}

// providerNames lists the known providers for messages.
func providerNames() string {
	var names []string
	for _, p := range relay.Presets() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// applyRelayDefaults fills what [relay] and the [relays.NAME] tables left out: a
// provider's host, port and TLS mode, else port 587 and STARTTLS. Parse decodes these
// tables over zero values so that "left out" can be told from "given".
func (c *Config) applyRelayDefaults() {
	if c.Relay != nil {
		c.Relay.applyDefaults()
	}
	for n, r := range c.Relays {
		if r == nil { // an empty [relays.NAME] table
			r = &Relay{}
			c.Relays[n] = r
		}
		r.applyDefaults()
	}
}

func (r *Relay) applyDefaults() {
	if r.Provider != "" {
		if p, ok := relay.LookupPreset(r.Provider, r.Region); ok {
			if r.Host == "" && !strings.Contains(p.Host, "REGION") {
				r.Host = p.Host
			}
			switch {
			case r.Port == 0 && r.TLS == "":
				r.Port, r.TLS = p.Port, string(p.TLS)
			case r.Port == 0 && p.AltPort != 0 && r.TLS == string(p.AltTLS):
				r.Port = p.AltPort
			case r.Port == 0:
				r.Port = p.Port
			case r.TLS == "" && p.AltPort != 0 && r.Port == p.AltPort:
				r.TLS = string(p.AltTLS)
			case r.TLS == "":
				r.TLS = string(p.TLS)
			}
		}
	}
	d := DefaultRelay()
	if r.Port == 0 {
		r.Port = d.Port
	}
	if r.TLS == "" {
		r.TLS = d.TLS
	}
}

// validateRelays checks [relay], every [relays.NAME], the fallbacks and the routes.
func (c *Config) validateRelays(pr *problems) {
	if c.Relay != nil {
		c.Relay.validate(pr, "relay", "[relay]")
	}
	for _, n := range c.RelayNames() {
		key := "relays." + n
		if slices.Contains(reservedRelayNames, n) {
			pr.add(key, fmt.Sprintf("[%s]: %q is reserved for routes; give the relay another name", key, n))
		}
		if r := c.Relays[n]; r != nil {
			r.validate(pr, key, "["+key+"]")
		}
	}
	c.validateFallbacks(pr)
	c.validateRoutes(pr)
}

// validateFallbacks checks that each fallback names a relay and that no chain of
// fallbacks comes back to where it started.
func (c *Config) validateFallbacks(pr *problems) {
	type node struct{ name, key string }
	var nodes []node
	if c.Relay != nil {
		nodes = append(nodes, node{ViaRelay, "relay"})
	}
	for _, n := range c.RelayNames() {
		nodes = append(nodes, node{n, "relays." + n})
	}
	broken := false
	for _, nd := range nodes {
		fb := c.RelayByName(nd.name).Fallback
		if fb == "" {
			continue
		}
		target := c.Relays[fb]
		if fb == ViaRelay && nd.name != ViaRelay {
			target = c.Relay
		}
		if target == nil {
			broken = true
			pr.addf(nd.key+".fallback", "%q is not a relay (known: %s)", fb, c.knownRelays(nd.name != ViaRelay))
		}
	}
	if broken {
		return // a cycle check over unknown names says nothing useful
	}
	reported := make(map[string]bool)
	for _, nd := range nodes {
		chain := []string{nd.name}
		for cur := nd.name; ; {
			fb := c.RelayByName(cur).Fallback
			if fb == "" {
				break
			}
			if i := slices.Index(chain, fb); i >= 0 {
				cycle := append(chain[i:], fb)
				if !reported[fb] {
					for _, n := range chain[i:] {
						reported[n] = true
					}
					pr.addf(nd.key+".fallback", "the fallbacks form a cycle: %s", strings.Join(cycle, " -> "))
				}
				break
			}
			chain = append(chain, fb)
			cur = fb
		}
	}
}

// knownRelays lists the names a fallback or route may use, for messages.
func (c *Config) knownRelays(withDefault bool) string {
	names := c.RelayNames()
	if withDefault && c.Relay != nil {
		names = append([]string{ViaRelay}, names...)
	}
	if len(names) == 0 {
		return "none: define a [relays.NAME] table"
	}
	return strings.Join(names, ", ")
}

// validateRoutes checks every [[route]]: it matches something, goes somewhere that
// exists, and no domain is routed twice.
func (c *Config) validateRoutes(pr *problems) {
	seenRcpt := make(map[string]int)
	seenSender := make(map[string]int)
	for i, rt := range c.Routes {
		key := fmt.Sprintf("route.%d", i+1)
		what := fmt.Sprintf("[[route]] #%d", i+1)
		if len(rt.RecipientDomains) == 0 && len(rt.SenderDomains) == 0 {
			pr.add(key, what+": needs recipient_domains or sender_domains (or both)")
		}
		checkDomains := func(field string, list []string, seen map[string]int) {
			for _, d := range list {
				ld := strings.ToLower(d)
				if p := hostnameProblem(ld, false); p != "" {
					pr.add(key+"."+field, fmt.Sprintf("%s: %s: %q is not a domain name: %s", what, field, d, p))
					continue
				}
				if prev, dup := seen[ld]; dup {
					pr.add(key+"."+field, fmt.Sprintf("%s: %s: %q is already routed by [[route]] #%d", what, field, d, prev))
					continue
				}
				seen[ld] = i + 1
			}
		}
		checkDomains("recipient_domains", rt.RecipientDomains, seenRcpt)
		checkDomains("sender_domains", rt.SenderDomains, seenSender)
		switch {
		case rt.Via == "":
			pr.add(key, what+`: via is required: the NAME of a [relays.NAME] table, "relay" or "direct"`)
		case rt.Via == ViaDirect:
		case rt.Via == ViaRelay:
			if c.Relay == nil {
				pr.add(key+".via", what+`: via = "relay" but there is no [relay] table (without it the default is already direct delivery)`)
			}
		case c.Relays[rt.Via] == nil:
			pr.add(key+".via", fmt.Sprintf(`%s: via = %q is not a relay (known: "direct"%s)`, what, rt.Via, quotedRelays(c)))
		}
	}
}

func quotedRelays(c *Config) string {
	var b strings.Builder
	if c.Relay != nil {
		b.WriteString(`, "relay"`)
	}
	for _, n := range c.RelayNames() {
		fmt.Fprintf(&b, ", %q", n)
	}
	return b.String()
}

// RouteFor says how mail to rcptDomain from senderDomain leaves: a [relays.NAME] name,
// ViaRelay or ViaDirect. Recipient domains are matched first (RFC 5321 leaves routing
// to us; the recipient is what decides where mail must arrive), then the sender domain,
// then the default: ViaRelay with a [relay] table, else ViaDirect.
func (c *Config) RouteFor(rcptDomain, senderDomain string) string {
	for _, rt := range c.Routes {
		if containsFold(rt.RecipientDomains, rcptDomain) {
			return rt.Via
		}
	}
	if senderDomain != "" {
		for _, rt := range c.Routes {
			if containsFold(rt.SenderDomains, senderDomain) {
				return rt.Via
			}
		}
	}
	if c.Relay != nil {
		return ViaRelay
	}
	return ViaDirect
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// relayWarnings adds the warnings about one relay table.
func (r *Relay) warnings(pr *problems, key string) {
	switch {
	case r.Port == 465 && r.TLS == "starttls":
		pr.addf(key+".tls", `"starttls" on port 465, which usually speaks implicit TLS; did you mean tls = "implicit"?`)
	case r.Port == 587 && r.TLS == "implicit":
		pr.addf(key+".tls", `"implicit" on port 587, which usually speaks STARTTLS; did you mean tls = "starttls"?`)
	}
	if r.TLS == "none" {
		pr.addf(key+".tls", `"none": mail to the smart host travels unencrypted`)
	}
	if r.InsecureSkipVerify && r.TLS != "none" {
		pr.addf(key+".insecure_skip_verify", "the smart host's certificate is not verified: anyone on the path can pose as %s and read the password and the mail", r.Host)
	}
}

// relaysWarnings adds the warnings about every relay table and unused named relays.
func (c *Config) relaysWarnings(pr *problems) {
	if c.Relay != nil {
		c.Relay.warnings(pr, "relay")
	}
	used := make(map[string]bool)
	for _, rt := range c.Routes {
		used[rt.Via] = true
	}
	if c.Relay != nil {
		used[c.Relay.Fallback] = true
	}
	for _, n := range c.RelayNames() {
		if r := c.Relays[n]; r != nil {
			used[r.Fallback] = true
		}
	}
	for _, n := range c.RelayNames() {
		if r := c.Relays[n]; r != nil {
			r.warnings(pr, "relays."+n)
			if !used[n] {
				pr.addf("relays."+n, "is not used by any [[route]] or fallback")
			}
		}
	}
}
