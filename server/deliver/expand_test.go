package deliver

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/postern/postern/store"
)

// fakeDirectory is an in-memory addressStore for expander tests.
type fakeDirectory struct {
	domains  map[string]bool
	users    map[string]bool // address -> disabled
	aliases  map[string][]string
	failUser bool
}

func (f *fakeDirectory) HasDomain(_ context.Context, name string) (bool, error) {
	return f.domains[name], nil
}

func (f *fakeDirectory) GetUser(_ context.Context, addr string) (store.User, error) {
	if f.failUser {
		return store.User{}, errors.New("database is locked")
	}
	disabled, ok := f.users[addr]
	if !ok {
		return store.User{}, store.ErrNotFound
	}
	return store.User{Address: addr, Disabled: disabled}, nil
}

func (f *fakeDirectory) AliasTargets(_ context.Context, src string) ([]string, error) {
	return f.aliases[src], nil
}

func newFakeDirectory() *fakeDirectory {
	return &fakeDirectory{
		domains: map[string]bool{"example.test": true, "other.test": true},
		users:   map[string]bool{"alice@example.test": false, "bob@example.test": false, "carol@example.test": false, "dave@example.test": true},
		aliases: map[string][]string{
			"postmaster@example.test":    {"alice@example.test"},
			"team@example.test":          {"alice@example.test", "bob@example.test", "carol@example.test"},
			"nested@example.test":        {"team@example.test", "alice@example.test"},
			"fwd@example.test":           {"someone@elsewhere.org", "bob@example.test"},
			"loop1@example.test":         {"loop2@example.test"},
			"loop2@example.test":         {"loop1@example.test"},
			"half@example.test":          {"loop1@example.test", "carol@example.test"},
			"broken@example.test":        {"ghost@example.test"},
			"@other.test":                {"bob@example.test"},
			"alice+special@example.test": {"carol@example.test"},
		},
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	r := &expander{dir: newFakeDirectory(), delimiter: "+"}
	local := func(addr, detail string) target { return target{Kind: targetLocal, Address: addr, Detail: detail} }
	cases := []struct {
		rcpt string
		want []target
		err  error
	}{
		{"alice@example.test", []target{local("alice@example.test", "")}, nil},
		{"Alice@EXAMPLE.test", []target{local("alice@example.test", "")}, nil},
		{"alice+lists@example.test", []target{local("alice@example.test", "lists")}, nil},
		// An alias of the full +address wins over subaddressing.
		{"alice+special@example.test", []target{local("carol@example.test", "")}, nil},
		{"postmaster@example.test", []target{local("alice@example.test", "")}, nil},
		{"postmaster+x@example.test", []target{local("alice@example.test", "x")}, nil},
		{"team@example.test", []target{local("alice@example.test", ""), local("bob@example.test", ""), local("carol@example.test", "")}, nil},
		// alice reached twice (via team and directly) gets one copy.
		{"nested@example.test", []target{local("alice@example.test", ""), local("bob@example.test", ""), local("carol@example.test", "")}, nil},
		{"fwd@example.test", []target{{Kind: targetExternal, Address: "someone@elsewhere.org"}, local("bob@example.test", "")}, nil},
		{"anything@other.test", []target{local("bob@example.test", "")}, nil},
		{"nobody@example.test", nil, errUnknownRecipient},
		{"nobody+x@example.test", nil, errUnknownRecipient},
		{"dave@example.test", nil, errDisabled},
		{"loop1@example.test", nil, errAliasLoop},
		{"half@example.test", []target{local("carol@example.test", "")}, nil},
		{"broken@example.test", nil, errUnknownRecipient},
		{"victim@gmail.com", nil, errNotLocal},
		{"not an address", nil, errUnknownRecipient},
	}
	for _, c := range cases {
		res, err := r.Expand(context.Background(), c.rcpt)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Expand(%q) error = %v, want %v", c.rcpt, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Expand(%q): %v", c.rcpt, err)
			continue
		}
		got := append([]target(nil), res.Targets...)
		for i := range got {
			got[i].Via = "" // TestExpandSaysHow checks it
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Expand(%q) = %+v, want %+v", c.rcpt, got, c.want)
		}
	}
}

// TestExpandSaysHow: each target says how the recipient reached it, for the trace.
func TestExpandSaysHow(t *testing.T) {
	t.Parallel()
	r := &expander{dir: newFakeDirectory(), delimiter: "+"}
	for rcpt, want := range map[string]string{
		"alice@example.test":        "",
		"alice+lists@example.test":  "alice+lists@example.test is alice@example.test +lists",
		"postmaster@example.test":   "alias postmaster@example.test",
		"postmaster+x@example.test": "postmaster+x@example.test is postmaster@example.test +x -> alias postmaster@example.test",
		"anything@other.test":       "catch-all @other.test",
	} {
		res, err := r.Expand(context.Background(), rcpt)
		if err != nil || len(res.Targets) != 1 || res.Targets[0].Via != want {
			t.Errorf("Expand(%q) = %+v, %v; want Via %q", rcpt, res.Targets, err, want)
		}
	}
}

func TestExpandNoDelimiter(t *testing.T) {
	t.Parallel()
	r := &expander{dir: newFakeDirectory()}
	if _, err := r.Expand(context.Background(), "alice+lists@example.test"); !errors.Is(err, errUnknownRecipient) {
		t.Fatalf("with subaddressing off, alice+lists must be unknown; got %v", err)
	}
}

func TestExpandDeepNesting(t *testing.T) {
	t.Parallel()
	d := newFakeDirectory()
	// a0 -> a1 -> ... -> a20 -> alice: deeper than maxAliasDepth.
	for i := 0; i < 20; i++ {
		d.aliases["a"+strconv.Itoa(i)+"@example.test"] = []string{"a" + strconv.Itoa(i+1) + "@example.test"}
	}
	d.aliases["a20@example.test"] = []string{"alice@example.test"}
	r := &expander{dir: d, delimiter: "+"}
	if _, err := r.Expand(context.Background(), "a0@example.test"); !errors.Is(err, errAliasLoop) {
		t.Fatalf("deep nesting: %v, want errAliasLoop", err)
	}
	if res, err := r.Expand(context.Background(), "a15@example.test"); err != nil || len(res.Targets) != 1 {
		t.Fatalf("six levels should resolve: %+v %v", res, err)
	}
}

func TestExpandLookupFailureIsNotUnknown(t *testing.T) {
	t.Parallel()
	d := newFakeDirectory()
	d.failUser = true
	r := &expander{dir: d}
	_, err := r.Expand(context.Background(), "alice@example.test")
	if err == nil || errors.Is(err, errUnknownRecipient) {
		t.Fatalf("a store failure must not look like an unknown user (that would bounce mail): %v", err)
	}
	// And it becomes a temporary reply.
	if rep := recipientReply("alice@example.test", err); !strings.HasPrefix(rep.Error(), "451") {
		t.Fatalf("reply = %v, want 451", rep)
	}
}
