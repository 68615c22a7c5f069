package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
)

// maxMXAddrs caps the addresses tried per domain and attempt, as Postfix's
// smtp_mx_address_limit does, so that a long MX list cannot stall a worker.
const maxMXAddrs = 5

// sendDirect delivers without a smart host: one transaction per recipient
// domain, to that domain's MX hosts in preference order.
func (cl *Client) sendDirect(ctx context.Context, env Envelope, body io.ReadSeeker) ([]Result, error) {
	byDomain := make(map[string][]int)
	var order []string
	for i, r := range env.Rcpts {
		d := domainOf(r)
		if _, ok := byDomain[d]; !ok {
			order = append(order, d)
		}
		byDomain[d] = append(byDomain[d], i)
	}
	results := make([]Result, len(env.Rcpts))
	var firstErr error
	for _, d := range order {
		idx := byDomain[d]
		sub := Envelope{From: env.From}
		for _, i := range idx {
			sub.Rcpts = append(sub.Rcpts, env.Rcpts[i])
		}
		res, err := cl.sendDomain(ctx, d, sub, body)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		for j, i := range idx {
			results[i] = res[j]
		}
	}
	return results, firstErr
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
	}
	return ""
}

// sendDomain tries the domain's MX hosts by preference (RFC 5321 section
// 5.1), moving on when a host cannot be reached or refuses the session,
// and stopping at the first one that runs the transaction.
func (cl *Client) sendDomain(ctx context.Context, domain string, env Envelope, body io.ReadSeeker) ([]Result, error) {
	hosts, err := cl.mxHosts(ctx, domain)
	if err != nil {
		return err.results(env.Rcpts), err
	}
	var last *Error
	tried := 0
	for _, h := range hosts {
		addrs, lerr := cl.opts.Resolver.LookupHost(ctx, h)
		if lerr != nil {
			last = &Error{Stage: StageResolve, Host: h, Temporary: true, Err: lerr}
			continue
		}
		for _, a := range addrs {
			if tried == maxMXAddrs {
				break
			}
			tried++
			res, err := cl.sendVia(ctx, h, net.JoinHostPort(a, strconv.Itoa(cl.opts.Port)), policyOpportunistic, env, body)
			var e *Error
			if err == nil {
				return res, nil
			}
			if !errors.As(err, &e) {
				return res, err
			}
			if errors.Is(e, errInternalAddress) {
				last = e // the next address may be a real one
				continue
			}
			if e.Stage == StageMail || e.Stage == StageData || e.Stage == StageRcpt || !e.Temporary {
				return res, err // the host ran the transaction: its answer stands
			}
			last = e
		}
	}
	if last == nil {
		last = &Error{Stage: StageResolve, Host: domain, Temporary: true, Text: "no usable MX host address"}
	}
	return last.results(env.Rcpts), last
}

// mxHosts returns the hosts to try: MX targets by preference, equal
// preferences in random order (RFC 5321 section 5.1); the domain itself when
// it has no MX records (the implicit MX); an error for a null MX (RFC 7505)
// or a domain that does not exist.
func (cl *Client) mxHosts(ctx context.Context, domain string) ([]string, *Error) {
	if domain == "" {
		return nil, &Error{Stage: StageResolve, Code: 553, Enhanced: "5.1.3", Text: "recipient address has no domain"}
	}
	mxs, err := cl.opts.Resolver.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound && len(mxs) == 0) {
		return nil, &Error{Stage: StageResolve, Host: domain, Temporary: true, Err: err}
	}
	if len(mxs) == 0 {
		// No MX: the domain's own A/AAAA records, if it has any.
		if _, herr := cl.opts.Resolver.LookupHost(ctx, domain); herr != nil {
			if errors.As(herr, &dnsErr) && dnsErr.IsNotFound {
				return nil, &Error{Stage: StageResolve, Host: domain, Code: 550, Enhanced: "5.1.2",
					Text: "domain " + domain + " does not exist (no MX or address records)", Err: herr}
			}
			return nil, &Error{Stage: StageResolve, Host: domain, Temporary: true, Err: herr}
		}
		return []string{domain}, nil
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, &Error{Stage: StageResolve, Host: domain, Code: 556, Enhanced: "5.1.10",
			Text: "domain " + domain + " does not accept mail (null MX, RFC 7505)"}
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	shuffleEqual(mxs)
	hosts := make([]string, 0, len(mxs))
	for _, mx := range mxs {
		if h := strings.TrimSuffix(mx.Host, "."); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}
