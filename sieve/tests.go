package sieve

import (
	"regexp"
	"strings"
)

// The test table: RFC 5228 section 5 and the test extensions.

type testSpec struct {
	cap   string
	tags  map[string]tagSpec
	build func(*compiler, *parsedArgs) (test, *CompileError)
}

var matchTags = map[string]tagSpec{
	"comparator": {group: "comparator", param: pString},
	"is":         {group: "match"},
	"contains":   {group: "match"},
	"matches":    {group: "match"},
	"regex":      {cap: "regex", group: "match"},
	"count":      {cap: "relational", group: "match", param: pString},
	"value":      {cap: "relational", group: "match", param: pString},
}

var addrPartTags = map[string]tagSpec{
	"all": {group: "addrpart"}, "localpart": {group: "addrpart"}, "domain": {group: "addrpart"},
	"user": {cap: "subaddress", group: "addrpart"}, "detail": {cap: "subaddress", group: "addrpart"},
}

var indexTags = map[string]tagSpec{
	"index": {cap: "index", param: pNumber},
	"last":  {cap: "index"},
}

var testTable map[string]testSpec

func init() {
	testTable = map[string]testSpec{
		"true":                     {build: constTestBuild(true)},
		"false":                    {build: constTestBuild(false)},
		"exists":                   {tags: mimeTags, build: buildExists},
		"size":                     {tags: map[string]tagSpec{"over": {group: "size"}, "under": {group: "size"}}, build: buildSize},
		"header":                   {tags: mergeTags(matchTags, indexTags, mimeTags), build: buildHeader},
		"address":                  {tags: mergeTags(matchTags, addrPartTags, indexTags), build: buildAddress},
		"envelope":                 {cap: "envelope", tags: mergeTags(matchTags, addrPartTags), build: buildEnvelope},
		"body":                     {cap: "body", tags: mergeTags(matchTags, bodyTags), build: buildBody},
		"hasflag":                  {cap: "imap4flags", tags: matchTags, build: buildHasflag},
		"string":                   {cap: "variables", tags: matchTags, build: buildString},
		"mailboxexists":            {cap: "mailbox", build: buildMailboxExists},
		"date":                     {cap: "date", tags: mergeTags(matchTags, indexTags, zoneTags), build: buildDate},
		"currentdate":              {cap: "date", tags: mergeTags(matchTags, map[string]tagSpec{"zone": zoneTags["zone"]}), build: buildCurrentDate},
		"duplicate":                {cap: "duplicate", tags: duplicateTags, build: buildDuplicate},
		"spamtest":                 {cap: "spamtest", tags: scoreTestTags, build: buildScoreTest(false)},
		"virustest":                {cap: "virustest", tags: matchTags, build: buildScoreTest(true)},
		"environment":              {cap: "environment", tags: matchTags, build: buildEnvironment},
		"ihave":                    {cap: "ihave", build: buildIhave},
		"valid_notify_method":      {cap: "enotify", build: buildValidNotify},
		"notify_method_capability": {cap: "enotify", tags: matchTags, build: buildNotifyCap},
		"specialuse_exists":        {cap: "special-use", build: buildSpecialUseExists},
	}
}

type constTest bool

func (c constTest) eval(*runState) (bool, error) { return bool(c), nil }

func (c constTest) build(_ *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(); err != nil {
		return nil, err
	}
	return c, nil
}

func constTestBuild(v bool) func(*compiler, *parsedArgs) (test, *CompileError) {
	return constTest(v).build
}

// matcher builds the comparator/match-type part shared by most tests.
func (c *compiler) matcher(pa *parsedArgs, keys argument) (*matcher, *CompileError) {
	m := &matcher{cmp: cmpCasemap, mt: mtIs}
	if a, ok := pa.tags["comparator"]; ok {
		name := strings.ToLower(a.strs[0].s)
		switch name {
		case "i;octet":
			m.cmp = cmpOctet
		case "i;ascii-casemap":
			m.cmp = cmpCasemap
		case "i;ascii-numeric":
			if !c.has("comparator-i;ascii-numeric") {
				return nil, errAt(a.pos, ClassUnknownComparator, "comparator i;ascii-numeric requires \"comparator-i;ascii-numeric\"")
			}
			m.cmp = cmpNumeric
		default:
			return nil, errAt(a.pos, ClassUnknownComparator, "unknown comparator %q", a.strs[0].s)
		}
	}
	switch pa.groups["match"] {
	case "contains":
		m.mt = mtContains
	case "matches":
		m.mt = mtMatches
	case "regex":
		m.mt = mtRegex
	case "count", "value":
		m.mt = mtValue
		if pa.groups["match"] == "count" {
			m.mt = mtCount
		}
		a := pa.tags[pa.groups["match"]]
		op, ok := relOps[strings.ToLower(a.strs[0].s)]
		if !ok {
			return nil, errAt(a.pos, ClassArgument, "invalid relational operator %q", a.strs[0].s)
		}
		m.rel = op
	}
	if m.cmp == cmpNumeric && (m.mt == mtContains || m.mt == mtMatches || m.mt == mtRegex) {
		return nil, errAt(pa.at, ClassArgument, "comparator i;ascii-numeric does not support :%s", pa.groups["match"])
	}
	if err := checkKind(keys, pStringList, "key list of "+pa.name); err != nil {
		return nil, err
	}
	vs, err := c.strs(keys)
	if err != nil {
		return nil, err
	}
	m.keys = vs
	if m.mt == mtRegex {
		m.regex = make([]*regexp.Regexp, len(vs))
		for i, v := range vs {
			if !v.isConst() {
				continue
			}
			re, rerr := compileRegex(v.lit, m.cmp)
			if rerr != nil {
				return nil, errAt(keys.strs[i].pos, ClassArgument, "invalid regular expression %q: %v", v.lit, rerr)
			}
			m.regex[i] = re
		}
	}
	m.capture = c.has("variables") && (m.mt == mtMatches || m.mt == mtRegex)
	return m, nil
}

// test matches values against the keys: true when any value matches any
// key; :count compares the number of values instead.
func (m *matcher) test(st *runState, vals []string) (bool, error) {
	if m.mt == mtCount {
		n := countString(len(vals))
		for _, k := range st.expandAll(m.keys) {
			if m.rel.holds(m.cmp.order(n, k)) {
				return true, nil
			}
		}
		return false, nil
	}
	if len(vals) == 0 {
		return false, nil
	}
	keys := st.expandAll(m.keys)
	var regs []*regexp.Regexp
	if m.mt == mtRegex {
		regs = make([]*regexp.Regexp, len(keys))
		for i, k := range keys {
			if m.regex[i] != nil {
				regs[i] = m.regex[i]
				continue
			}
			re, err := compileRegex(k, m.cmp)
			if err != nil {
				return false, &RuntimeError{Script: st.frame.unit.name, Msg: "invalid regular expression " + quoteJSON(k)}
			}
			regs[i] = re
		}
	}
	var caps []string
	var capp *[]string
	if m.capture {
		capp = &caps
	}
	for _, v := range vals {
		for i, k := range keys {
			if err := st.step(); err != nil {
				return false, err
			}
			var re *regexp.Regexp
			if regs != nil {
				re = regs[i]
			}
			if m.matchOne(v, k, re, capp) {
				if m.capture {
					st.frame.matchVars = caps
				}
				return true, nil
			}
		}
	}
	return false, nil
}

// exists
type existsTest struct {
	names []value
	mime  mimeSel
}

func buildExists(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList); err != nil {
		return nil, err
	}
	vs, err := c.headerNames(pa.pos[0])
	if err != nil {
		return nil, err
	}
	ms, err := c.mimeSel(pa)
	if err != nil {
		return nil, err
	}
	if ms.opt != "" {
		return nil, errAt(pa.at, ClassUnknownTag, "exists takes only :mime and :anychild")
	}
	return existsTest{vs, ms}, nil
}

func (x existsTest) eval(st *runState) (bool, error) {
	names := st.expandAll(x.names)
	if !x.mime.on {
		for _, n := range names {
			if len(st.msg.HeaderFields(n)) == 0 {
				return false, nil
			}
		}
		return true, nil
	}
	for _, p := range x.mime.targets(st) {
		all := true
		for _, n := range names {
			all = all && len(p.hdr.HeaderFields(n)) > 0
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

// headerNames compiles a list of header field names and checks constant
// ones (RFC 5322 section 3.6.8: printable ASCII except colon).
func (c *compiler) headerNames(a argument) ([]value, *CompileError) {
	vs, err := c.strs(a)
	if err != nil {
		return nil, err
	}
	for i, v := range vs {
		if v.isConst() && !validFieldName(v.lit) {
			return nil, errAt(a.strs[i].pos, ClassArgument, "invalid header field name %q", v.lit)
		}
	}
	return vs, nil
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return true
}

// size
type sizeTest struct {
	over bool
	n    uint64
}

func buildSize(_ *compiler, pa *parsedArgs) (test, *CompileError) {
	if _, ok := pa.groups["size"]; !ok {
		return nil, errAt(pa.at, ClassArgument, "size requires :over or :under")
	}
	if err := pa.positional(pNumber); err != nil {
		return nil, err
	}
	return sizeTest{over: pa.has("over"), n: pa.pos[0].num}, nil
}

func (x sizeTest) eval(st *runState) (bool, error) {
	sz := uint64(st.msg.Size())
	if x.over {
		return sz > x.n, nil
	}
	return sz < x.n, nil
}

// index (RFC 5260 section 6) selects one header field instance.
type indexSel struct {
	n    int // 0: all
	last bool
}

func indexOf(pa *parsedArgs) (indexSel, *CompileError) {
	a, ok := pa.tags["index"]
	if !ok {
		if pa.has("last") {
			return indexSel{}, errAt(pa.tagPos["last"], ClassArgument, ":last requires :index")
		}
		return indexSel{}, nil
	}
	if a.num == 0 {
		return indexSel{}, errAt(a.pos, ClassArgument, ":index must be at least 1")
	}
	n := int(min(a.num, 1<<20))
	return indexSel{n: n, last: pa.has("last")}, nil
}

func (ix indexSel) pick(vals []string) []string {
	if ix.n == 0 {
		return vals
	}
	if ix.n > len(vals) {
		return nil
	}
	if ix.last {
		return vals[len(vals)-ix.n : len(vals)-ix.n+1]
	}
	return vals[ix.n-1 : ix.n]
}

// header
type headerTest struct {
	names []value
	idx   indexSel
	m     *matcher
	mime  mimeSel
}

func buildHeader(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList, pStringList); err != nil {
		return nil, err
	}
	names, err := c.headerNames(pa.pos[0])
	if err != nil {
		return nil, err
	}
	idx, err := indexOf(pa)
	if err != nil {
		return nil, err
	}
	m, err := c.matcher(pa, pa.pos[1])
	if err != nil {
		return nil, err
	}
	ms, err := c.mimeSel(pa)
	if err != nil {
		return nil, err
	}
	return &headerTest{names: names, idx: idx, m: m, mime: ms}, nil
}

// decodedHeader returns the decoded values of a header field, cached.
func (st *runState) decodedHeader(name string) []string {
	ln := strings.ToLower(name)
	if v, ok := st.hdrCache[ln]; ok {
		return v
	}
	raw := st.msg.HeaderFields(name)
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = decodeHeader(r)
	}
	st.hdrCache[ln] = out
	return out
}

func (x *headerTest) eval(st *runState) (bool, error) {
	if x.mime.on && (x.mime.anychild || x.mime.opt != "" || len(st.partStack) > 0) {
		for _, p := range x.mime.targets(st) {
			var vals []string
			for _, n := range st.expandAll(x.names) {
				vals = append(vals, x.idx.pick(x.mime.values(st, p, n))...)
			}
			if ok, err := x.m.test(st, vals); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	var vals []string
	for _, n := range st.expandAll(x.names) {
		vals = append(vals, x.idx.pick(st.decodedHeader(n))...)
	}
	return x.m.test(st, vals)
}

// address
var addressHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "sender": true, "reply-to": true,
	"resent-from": true, "resent-to": true, "resent-cc": true, "resent-bcc": true,
	"resent-sender": true, "resent-reply-to": true, "return-path": true,
	"delivered-to": true, "x-original-to": true, "envelope-to": true, "errors-to": true,
	"apparently-to": true, "mail-followup-to": true, "mail-reply-to": true,
	"disposition-notification-to": true, "return-receipt-to": true, "read-receipt-to": true,
	"x-envelope-to": true, "x-envelope-from": true, "original-recipient": true,
	"for-approval": true, "for-handling": true, "for-comment": true, "x-beenthere": true,
	"x-loop": true, "x-admin": true, "x-confirm-reading-to": true, "abuse-reports-to": true,
	"x-complaints-to": true, "x-report-abuse-to": true,
}

type addrPart int

const (
	partAll addrPart = iota
	partLocal
	partDomain
	partUser
	partDetail
)

func addrPartOf(pa *parsedArgs) addrPart {
	switch pa.groups["addrpart"] {
	case "localpart":
		return partLocal
	case "domain":
		return partDomain
	case "user":
		return partUser
	case "detail":
		return partDetail
	}
	return partAll
}

// extract returns the part of a, and false when the part does not exist
// (no detail without a delimiter; no parts of an unparsable address).
func (p addrPart) extract(a mailAddr, delim string) (string, bool) {
	if a.invalid {
		return a.local, p == partAll
	}
	switch p {
	case partLocal:
		return a.local, true
	case partDomain:
		return a.domain, true
	case partUser:
		u, _, _ := splitDetail(a.local, delim)
		return u, true
	case partDetail:
		_, d, ok := splitDetail(a.local, delim)
		return d, ok
	}
	return a.all(), true
}

type addressTest struct {
	names []value
	part  addrPart
	idx   indexSel
	m     *matcher
}

func buildAddress(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList, pStringList); err != nil {
		return nil, err
	}
	names, err := c.headerNames(pa.pos[0])
	if err != nil {
		return nil, err
	}
	for i, v := range names {
		if v.isConst() && !addressHeaders[strings.ToLower(v.lit)] {
			return nil, errAt(pa.pos[0].strs[i].pos, ClassArgument, "address test: %q is not an address header", v.lit)
		}
	}
	idx, err := indexOf(pa)
	if err != nil {
		return nil, err
	}
	m, err := c.matcher(pa, pa.pos[1])
	if err != nil {
		return nil, err
	}
	return &addressTest{names: names, part: addrPartOf(pa), idx: idx, m: m}, nil
}

func (x *addressTest) eval(st *runState) (bool, error) {
	var vals []string
	for _, n := range st.expandAll(x.names) {
		for _, raw := range x.idx.pick(st.msg.HeaderFields(n)) {
			for _, a := range parseAddressList(raw) {
				if v, ok := x.part.extract(a, st.opts.RecipientDelimiter); ok {
					vals = append(vals, v)
				}
			}
		}
	}
	return x.m.test(st, vals)
}

// envelope (RFC 5228 section 5.4)
type envelopeTest struct {
	parts []value
	part  addrPart
	m     *matcher
}

func buildEnvelope(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList, pStringList); err != nil {
		return nil, err
	}
	parts, err := c.strs(pa.pos[0])
	if err != nil {
		return nil, err
	}
	for i, v := range parts {
		if l := strings.ToLower(v.lit); v.isConst() && l != "from" && l != "to" && l != "auth" {
			return nil, errAt(pa.pos[0].strs[i].pos, ClassArgument, "envelope part %q is not supported (only from, to and auth)", v.lit)
		}
	}
	m, err := c.matcher(pa, pa.pos[1])
	if err != nil {
		return nil, err
	}
	return &envelopeTest{parts: parts, part: addrPartOf(pa), m: m}, nil
}

func (x *envelopeTest) eval(st *runState) (bool, error) {
	var vals []string
	for _, p := range st.expandAll(x.parts) {
		var raw string
		switch strings.ToLower(p) {
		case "from":
			raw = st.env.From
		case "to":
			raw = st.env.To
		default:
			continue
		}
		a, ok := parsePath(raw)
		if !ok {
			continue
		}
		if a.local == "" && a.domain == "" {
			// The null reverse-path: only its (empty) whole value exists.
			if x.part == partAll || x.part == partLocal || x.part == partDomain {
				vals = append(vals, "")
			}
			continue
		}
		if x.part == partDetail && st.env.Detail != "" && strings.EqualFold(p, "to") {
			vals = append(vals, st.env.Detail)
			continue
		}
		if v, ok := x.part.extract(a, st.opts.RecipientDelimiter); ok {
			vals = append(vals, v)
		}
	}
	return x.m.test(st, vals)
}

// mailboxexists (RFC 5490 section 3.1)
type mailboxExistsTest struct{ names []value }

func buildMailboxExists(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pStringList); err != nil {
		return nil, err
	}
	vs, err := c.strs(pa.pos[0])
	if err != nil {
		return nil, err
	}
	return mailboxExistsTest{vs}, nil
}

func (x mailboxExistsTest) eval(st *runState) (bool, error) {
	for _, n := range st.expandAll(x.names) {
		exists := strings.EqualFold(n, "INBOX")
		if st.opts.MailboxExists != nil {
			exists = st.opts.MailboxExists(st.ctx, n)
		}
		if !exists {
			return false, nil
		}
	}
	return true, nil
}
