package server

import (
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/doctor"
	"github.com/postern/postern/server/certs"
	"github.com/postern/postern/smtp/queue"
)

func TestRelayAuthProblems(t *testing.T) {
	t.Parallel()
	items := []queue.Info{{ID: "A", Rcpts: []queue.RcptInfo{{Addr: "x@example.net", Code: 451, LastError: "try later"}}},
		{ID: "B", Rcpts: []queue.RcptInfo{{Addr: "y@example.net", Code: 535, Enhanced: "5.7.8", LastError: "Authentication credentials invalid"}}}}
	ps := relayAuthProblems(items)
	if len(ps) != 1 || ps[0].Key != "relay-auth" {
		t.Fatalf("problems %+v", ps)
	}
	if got := relayAuthProblems(items[:1]); len(got) != 0 {
		t.Errorf("a 451 was taken for refused credentials: %+v", got)
	}
}

func TestDoctorProblemsLeaveOwnSources(t *testing.T) {
	t.Parallel()
	r := doctor.Report{Findings: []doctor.Finding{
		{Check: "dns", Severity: doctor.Problem, Message: "no DMARC", Fix: "publish"},
		{Check: "disk", Severity: doctor.Problem, Message: "full"},
		{Check: "milter", Severity: doctor.OK, Message: "fine"},
	}}
	ps := doctorProblems(r)
	if len(ps) != 1 || ps[0].Key != "dns: no DMARC" {
		t.Errorf("problems %+v", ps)
	}
}

func TestRenewalProblems(t *testing.T) {
	t.Parallel()
	ps := renewalProblems([]certs.Failure{{Name: "mail.example.test", At: time.Now(), Err: "acme: connection refused", Remaining: 10 * 24 * time.Hour},
		{Name: "/etc/ssl/mail.crt", Err: "tls: private key does not match public key", Remaining: -time.Hour}})
	if len(ps) != 2 || ps[0].Key != "renewal:mail.example.test" || !strings.Contains(ps[0].Detail, "for 10 more days") ||
		!strings.Contains(ps[0].Detail, "connection refused") || !strings.Contains(ps[1].Detail, "expired") {
		t.Fatalf("problems %+v", ps)
	}
	if got := renewalProblems(nil); len(got) != 0 {
		t.Errorf("no failure, problems %+v", got)
	}
}
