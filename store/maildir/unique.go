package maildir

import (
	"os"

	"github.com/postern/postern/store/durable"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Namer makes the unique part of Maildir file names. Create one per process
// with NewNamer and share it: the counter it holds is what keeps two
// deliveries in the same microsecond apart.
type Namer struct {
	host string
	pid  int
	now  func() time.Time
	seq  atomic.Uint64
	// dirs shares the directory fsyncs of concurrent deliveries (group commit); it
	// lives here because the Namer is already the one object every delivery shares.
	dirs durable.DirSyncer
	// bufs holds *[]byte copy buffers, reused between deliveries.
	bufs sync.Pool
}

// NewNamer returns a Namer for this process. hostname is sanitized with
// SanitizeHostname; now is the clock (nil means time.Now).
func NewNamer(hostname string, now func() time.Time) *Namer {
	if now == nil {
		now = time.Now
	}
	return &Namer{host: SanitizeHostname(hostname), pid: os.Getpid(), now: now}
}

// Next returns a new unique base name, "<secs>.M<micros>P<pid>Q<n>.<host>",
// the form Dovecot uses. The size fields are appended at delivery.
func (n *Namer) Next() string {
	t := n.now()
	q := n.seq.Add(1)
	b := make([]byte, 0, 64)
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(t.Nanosecond()/1000), 10)
	b = append(b, 'P')
	b = strconv.AppendInt(b, int64(n.pid), 10)
	b = append(b, 'Q')
	b = strconv.AppendUint(b, q, 10)
	b = append(b, '.')
	b = append(b, n.host...)
	return string(b)
}

// SanitizeHostname makes a host name safe inside a Maildir file name. As
// the Maildir specification (and Dovecot) does, '/' becomes "\057" and ':'
// becomes "\072"; we also escape ',' as "\054" because ',' starts the size
// fields, and drop control characters. An empty result becomes "localhost".
func SanitizeHostname(h string) string {
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == '/':
			b.WriteString(`\057`)
		case r == ':':
			b.WriteString(`\072`)
		case r == ',':
			b.WriteString(`\054`)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "localhost"
	}
	return b.String()
}
