package senderauth

import (
	"bufio"
	"context"
	"io"
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
	if over, err := headerOver(rc, MaxDKIMHeader); err != nil || over {
		// go-msgauth holds the whole header in memory to verify it: a header past
		// the bound is not verified at all (its signatures count as broken).
		return []DKIMResult{{Result: "permerror", Reason: "header block over 1 MiB, not verified"}}, nil
	}
	rc.Close()
	if rc, err = in.Open(); err != nil {
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

// MaxDKIMHeader bounds the header block DKIM verification reads (ours: 1 MiB; Postfix's
// header_size_limit is 100 KiB). The verifier keeps every field in memory, so without
// it a stranger's 50 MiB header would cost that much per message.
const MaxDKIMHeader = 1 << 20

// headerOver reports whether r's header block (up to its blank line) is longer than
// max, reading at most max bytes of it.
func headerOver(r io.Reader, max int64) (bool, error) {
	br := bufio.NewReader(io.LimitReader(r, max+1))
	var n int64
	lineStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		n += int64(len(chunk))
		if lineStart && (string(chunk) == "\r\n" || string(chunk) == "\n") {
			return false, nil
		}
		if n > max {
			return true, nil
		}
		switch {
		case err == nil:
			lineStart = true
		case err == bufio.ErrBufferFull:
			lineStart = false
		case err == io.EOF:
			return false, nil
		default:
			return false, err
		}
	}
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
