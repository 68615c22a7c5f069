package prom

import (
	"bytes"
	"testing"
)

func TestRegistryExposition(t *testing.T) {
	t.Parallel()
	r := &Registry{}
	c := r.Counter("x_total", "Things\\counted.\nTwice.", "listener")
	c.Inc("smtp")
	c.Add(2, `we"ird\`)
	h := r.Histogram("lat_seconds", "Latency.", []float64{0.1, 1})
	h.Observe(0.05)
	h.Observe(0.5)
	h.Observe(5)
	r.Gauge("q", "Queue.", func() []GaugeSample { return []GaugeSample{{Value: 3}} })
	r.CounterFunc("kept_total", "Kept elsewhere.", func() []GaugeSample { return []GaugeSample{{Values: []string{"a"}, Value: 7}} }, "k")
	var b bytes.Buffer
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_total Things\\counted.\nTwice.
# TYPE x_total counter
x_total{listener="smtp"} 1
x_total{listener="we\"ird\\"} 2
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.1"} 1
lat_seconds_bucket{le="1"} 2
lat_seconds_bucket{le="+Inf"} 3
lat_seconds_sum 5.55
lat_seconds_count 3
# HELP q Queue.
# TYPE q gauge
q 3
# HELP kept_total Kept elsewhere.
# TYPE kept_total counter
kept_total{k="a"} 7
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
