package senderauth

import (
	"context"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// checkDKIM verifies every DKIM-Signature of the message (up to
// MaxSignatures), each key looked up through our resolver.
func (c *Checker) checkDKIM(ctx context.Context, in Input) ([]DKIMResult, error) {
	rc, err := in.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	verifs, err := dkim.VerifyWithOptions(rc, &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return c.opts.Resolver.LookupTXT(ctx, name)
		},
		MaxVerifications: c.opts.MaxSignatures,
	})
	if err != nil && err != dkim.ErrTooManySignatures {
		// The header could not be read at all: there is no signature to speak of.
		return nil, nil
	}
	out := make([]DKIMResult, 0, len(verifs))
	for _, v := range verifs {
		out = append(out, dkimResult(v))
	}
	return out, nil
}

// dkimResult maps a verification to the RFC 8601 section 2.7.1 result.
func dkimResult(v *dkim.Verification) DKIMResult {
	r := DKIMResult{Domain: strings.ToLower(v.Domain), Identifier: v.Identifier}
	switch {
	case v.Err == nil:
		r.Result = "pass"
	case dkim.IsTempFail(v.Err):
		r.Result = "temperror"
	case dkim.IsPermFail(v.Err):
		r.Result = "permerror"
	default:
		r.Result = "fail"
	}
	if v.Err != nil {
		r.Reason = strings.TrimPrefix(v.Err.Error(), "dkim: ")
	}
	return r
}
