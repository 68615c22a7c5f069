package admin

import (
	"context"

	"github.com/postern/postern/doctor"
)

const cmdDoctor = "doctor"

// DoctorBackend runs postern doctor inside the daemon, which alone can read the relay
// password and reach its own listeners as a stranger would.
type DoctorBackend interface {
	Doctor(ctx context.Context) (doctor.Report, error)
}

func doctorCommands() map[string]handler {
	return map[string]handler{
		cmdDoctor: bind(func(ctx context.Context, b Backend, _ struct{}) (doctor.Report, error) {
			r, err := b.Doctor(ctx)
			if r.Findings == nil {
				r.Findings = []doctor.Finding{}
			}
			return r, err
		}),
	}
}

// Doctor runs every check of postern doctor in the daemon.
func (c *Client) Doctor(ctx context.Context) (doctor.Report, error) {
	var r doctor.Report
	err := c.call(ctx, cmdDoctor, nil, &r)
	return r, err
}
