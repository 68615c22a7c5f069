package doctor

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Severity grades a finding.
type Severity string

const (
	OK      Severity = "ok"      // checked, fine
	Warning Severity = "warning" // works today, will fail or is risky
	Problem Severity = "problem" // mail is being lost, delayed or exposed
)

// Finding is one result of one check.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`       // what was found, a sentence
	Fix      string   `json:"fix,omitempty"` // what to do about it
}

// Key identifies the problem a finding reports, for telling new findings from old ones
// (the alerts of the daily run).
func (f Finding) Key() string { return f.Check + ": " + f.Message }

// Check is one named check.
type Check struct {
	Name string
	Run  func(ctx context.Context) []Finding
}

// Report is the result of a run.
type Report struct {
	Findings []Finding `json:"findings"`
	OK       bool      `json:"ok"` // no warning and no problem
}

// Trouble returns the findings that are warnings or problems.
func (r Report) Trouble() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity != OK {
			out = append(out, f)
		}
	}
	return out
}

// Run runs every check concurrently, each bounded by limit; a check that does not finish
// in time is a problem finding of its own. Findings come in the order of checks.
func Run(ctx context.Context, checks []Check, limit time.Duration) Report {
	results := make([][]Finding, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { results[i] = runOne(ctx, c, limit) })
	}
	wg.Wait()
	r := Report{Findings: slices.Concat(results...), OK: true}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	r.OK = len(r.Trouble()) == 0
	return r
}

func runOne(ctx context.Context, c Check, limit time.Duration) []Finding {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	done := make(chan []Finding, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case fs := <-done:
		for i := range fs {
			fs[i].Check = c.Name
		}
		return fs
	case <-ctx.Done():
		return []Finding{{Check: c.Name, Severity: Problem,
			Message: fmt.Sprintf("The check did not finish within %s.", limit),
			Fix:     "Something it talks to (DNS, the relay, the milter) hangs; run postern doctor again, and the check's own command (postern relay test, postern dns check)."}}
	}
}

// Write prints the report for people: one line per finding, the fix indented below.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, f := range r.Findings {
		mark := map[Severity]string{OK: "ok     ", Warning: "WARNING", Problem: "PROBLEM"}[f.Severity]
		fmt.Fprintf(&b, "%s %-14s %s\n", mark, f.Check, f.Message)
		if f.Fix != "" && f.Severity != OK {
			fmt.Fprintf(&b, "        %-14s fix: %s\n", "", f.Fix)
		}
	}
	if r.OK {
		b.WriteString("everything checked is fine\n")
	} else {
		n := len(r.Trouble())
		fmt.Fprintf(&b, "%d %s need attention\n", n, map[bool]string{true: "finding", false: "findings"}[n == 1])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ok(msg string) []Finding { return []Finding{{Severity: OK, Message: msg}} }
