package server

import (
	"testing"

	"github.com/postern/postern/doctor"
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
