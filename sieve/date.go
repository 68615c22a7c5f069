package sieve

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// date and currentdate (RFC 5260).

var zoneTags = map[string]tagSpec{
	"zone":         {group: "zone", param: pString},
	"originalzone": {group: "zone"},
}

var dateParts = map[string]bool{
	"year": true, "month": true, "day": true, "date": true, "julian": true, "hour": true,
	"minute": true, "second": true, "time": true, "iso8601": true, "std11": true,
	"zone": true, "weekday": true,
}

type dateTest struct {
	current  bool
	header   value
	part     value
	zone     *time.Location // nil: the server's zone
	original bool
	idx      indexSel
	m        *matcher
}

func parseZone(s string) (*time.Location, bool) {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return nil, false
	}
	for i := 1; i < 5; i++ {
		if !isDigit(s[i]) {
			return nil, false
		}
	}
	h := int(s[1]-'0')*10 + int(s[2]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if m > 59 {
		return nil, false
	}
	off := (h*60 + m) * 60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone(s, off), true
}

func (c *compiler) dateCommon(pa *parsedArgs, x *dateTest, partArg, keys argument) *CompileError {
	if a, ok := pa.tags["zone"]; ok {
		z, ok := parseZone(a.strs[0].s)
		if !ok {
			return errAt(a.pos, ClassArgument, "invalid time zone %q", a.strs[0].s)
		}
		x.zone = z
	}
	x.original = pa.has("originalzone")
	if err := checkKind(partArg, pString, "date part"); err != nil {
		return err
	}
	p, err := c.one(partArg)
	if err != nil {
		return err
	}
	if p.isConst() && !dateParts[strings.ToLower(p.lit)] {
		return errAt(partArg.pos, ClassArgument, "unknown date part %q", p.lit)
	}
	x.part = p
	x.m, err = c.matcher(pa, keys)
	return err
}

func buildDate(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pString, pString, pStringList); err != nil {
		return nil, err
	}
	x := &dateTest{}
	names, err := c.headerNames(pa.pos[0])
	if err != nil {
		return nil, err
	}
	x.header = names[0]
	if x.idx, err = indexOf(pa); err != nil {
		return nil, err
	}
	if err := c.dateCommon(pa, x, pa.pos[1], pa.pos[2]); err != nil {
		return nil, err
	}
	return x, nil
}

func buildCurrentDate(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(pString, pStringList); err != nil {
		return nil, err
	}
	x := &dateTest{current: true}
	if err := c.dateCommon(pa, x, pa.pos[0], pa.pos[1]); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *dateTest) eval(st *runState) (bool, error) {
	part := strings.ToLower(st.expand(x.part))
	if !dateParts[part] {
		return false, nil
	}
	var dates []time.Time
	if x.current {
		dates = []time.Time{st.opts.Now()}
	} else {
		name := st.expand(x.header)
		for _, raw := range x.idx.pick(st.msg.HeaderFields(name)) {
			if strings.EqualFold(name, "received") {
				// The date of a Received field follows its last ";".
				if k := strings.LastIndexByte(raw, ';'); k >= 0 {
					raw = raw[k+1:]
				}
			}
			t, err := mail.ParseDate(strings.TrimSpace(raw))
			if err != nil {
				continue
			}
			dates = append(dates, t)
		}
	}
	vals := make([]string, 0, len(dates))
	for _, t := range dates {
		switch {
		case x.zone != nil:
			t = t.In(x.zone)
		case x.original && !x.current:
		default:
			t = t.In(st.opts.Location)
		}
		vals = append(vals, datePart(t, part))
	}
	return x.m.test(st, vals)
}

func datePart(t time.Time, part string) string {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", t.Year())
	case "month":
		return fmt.Sprintf("%02d", int(t.Month()))
	case "day":
		return fmt.Sprintf("%02d", t.Day())
	case "date":
		return t.Format("2006-01-02")
	case "julian":
		// Modified Julian Day: days since 1858-11-17.
		y, m, d := t.Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		epoch := time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)
		return fmt.Sprintf("%d", int(day.Sub(epoch).Hours()/24))
	case "hour":
		return fmt.Sprintf("%02d", t.Hour())
	case "minute":
		return fmt.Sprintf("%02d", t.Minute())
	case "second":
		return fmt.Sprintf("%02d", t.Second())
	case "time":
		return t.Format("15:04:05")
	case "iso8601":
		return t.Format("2006-01-02T15:04:05-07:00")
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
	case "zone":
		return t.Format("-0700")
	case "weekday":
		return fmt.Sprintf("%d", int(t.Weekday()))
	}
	return ""
}

// duplicate (RFC 7352).

var duplicateTags = map[string]tagSpec{
	"handle":   {param: pString},
	"header":   {group: "id", param: pString},
	"uniqueid": {group: "id", param: pString},
	"seconds":  {param: pNumber},
	"last":     {},
}

type duplicateTest struct {
	handle   value
	header   *value
	uniqueid *value
	period   time.Duration
}

func buildDuplicate(c *compiler, pa *parsedArgs) (test, *CompileError) {
	if err := pa.positional(); err != nil {
		return nil, err
	}
	x := &duplicateTest{period: 7 * 24 * time.Hour}
	if a, ok := pa.tags["handle"]; ok {
		v, err := c.one(a)
		if err != nil {
			return nil, err
		}
		x.handle = v
	}
	if a, ok := pa.tags["header"]; ok {
		v, err := c.one(a)
		if err != nil {
			return nil, err
		}
		x.header = &v
	}
	if a, ok := pa.tags["uniqueid"]; ok {
		v, err := c.one(a)
		if err != nil {
			return nil, err
		}
		x.uniqueid = &v
	}
	if a, ok := pa.tags["seconds"]; ok {
		x.period = time.Duration(min(a.num, 1<<40)) * time.Second
	}
	return x, nil
}

func (x *duplicateTest) eval(st *runState) (bool, error) {
	var id string
	switch {
	case x.uniqueid != nil:
		id = st.expand(*x.uniqueid)
	default:
		name := "message-id"
		if x.header != nil {
			name = st.expand(*x.header)
		}
		vs := st.decodedHeader(name)
		if len(vs) == 0 {
			return false, nil
		}
		id = vs[0]
	}
	if st.opts.Duplicate == nil {
		return false, nil
	}
	seen, err := st.opts.Duplicate.Seen(st.ctx, st.expand(x.handle), id, x.period)
	if err != nil {
		return false, &RuntimeError{Script: st.frame.unit.name, Msg: "duplicate tracking: " + err.Error()}
	}
	return seen, nil
}
