package senderauth

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// OrganizationalDomain returns the registered domain of name (RFC 7489 section
// 3.2): the public suffix plus one label, from the public suffix list. A name
// that is itself a public suffix (or not a valid name) is its own
// organisational domain.
func OrganizationalDomain(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return name
	}
	return org
}

// aligned reports whether two domains are aligned (RFC 7489 section 3.1):
// strict needs the same name, relaxed the same organisational domain.
func aligned(a, b string, strict bool) bool {
	a = strings.ToLower(strings.TrimSuffix(a, "."))
	b = strings.ToLower(strings.TrimSuffix(b, "."))
	if a == "" || b == "" {
		return false
	}
	if strict {
		return a == b
	}
	return OrganizationalDomain(a) == OrganizationalDomain(b)
}
