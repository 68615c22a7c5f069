package smtp

import (
	"context"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

type nopDeliverer struct{}

func (nopDeliverer) Deliver(_ context.Context, env *Envelope, _ Message) []error {
	return make([]error, len(env.Recipients))
}

// BenchmarkSession4KiB sends 4 KiB messages through one session to a Deliverer
// that does nothing: the cost of the protocol, the checks and the spool.
func BenchmarkSession4KiB(b *testing.B) {
	e := start(b, func(o *Options) { o.Deliverer = nopDeliverer{} })
	line := strings.Repeat("x", 76) + "\r\n"
	body := msg(strings.Repeat(line, 4096/len(line)))
	c, err := gosmtp.Dial(e.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mail.example.org"); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.SendMail("bob@example.org", []string{"alice@example.test"}, strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}
