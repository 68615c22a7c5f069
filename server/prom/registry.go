package prom

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Registry is a small Prometheus registry: counters and histograms with labels, and
// gauges (and counters kept by other packages) read at scrape time. It writes the text exposition format (version 0.0.4)
// itself, so the daemon needs no client library. Families are registered at start and
// never removed; label sets are created on first use. One mutex guards every value: the
// counters move at message and connection rate, far below where that would matter.
type Registry struct {
	mu       sync.Mutex
	families []*Family
}

type metricKind string

const (
	kindCounter   metricKind = "counter"
	kindGauge     metricKind = "gauge"
	kindHistogram metricKind = "histogram"
)

// Family is one metric name with its label names.
type Family struct {
	reg     *Registry
	name    string
	help    string
	kind    metricKind
	labels  []string
	buckets []float64          // histograms only, ascending
	series  map[string]*series // key: label values joined by \xff
	collect func() []GaugeSample
}

// series is one label set's value (counter) or observations (histogram).
type series struct {
	values []string
	value  float64
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

// GaugeSample is one value a gauge's collect function reports.
type GaugeSample struct {
	Values []string // label values, in the order of the family's labels
	Value  float64
}

func (r *Registry) add(f *Family) *Family {
	f.reg = r
	f.series = make(map[string]*series)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.families = append(r.families, f)
	return f
}

// Counter registers a counter Family.
func (r *Registry) Counter(name, help string, labels ...string) *Family {
	return r.add(&Family{name: name, help: help, kind: kindCounter, labels: labels})
}

// Histogram registers a histogram Family with the given upper bounds.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Family {
	return r.add(&Family{name: name, help: help, kind: kindHistogram, labels: labels, buckets: buckets})
}

// Gauge registers a gauge whose values collect returns at each scrape.
func (r *Registry) Gauge(name, help string, collect func() []GaugeSample, labels ...string) *Family {
	return r.add(&Family{name: name, help: help, kind: kindGauge, labels: labels, collect: collect})
}

// CounterFunc registers a counter kept elsewhere, whose values collect returns at each
// scrape (they must only grow).
func (r *Registry) CounterFunc(name, help string, collect func() []GaugeSample, labels ...string) *Family {
	return r.add(&Family{name: name, help: help, kind: kindCounter, labels: labels, collect: collect})
}

// get returns the series for values, creating it. Callers hold r.mu.
func (f *Family) get(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", f.name, len(f.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	s := f.series[key]
	if s == nil {
		s = &series{values: slices.Clone(values)}
		if f.kind == kindHistogram {
			s.counts = make([]uint64, len(f.buckets))
		}
		f.series[key] = s
	}
	return s
}

// Add adds delta to a counter.
func (f *Family) Add(delta float64, values ...string) {
	f.reg.mu.Lock()
	defer f.reg.mu.Unlock()
	f.get(values).value += delta
}

// Inc adds one to a counter.
func (f *Family) Inc(values ...string) { f.Add(1, values...) }

// Observe records one histogram observation.
func (f *Family) Observe(v float64, values ...string) {
	f.reg.mu.Lock()
	defer f.reg.mu.Unlock()
	s := f.get(values)
	s.sum += v
	s.count++
	for i, b := range f.buckets {
		if v <= b {
			s.counts[i]++
			break
		}
	}
}

// Name is the metric's name.
func (f *Family) Name() string { return f.name }

// Value returns a counter's current value (for tests).
func (f *Family) Value(values ...string) float64 {
	f.reg.mu.Lock()
	defer f.reg.mu.Unlock()
	return f.get(values).value
}

// WriteTo writes every Family in the Prometheus text format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	// Gauges are collected before taking the lock: their functions read other parts of
	// the server, which must never wait on the Registry.
	r.mu.Lock()
	fams := slices.Clone(r.families)
	r.mu.Unlock()
	collected := make(map[*Family][]GaugeSample)
	for _, f := range fams {
		if f.collect != nil {
			collected[f] = f.collect()
		}
	}
	var b strings.Builder
	r.mu.Lock()
	for _, f := range fams {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.kind)
		if f.collect != nil {
			for _, g := range collected[f] {
				writeSample(&b, f.name, f.labels, g.Values, "", "", g.Value)
			}
			continue
		}
		keys := make([]string, 0, len(f.series))
		for k := range f.series {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			s := f.series[k]
			if f.kind != kindHistogram {
				writeSample(&b, f.name, f.labels, s.values, "", "", s.value)
				continue
			}
			var cum uint64
			for i, ub := range f.buckets {
				cum += s.counts[i]
				writeSample(&b, f.name+"_bucket", f.labels, s.values, "le", formatFloat(ub), float64(cum))
			}
			writeSample(&b, f.name+"_bucket", f.labels, s.values, "le", "+Inf", float64(s.count))
			writeSample(&b, f.name+"_sum", f.labels, s.values, "", "", s.sum)
			writeSample(&b, f.name+"_count", f.labels, s.values, "", "", float64(s.count))
		}
	}
	r.mu.Unlock()
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func writeSample(b *strings.Builder, name string, labels, values []string, extraName, extraValue string, v float64) {
	b.WriteString(name)
	if len(labels) > 0 || extraName != "" {
		b.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, "%s=\"%s\"", l, escapeLabel(values[i]))
		}
		if extraName != "" {
			if len(labels) > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(b, "%s=\"%s\"", extraName, extraValue)
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

// escapeLabel escapes a label value: backslash, double quote and line feed.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes HELP text: backslash and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
