package mimeparse

import "testing"

// TestAddressComments: comments inside an addr-spec (imaptest's search-addresses
// message 3) are dropped, not the address.
func TestAddressComments(t *testing.T) {
	for in, want := range map[string]Address{
		"<user-from (comment)@ (comment) domain.org>": {Mailbox: "user-from", Host: "domain.org"},
		`"a (b)" <x@y.org>`:                           {Name: "a (b)", Mailbox: "x", Host: "y.org"},
	} {
		got := AddressList(in)
		if len(got) != 1 || got[0].Mailbox != want.Mailbox || got[0].Host != want.Host || got[0].Name != want.Name {
			t.Errorf("AddressList(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// TestAddressRoute: an obsolete source route is kept for ENVELOPE's at-domain-list
// (imaptest's fetch-envelope message 6), and groups are start/end markers.
func TestAddressRoute(t *testing.T) {
	for in, want := range map[string][]Address{
		"<@route:user@domain>":              {{Route: "@route", Mailbox: "user", Host: "domain"}},
		"Name <@r1, @r2 : user@domain>":     {{Name: "Name", Route: "@r1,@r2", Mailbox: "user", Host: "domain"}},
		"user@domain":                       {{Mailbox: "user", Host: "domain"}},
		"group: g1@d1.org, <@r:g2@d2.org>;": {{Mailbox: "group"}, {Mailbox: "g1", Host: "d1.org"}, {Route: "@r", Mailbox: "g2", Host: "d2.org"}, {}},
		"group:;, group2: (foo) ;":          {{Mailbox: "group"}, {}, {Mailbox: "group2"}, {}},
	} {
		got := AddressList(in)
		if len(got) != len(want) {
			t.Errorf("AddressList(%q) = %+v, want %+v", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("AddressList(%q)[%d] = %+v, want %+v", in, i, got[i], want[i])
			}
		}
	}
}
