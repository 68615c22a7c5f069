package relay

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/postern/postern/internal/deadport"
)

// mapDialer routes dials by address and records them.
type mapDialer struct {
	routes map[string]string
	mu     sync.Mutex
	seen   []string
}

func (d *mapDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.seen = append(d.seen, addr)
	d.mu.Unlock()
	to, ok := d.routes[addr]
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("no route")}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

func TestDirectMXDelivery(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	f.set(func(f *fakeHost) { f.mechs, f.user = nil, "" })
	closedAddr := deadport.Addr(t)
	d := &mapDialer{routes: map[string]string{"198.51.100.1:25": closedAddr, "198.51.100.2:25": f.startTLSAddr, "198.51.100.3:25": f.plainAddr}}
	res := &fakeResolver{
		mx: map[string][]*net.MX{
			"example.org":    {{Host: "mx2.example.org.", Pref: 20}, {Host: "mx1.example.org.", Pref: 10}},
			"nullmx.example": {{Host: ".", Pref: 0}},
		},
		hosts: map[string][]string{
			"mx1.example.org": {"198.51.100.1"}, "mx2.example.org": {"198.51.100.2"},
			"nomx.example": {"198.51.100.3"},
		},
	}
	c := newClient(t, Options{HeloName: "mail.example.com", Dialer: d, Resolver: res, Logger: quietLogger()})
	rcpts := []string{"a@example.org", "b@nomx.example", "c@nullmx.example", "d@nx.example", "e@Example.ORG"}
	results, err := c.Send(context.Background(), Envelope{From: "me@example.com", Rcpts: rcpts}, strings.NewReader(msg))
	if err == nil {
		t.Error("no error for the failed domains")
	}
	if !results[0].Delivered() || results[0].RemoteMTA != "mx2.example.org" || !results[4].Delivered() {
		t.Errorf("example.org: %+v / %+v", results[0], results[4])
	}
	if !results[1].Delivered() || results[1].RemoteMTA != "nomx.example" {
		t.Errorf("implicit MX: %+v", results[1])
	}
	if r := results[2]; r.Code != 556 || r.Enhanced != "5.1.10" || r.Temporary {
		t.Errorf("null MX: %+v", r)
	}
	if r := results[3]; r.Code != 550 || r.Enhanced != "5.1.2" || r.Temporary {
		t.Errorf("no such domain: %+v", r)
	}
	m1, m2 := f.next(t), f.next(t)
	if m1.tls == m2.tls {
		t.Errorf("want one message over opportunistic STARTTLS and one in clear (no STARTTLS offered): %v %v", m1.tls, m2.tls)
	}
	if strings.Join(m1.rcpts, ",")+strings.Join(m2.rcpts, ",") == "" {
		t.Error("no recipients")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) < 2 || d.seen[0] != "198.51.100.1:25" {
		t.Errorf("dial order %v: the preference-10 MX must come first", d.seen)
	}
}

func TestDirectMXTemporaryWhenAllDown(t *testing.T) {
	t.Parallel()
	d := &mapDialer{routes: map[string]string{}}
	res := &fakeResolver{
		mx:    map[string][]*net.MX{"example.org": {{Host: "mx1.example.org", Pref: 10}}},
		hosts: map[string][]string{"mx1.example.org": {"198.51.100.1", "198.51.100.9"}},
	}
	c := newClient(t, Options{Dialer: d, Resolver: res, Logger: quietLogger()})
	results, err := c.Send(context.Background(), Envelope{From: "me@example.com", Rcpts: []string{"a@example.org"}}, strings.NewReader(msg))
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageConnect || !results[0].Temporary {
		t.Fatalf("err %v results %+v", err, results)
	}
	if len(d.seen) != 2 {
		t.Errorf("tried %v, want both addresses", d.seen)
	}
}

func TestShuffleEqualKeepsPreferenceOrder(t *testing.T) {
	t.Parallel()
	for range 50 {
		mxs := []*net.MX{{Host: "a", Pref: 10}, {Host: "b", Pref: 10}, {Host: "c", Pref: 20}, {Host: "d", Pref: 20}, {Host: "e", Pref: 30}}
		shuffleEqual(mxs)
		for i := 1; i < len(mxs); i++ {
			if mxs[i].Pref < mxs[i-1].Pref {
				t.Fatalf("order broken: %v", mxs)
			}
		}
	}
}

func FuzzParseReply(f *testing.F) {
	f.Add(250, "2.0.0 Ok: queued as 123")
	f.Add(550, "5.1.1 <x@y>: Recipient address rejected\n5.1.1 User unknown")
	f.Add(250, "mail.example.com\nPIPELINING\nSIZE 1000\nAUTH PLAIN LOGIN\nSTARTTLS")
	f.Add(421, "")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		r := parseReply(code, msg)
		if r.Enhanced != "" && (len(r.Enhanced) < 5 || int(r.Enhanced[0]-'0') != code/100) {
			t.Fatalf("enhanced %q for code %d", r.Enhanced, code)
		}
		if strings.ContainsAny(r.Text, "\r\n") {
			t.Fatalf("multi-line text %q", r.Text)
		}
		parseEHLO(r.Lines)
	})
}

// TestDirectMXInternalRefused: an MX that resolves to loopback, a private or a
// link-local address, or to this host's own, is never dialled; a real address after it
// still is.
func TestDirectMXInternalRefused(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	f.set(func(f *fakeHost) { f.mechs, f.user = nil, "" })
	own := ""
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() {
				own = n.IP.String()
				break
			}
		}
	}
	d := &mapDialer{routes: map[string]string{"198.51.100.7:25": f.plainAddr}}
	res := &fakeResolver{
		mx: map[string][]*net.MX{"loop.example": {{Host: "mx.loop.example", Pref: 10}}, "mixed.example": {{Host: "mx.mixed.example", Pref: 10}}},
		hosts: map[string][]string{
			"mx.loop.example":  {"127.0.0.1", "10.1.2.3", "fe80::1", "::1"},
			"mx.mixed.example": {"192.168.1.1", "198.51.100.7"},
		},
	}
	if own != "" {
		res.hosts["mx.loop.example"] = append(res.hosts["mx.loop.example"], own)
	}
	c := newClient(t, Options{Dialer: d, Resolver: res, Logger: quietLogger()})
	results, _ := c.Send(context.Background(), Envelope{From: "me@example.com", Rcpts: []string{"a@loop.example", "b@mixed.example"}}, strings.NewReader(msg))
	if r := results[0]; r.Code != 554 || r.Enhanced != "5.4.4" || r.Temporary {
		t.Errorf("MX on internal addresses: %+v", r)
	}
	if !results[1].Delivered() {
		t.Errorf("the public address after a private one: %+v", results[1])
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) != 1 || d.seen[0] != "198.51.100.7:25" {
		t.Errorf("dialled %v; only the public address may be", d.seen)
	}
}
