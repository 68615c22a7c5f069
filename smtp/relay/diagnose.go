package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Step is one step of a Diagnose run.
type Step struct {
	Name    string `json:"name"`   // resolve, connect, tls, banner, ehlo, starttls, auth, send
	OK      bool   `json:"ok"`     //
	Detail  string `json:"detail"` // what happened, technically
	Explain string `json:"explain,omitempty"`
}

// Report is the outcome of Diagnose: the steps run, in order; the run stops
// at the first failure.
type Report struct {
	Steps []Step `json:"steps"`
	OK    bool   `json:"ok"`
}

// Write prints the report for a terminal.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, s := range r.Steps {
		mark := "ok  "
		if !s.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "%s %-8s %s\n", mark, s.Name, s.Detail)
		if s.Explain != "" {
			fmt.Fprintf(&b, "              %s\n", s.Explain)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// diagTimeout bounds each step, so that a port speaking the other TLS mode
// (which just hangs) is reported within seconds.
const diagTimeout = 10 * time.Second

// Diagnose checks a smart-host configuration step by step, as `postern
// relay test` shows it: DNS, TCP connect, TLS and the certificate, the
// banner, EHLO, STARTTLS, AUTH and, if to is not empty, a test message to
// to. Each failure known to confuse people is explained in plain words.
// Diagnose never logs or reports the password.
func Diagnose(ctx context.Context, opts Options, to string) *Report {
	stepTimeout := diagTimeout
	if opts.CommandTimeout > 0 && opts.CommandTimeout < stepTimeout {
		stepTimeout = opts.CommandTimeout
	}
	if opts.DialTimeout <= 0 || opts.DialTimeout > diagTimeout {
		opts.DialTimeout = diagTimeout
	}
	opts.CommandTimeout = stepTimeout
	rep := &Report{}
	add := func(s Step) bool {
		rep.Steps = append(rep.Steps, s)
		return s.OK
	}
	if err := opts.setDefaults(); err != nil {
		add(Step{Name: "config", Detail: err.Error()})
		return rep
	}
	if opts.Host == "" {
		add(Step{Name: "config", Detail: "no relay host configured", Explain: "Set [relay] host, or use a preset (postern relay presets)."})
		return rep
	}
	d := diag{opts: opts, timeout: stepTimeout}
	port := strconv.Itoa(opts.Port)
	addr := net.JoinHostPort(opts.Host, port)

	// resolve
	ips, err := opts.Resolver.LookupHost(ctx, opts.Host)
	if !add(d.step("resolve", err, strings.Join(ips, ", "))) {
		return rep
	}
	// connect
	dctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	nc, err := opts.Dialer.DialContext(dctx, "tcp", addr)
	cancel()
	if !add(d.step("connect", err, "connected to "+addr)) {
		return rep
	}
	defer func() { nc.Close() }()
	cl := &Client{opts: opts, log: opts.Logger}
	cfg := cl.tlsConfig(opts.Host, smartPolicy(opts.TLS))
	if opts.TLS == TLSImplicit {
		tc := tls.Client(nc, cfg)
		nc.SetDeadline(time.Now().Add(stepTimeout))
		err := tc.HandshakeContext(ctx)
		if !add(d.step("tls", err, tlsDetail(tc, opts))) {
			return rep
		}
		nc = tc
	}
	c := newConn(nc, opts.Host, &opts)
	stop := c.watch(ctx)
	defer stop()
	// banner
	r, err := c.read()
	if err == nil && r.Code != 220 {
		err = replyError(StageGreeting, opts.Host, r, true)
	}
	banner := ""
	if r != nil {
		banner = r.String()
	}
	if !add(d.step("banner", err, banner)) {
		return rep
	}
	// ehlo
	if !add(d.step("ehlo", errOrNil(c.hello(opts.HeloName, opts.TLS == TLSStartTLS)), "extensions: "+extList(c.ext))) {
		return rep
	}
	if opts.TLS == TLSStartTLS {
		e := c.startTLS(ctx, cfg)
		detail := "STARTTLS"
		if e == nil {
			if tc, ok := c.nc.(*tls.Conn); ok {
				detail = tlsDetail(tc, opts)
			}
			e = c.hello(opts.HeloName, true)
		}
		if !add(d.step("starttls", errOrNil(e), detail)) {
			return rep
		}
	}
	if opts.Username != "" {
		e := c.auth(opts.Username, opts.Password)
		if !add(d.step("auth", errOrNil(e), "authenticated as "+opts.Username+" ("+authMech(c.ext)+")")) {
			return rep
		}
	}
	if to != "" {
		from := opts.Username
		if !strings.Contains(from, "@") {
			from = "postmaster@" + opts.HeloName
		}
		body := testMessage(from, to, opts.HeloName)
		res, e, _ := c.transaction(Envelope{From: from, Rcpts: []string{to}}, strings.NewReader(body), int64(len(body)))
		var err error
		detail := ""
		if e != nil {
			err = e
		} else if !res[0].Delivered() {
			err = &Error{Stage: StageRcpt, Host: opts.Host, Code: res[0].Code, Enhanced: res[0].Enhanced, Text: res[0].Text}
		} else {
			detail = fmt.Sprintf("test message from %s to %s accepted: %d %s", from, to, res[0].Code, res[0].Text)
		}
		if !add(d.step("send", err, detail)) {
			return rep
		}
	}
	c.quit()
	rep.OK = true
	return rep
}

func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

type diag struct {
	opts    Options
	timeout time.Duration
}

// step builds a Step from an error, with the plain-words explanation.
func (d *diag) step(name string, err error, detail string) Step {
	if err == nil {
		return Step{Name: name, OK: true, Detail: detail}
	}
	return Step{Name: name, Detail: err.Error(), Explain: d.explain(name, err)}
}

func (d *diag) explain(step string, err error) string {
	o := d.opts
	hp := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	var (
		dnsErr   *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		protoErr textproto.ProtocolError
		relayErr *Error
	)
	wrongMode := ""
	switch {
	case o.TLS == TLSStartTLS && o.Port == 465:
		wrongMode = " Port 465 expects TLS from the first byte: set tls = \"implicit\" (or use port 587 with starttls)."
	case o.TLS == TLSImplicit && o.Port == 587:
		wrongMode = " Port 587 expects plain SMTP then STARTTLS: set tls = \"starttls\" (or use port 465 with implicit)."
	}
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("The name %s does not exist in DNS. Check [relay] host for a typo.", o.Host)
	case errors.As(err, &dnsErr):
		return "DNS did not answer. Check the machine's resolver ([dns] servers, /etc/resolv.conf)."
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("%s refused the connection: nothing listens on port %d there. Check the port (587 for starttls, 465 for implicit).", o.Host, o.Port)
	case step == "connect" && isTimeout(err):
		return fmt.Sprintf("No answer from %s within %s: the port is probably blocked, by your ISP, your hosting provider or a firewall. Many block outgoing port 25 and some 465 or 587: try the other submission port (587 starttls or 465 implicit).", hp, o.DialTimeout)
	case errors.As(err, &unknown):
		return "The relay's certificate is signed by an unknown certificate authority. If the relay uses a private CA, name it in [relay] ca_file; otherwise something on the path (an antivirus or a corporate proxy) is intercepting the connection."
	case errors.As(err, &hostErr):
		return fmt.Sprintf("The certificate is not valid for %s (it is for %s). Check [relay] host: use the exact name your provider documents.", o.Host, strings.Join(hostErr.Certificate.DNSNames, ", "))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "The relay's certificate has expired, or this machine's clock is wrong. Check the clock (timedatectl) first."
	case errors.As(err, &record) || (step == "tls" && errors.Is(err, io.EOF)):
		return "The server answered in plain text, not TLS." + orDefault(wrongMode, " This port expects plain SMTP then STARTTLS: set tls = \"starttls\".")
	case (step == "banner" || step == "tls") && isTimeout(err):
		return fmt.Sprintf("The connection hangs: nothing came within %s.", d.timeout) + orDefault(wrongMode, " The port probably expects the other TLS mode: 465 is implicit, 587 is starttls.")
	case errors.As(err, &protoErr):
		return "The server sent something that is not SMTP; a TLS port looks like this." + orDefault(wrongMode, " Try tls = \"implicit\".")
	case errors.Is(err, errNoStartTLS):
		return "The server does not offer STARTTLS on this port." + orDefault(wrongMode, " Check the port; with a relay on this host only, tls = \"none\".")
	case errors.Is(err, errAuthNeedsTLS):
		return "Postern will not send a password without TLS to another host."
	case errors.Is(err, errAuthNotOffers) || errors.Is(err, errNoMechanism):
		return "The server does not offer a password login here. Some providers only offer AUTH after STARTTLS or on another port; check your provider's documentation."
	case step == "auth" && errors.As(err, &relayErr) && relayErr.Code/100 == 5:
		advice := "Check the username and password. Many providers want an app password, an API key or separate SMTP credentials, not your account password."
		if p, ok := presetForHost(o.Host); ok && p.AuthAdvice != "" {
			advice = p.AuthAdvice
		}
		return "The relay refused the username or password. " + advice
	case step == "auth" && errors.As(err, &relayErr) && relayErr.Code/100 == 4:
		return "The relay could not check the password right now (a temporary failure). Try again in a few minutes."
	case step == "banner" && errors.As(err, &relayErr):
		return "The server refused the connection in its greeting; it may be blocking this machine's IP address."
	case step == "send" && errors.As(err, &relayErr) && (relayErr.Enhanced == "5.7.1" || relayErr.Code == 553 || relayErr.Code == 554):
		return "The relay refused the sender. Providers only let you send from addresses or domains you have verified with them."
	}
	return ""
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT) || (errors.As(err, &ne) && ne.Timeout())
}

func tlsDetail(tc *tls.Conn, o Options) string {
	st := tc.ConnectionState()
	d := tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		leaf := st.PeerCertificates[0]
		d += fmt.Sprintf(", certificate for %s issued by %q", strings.Join(leaf.DNSNames, ", "), leaf.Issuer.CommonName)
	}
	if o.InsecureSkipVerify {
		d += ", NOT verified (encrypt without verify)"
	} else {
		d += ", verified"
	}
	return d
}

func extList(ext map[string]string) string {
	var out []string
	for k := range ext {
		out = append(out, k)
	}
	sortStrings(out)
	return strings.Join(out, " ")
}

func authMech(ext map[string]string) string {
	if hasWord(ext["AUTH"], "PLAIN") {
		return "PLAIN"
	}
	return "LOGIN"
}

func testMessage(from, to, helo string) string {
	now := time.Now()
	return "From: " + from + "\r\nTo: " + to + "\r\nSubject: Postern relay test\r\n" +
		"Date: " + now.Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <relay-test." + strconv.FormatInt(now.UnixNano(), 36) + "@" + helo + ">\r\n" +
		"\r\nThis is a test message from postern relay test. The relay works.\r\n"
}
