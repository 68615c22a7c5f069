package senderauth

import (
	"context"
	"fmt"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dmarc"
)

// record is the DMARC record that applies to a From: domain.
type record struct {
	rec *dmarc.Record
	at  string // the domain it was found at
}

// errTemp marks a record lookup that failed temporarily.
type errTemp struct{ err error }

func (e errTemp) Error() string { return e.err.Error() }

// lookupRecord finds the DMARC record for domain (RFC 7489 section 6.6.3):
// _dmarc.DOMAIN, else _dmarc.ORGDOMAIN. nil without error means no record.
func (c *Checker) lookupRecord(ctx context.Context, domain string) (*record, error) {
	for _, at := range candidates(domain) {
		rec, err := c.fetchRecord(ctx, at)
		if err != nil || rec != nil {
			return &record{rec: rec, at: at}, err
		}
	}
	return nil, nil
}

func candidates(domain string) []string {
	org := OrganizationalDomain(domain)
	if org == domain {
		return []string{domain}
	}
	return []string{domain, org}
}

// fetchRecord reads _dmarc.DOMAIN. Several DMARC records, like none, mean no
// policy (RFC 7489 section 6.6.3 step 2). A record that does not parse is an
// error (permerror); a failed lookup is errTemp.
func (c *Checker) fetchRecord(ctx context.Context, domain string) (*dmarc.Record, error) {
	txts, err := c.opts.Resolver.LookupTXT(ctx, "_dmarc."+domain)
	switch classify(err) {
	case lookupNotFound:
		return nil, nil
	case lookupTemporary:
		return nil, errTemp{fmt.Errorf("DMARC record of %s: %w", domain, err)}
	}
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=dmarc1") {
			found = append(found, t)
		}
	}
	if len(found) != 1 {
		return nil, nil
	}
	rec, err := dmarc.Parse(found[0])
	if err != nil {
		return nil, fmt.Errorf("DMARC record of %s: %w", domain, err)
	}
	return rec, nil
}

// checkDMARC evaluates DMARC for the From: domains and sets res.DMARC,
// res.Action and res.Reason.
func (c *Checker) checkDMARC(ctx context.Context, in Input, res *Result) error {
	rc, err := in.Open()
	if err != nil {
		return err
	}
	domains, ferr := FromDomains(rc)
	rc.Close()
	if ferr != nil {
		res.DMARC = DMARCResult{Result: "permerror", Reason: ferr.Error()}
		res.Action, res.Reason = Reject, "cannot check the sender: "+ferr.Error()
		return nil
	}
	if len(domains) > MaxFromDomains {
		why := fmt.Sprintf("From: names %d domains, more than the %d evaluated (RFC 7489 section 6.6.1)", len(domains), MaxFromDomains)
		res.DMARC = DMARCResult{Result: "permerror", Domain: domains[0], Reason: why}
		res.Action, res.Reason = Reject, "cannot check the sender: "+why
		return nil
	}
	// Every From: domain must pass; the first that does not decides.
	var first *DMARCResult
	action := Accept
	reason := ""
	for _, d := range domains {
		dr, a, why := c.evaluate(ctx, d, res)
		if first == nil || a > action {
			first, action, reason = &dr, a, why
		}
	}
	res.DMARC, res.Action, res.Reason = *first, action, reason
	return nil
}

// evaluate applies DMARC for one From: domain.
func (c *Checker) evaluate(ctx context.Context, domain string, res *Result) (DMARCResult, Action, string) {
	dr := DMARCResult{Domain: domain}
	rec, err := c.lookupRecord(ctx, domain)
	if err != nil {
		if _, temp := err.(errTemp); temp {
			dr.Result, dr.Reason = "temperror", err.Error()
			return dr, Defer, "temporary DNS failure looking up the DMARC policy of " + domain
		}
		dr.Result, dr.Reason = "permerror", err.Error()
		return dr, Accept, ""
	}
	if rec == nil {
		dr.Result = "none"
		return dr, Accept, ""
	}
	policy := rec.rec.Policy
	if rec.at != domain && rec.rec.SubdomainPolicy != "" {
		policy = rec.rec.SubdomainPolicy
	}
	dr.Policy = string(policy)

	spfAligned := res.SPF.Result == spf.Pass && aligned(res.SPF.Domain, domain, rec.rec.SPFAlignment == dmarc.AlignmentStrict)
	dkimAligned, dkimTemp := false, false
	for _, s := range res.DKIM {
		if !aligned(s.Domain, domain, rec.rec.DKIMAlignment == dmarc.AlignmentStrict) {
			continue
		}
		dkimAligned = dkimAligned || s.Result == "pass"
		dkimTemp = dkimTemp || s.Result == "temperror"
	}
	if spfAligned || dkimAligned {
		dr.Result, dr.Applied = "pass", "none"
		return dr, Accept, ""
	}
	if res.SPF.Result == spf.TempError || dkimTemp {
		dr.Result, dr.Reason = "temperror", "a DNS lookup failed"
		return dr, Defer, "temporary DNS failure checking SPF or DKIM for " + domain
	}
	dr.Result = "fail"
	dr.Applied = string(sample(policy, rec.rec.Percent, c.opts.Percent))
	dr.Reason = failReason(res, domain)
	why := fmt.Sprintf("DMARC policy of %s is %s (%s)", rec.at, dr.Applied, dr.Reason)
	switch dr.Applied {
	case string(dmarc.PolicyReject):
		return dr, Reject, why
	case string(dmarc.PolicyQuarantine):
		return dr, Quarantine, why
	}
	return dr, Accept, ""
}

// sample applies pct= (RFC 7489 section 6.6.4): a message outside the
// sample gets the next weaker policy.
func sample(p dmarc.Policy, pct *int, draw func() int) dmarc.Policy {
	if pct == nil || *pct >= 100 || draw() < *pct {
		return p
	}
	switch p {
	case dmarc.PolicyReject:
		return dmarc.PolicyQuarantine
	case dmarc.PolicyQuarantine:
		return dmarc.PolicyNone
	}
	return p
}

// failReason says in a few words why neither identifier aligned.
func failReason(res *Result, domain string) string {
	var spfPart string
	switch {
	case res.SPF.Domain == "":
		spfPart = "no SPF identity"
	case res.SPF.Result == spf.Pass:
		spfPart = fmt.Sprintf("SPF pass for %s, not aligned with %s", res.SPF.Domain, domain)
	default:
		spfPart = fmt.Sprintf("SPF %s for %s", res.SPF.Result, res.SPF.Domain)
	}
	dkimPart := "no DKIM signature"
	if len(res.DKIM) > 0 {
		dkimPart = "no valid DKIM signature aligned with " + domain
	}
	return spfPart + ", " + dkimPart
}
