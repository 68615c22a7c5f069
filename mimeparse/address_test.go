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
