package relay

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/internal/deadport"
)

// fakeResolver answers from maps; unknown names are NXDOMAIN.
type fakeResolver struct {
	mx    map[string][]*net.MX
	hosts map[string][]string
}

func (r *fakeResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fakeResolver) LookupHost(_ context.Context, name string) ([]string, error) {
	if h, ok := r.hosts[name]; ok {
		return h, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func diagOpts(f *fakeHost, mode TLSMode, port int) Options {
	o, _ := smartOpts(f, mode)
	o.Port = port
	o.Resolver = &fakeResolver{hosts: map[string][]string{"smtp.test": {"127.0.0.1"}, "smtp.fastmail.com": {"127.0.0.1"}}}
	o.CommandTimeout = 300 * time.Millisecond
	o.DialTimeout = 2 * time.Second
	return o
}

func lastStep(t *testing.T, r *Report) Step {
	t.Helper()
	if len(r.Steps) == 0 {
		t.Fatal("no steps")
	}
	return r.Steps[len(r.Steps)-1]
}

func TestDiagnoseSuccessWithTestMessage(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	for _, mode := range []TLSMode{TLSStartTLS, TLSImplicit} {
		o := diagOpts(f, mode, 587)
		rep := Diagnose(context.Background(), o, "you@example.org")
		var names []string
		for _, s := range rep.Steps {
			names = append(names, s.Name)
			if !s.OK {
				t.Errorf("%s: step %+v", mode, s)
			}
		}
		want := "resolve connect banner ehlo starttls auth send"
		if mode == TLSImplicit {
			want = "resolve connect tls banner ehlo auth send"
		}
		if strings.Join(names, " ") != want || !rep.OK {
			t.Errorf("%s: steps %v ok=%v", mode, names, rep.OK)
		}
		m := f.next(t)
		if !strings.Contains(m.data, "Subject: Postern relay test") || m.rcpts[0] != "you@example.org" {
			t.Errorf("%s: test message %+v", mode, m)
		}
		var b strings.Builder
		rep.Write(&b)
		if strings.Contains(b.String(), "app-password") {
			t.Error("password in report")
		}
		mustContain(t, b.String(), "ok   auth", "verified")
	}
}

func TestDiagnoseExplainsFailures(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t)
	closedAddr := deadport.Addr(t)

	cases := []struct {
		name     string
		opts     func() Options
		step     string
		explains []string
	}{
		{"fastmail auth refused", func() Options {
			o := diagOpts(f, TLSStartTLS, 587)
			o.Host, o.Password = "smtp.fastmail.com", "my-login-password"
			return o
		}, "auth", []string{"refused the username or password", "app password", "Standard plan", "full Fastmail address"}},
		{"generic auth refused", func() Options {
			o := diagOpts(f, TLSStartTLS, 587)
			o.Password = "bad"
			return o
		}, "auth", []string{"refused the username or password", "app password"}},
		{"starttls on 465", func() Options {
			o := diagOpts(f, TLSStartTLS, 465)
			o.Dialer = &fixedDialer{addr: f.implicitAddr}
			return o
		}, "banner", []string{"hangs", "tls = \"implicit\""}},
		{"implicit on 587", func() Options {
			o := diagOpts(f, TLSImplicit, 587)
			o.Dialer = &fixedDialer{addr: f.startTLSAddr}
			return o
		}, "tls", []string{"plain text", "tls = \"starttls\""}},
		{"unknown CA", func() Options {
			o := diagOpts(f, TLSStartTLS, 587)
			o.RootCAs = nil
			return o
		}, "starttls", []string{"unknown certificate authority", "ca_file"}},
		{"unknown CA implicit", func() Options {
			o := diagOpts(f, TLSImplicit, 465)
			o.RootCAs = nil
			return o
		}, "tls", []string{"unknown certificate authority"}},
		{"connection refused", func() Options {
			o := diagOpts(f, TLSStartTLS, 587)
			o.Dialer = &fixedDialer{addr: closedAddr}
			return o
		}, "connect", []string{"refused the connection", "port"}},
		{"port blocked", func() Options {
			o := diagOpts(f, TLSStartTLS, 587)
			o.Dialer = blackhole{}
			o.DialTimeout = 200 * time.Millisecond
			return o
		}, "connect", []string{"blocked", "ISP"}},
		{"no such host", func() Options {
			o := diagOpts(f, TLSStartTLS, 587)
			o.Host = "smtp.nonexistent.test"
			return o
		}, "resolve", []string{"does not exist in DNS"}},
		{"no starttls offered", func() Options {
			o := diagOpts(f, TLSStartTLS, 587)
			o.Dialer = &fixedDialer{addr: f.plainAddr}
			return o
		}, "starttls", []string{"does not offer STARTTLS"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := Diagnose(context.Background(), tc.opts(), "")
			s := lastStep(t, rep)
			if s.OK || s.Name != tc.step || rep.OK {
				t.Fatalf("last step %+v, want failed %s", s, tc.step)
			}
			mustContain(t, s.Explain, tc.explains...)
		})
	}
}

// blackhole is a dialer for a port that drops packets: it never answers.
type blackhole struct{}

func (blackhole) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: ctx.Err()}
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("missing %q in %q", sub, s)
		}
	}
}

func TestPresets(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"fastmail", "mailgun", "brevo", "postmark", "ses", "smtp2go", "gmail"} {
		p, ok := LookupPreset(strings.ToUpper(name), "eu-west-1")
		if !ok || p.Host == "" || p.Port == 0 || p.TLS == "" || p.SPF == "" || !strings.Contains(p.Notes, "documentation") {
			t.Errorf("preset %s = %+v", name, p)
		}
		if _, err := New(Options{Host: p.Host, Port: p.Port, TLS: p.TLS}); err != nil {
			t.Errorf("preset %s does not make valid options: %v", name, err)
		}
	}
	if p, _ := LookupPreset("ses", "eu-west-1"); p.Host != "email-smtp.eu-west-1.amazonaws.com" {
		t.Errorf("ses host %q", p.Host)
	}
	if p, ok := presetForHost("email-smtp.us-east-1.amazonaws.com"); !ok || p.Name != "ses" {
		t.Errorf("presetForHost ses = %v %v", p.Name, ok)
	}
	if _, ok := LookupPreset("nope", ""); ok {
		t.Error("unknown preset found")
	}
}
