package integration

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// withListen starts s after adding [listen] entries the harness does not write itself
// (metrics, acme_http, acme_tls).
func withListen(t testing.TB, s *Server, extra map[string]string) {
	t.Helper()
	data, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("[listen]\n")
	for k, v := range extra {
		b.WriteString(k + " = " + strconv.Quote(v) + "\n")
	}
	doc := strings.Replace(string(data), "[listen]\n", b.String(), 1)
	if err := os.WriteFile(s.Config, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Start()
}

// scrape fetches /metrics with curl and returns each sample line's value by its name
// and labels as written ("postern_connections_total{listener=\"smtp\"}").
func scrape(t testing.TB, s *Server) map[string]float64 {
	t.Helper()
	curl := needTool(t, "curl")
	out, err := exec.Command(curl, "-fsS", "http://"+s.Addrs["metrics"]+"/metrics").Output()
	if err != nil {
		t.Fatalf("curl /metrics: %v", err)
	}
	m := make(map[string]float64)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// TestMetrics is issue 7's check: curl on the metrics address shows the counters move
// after a delivery (and after a failed login).
func TestMetrics(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{NoStart: true})
	withListen(t, s, map[string]string{"metrics": "127.0.0.1:0"})
	rxSetup(t, s, "alice")

	before := scrape(t, s)
	for _, k := range []string{`postern_queue_messages`, `postern_connections_total{listener="smtp"}`, `postern_tls_certificate_expiry_timestamp_seconds`,
		`postern_imapsieve_events_dropped_total{reason="queue_full"}`, `postern_imapsieve_events_dropped_total{reason="shutdown"}`} {
		if _, ok := before[k]; !ok {
			t.Errorf("%s missing from /metrics", k)
		}
	}
	if out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "alice@example.test", "--header", "Subject: counted"); code != 0 {
		t.Fatalf("swaks: %d\n%s", code, out)
	}
	if out, code := sxSwaks(t, s.Addrs["submission"], append([]string{"--tls", "--from", "alice@example.test", "--to", "bob@example.org"}, sxAuth("PLAIN", "wrong password")...)...); code == 0 {
		t.Fatalf("swaks with a wrong password succeeded:\n%s", out)
	}
	// A refused recipient and a failed IMAP login: the counters come from typed events,
	// whatever the log lines say.
	if out, code := rxSwaks(t, s, "--from", "sender@example.org", "--to", "nobody@example.test"); code == 0 {
		t.Fatalf("swaks to an unknown user succeeded:\n%s", out)
	}
	imapLogin(t, s.Addrs["imaps"], `alice@example.test "nope"`)
	after := scrape(t, s)
	for _, c := range []struct {
		key  string
		diff float64
	}{
		{`postern_messages_received_total{listener="smtp"}`, 1},
		{`postern_messages_delivered_total`, 1},
		{`postern_delivery_latency_seconds_count{stage="local"}`, 1},
		{`postern_connections_total{listener="smtp"}`, 2}, // the delivery and the refused recipient
		{`postern_auth_failures_total{service="submission"}`, 1},
		{`postern_messages_rejected_total{listener="smtp",stage="rcpt",code="5.1.1"}`, 1},
		{`postern_auth_failures_total{service="imap"}`, 1},
	} {
		if got := after[c.key] - before[c.key]; got != c.diff {
			t.Errorf("%s moved by %v, want %v (before %v, after %v)", c.key, got, c.diff, before[c.key], after[c.key])
		}
	}
	if after[`postern_queue_messages`] != 0 {
		t.Errorf("queue length %v, want 0", after[`postern_queue_messages`])
	}
}
