package dovecot

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PasswdEntry is one user line of a Dovecot passwd-file:
//
//	user:password:uid:gid:gecos:home:shell:extra_fields
//
// Trailing fields may be missing. extra_fields are space-separated key=value pairs;
// "userdb_" prefixes are dropped, so quota_rule is found under either spelling.
type PasswdEntry struct {
	Line     int
	User     string
	Password string // "{SCHEME}data", or a bare crypt(3) string
	Home     string
	Extra    map[string]string
}

// LineError is a passwd-file line that could not be read.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// maxPasswdLine bounds one line of a passwd-file.
const maxPasswdLine = 64 << 10

// ParsePasswdFile reads a passwd-file. Comment lines (#) and blank lines are skipped; a
// line that cannot be read is reported in bad and the others are still returned.
func ParsePasswdFile(r io.Reader) (entries []PasswdEntry, bad []*LineError, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxPasswdLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		e, err := parsePasswdLine(line)
		if err != nil {
			bad = append(bad, &LineError{Line: n, Err: err})
			continue
		}
		e.Line = n
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return entries, bad, fmt.Errorf("passwd-file: %w", err)
	}
	return entries, bad, nil
}

func parsePasswdLine(line string) (PasswdEntry, error) {
	f := strings.SplitN(line, ":", 8)
	e := PasswdEntry{User: strings.TrimSpace(f[0]), Extra: map[string]string{}}
	if e.User == "" {
		return e, fmt.Errorf("no user name")
	}
	if strings.ContainsAny(e.User, " \t") {
		return e, fmt.Errorf("user name %q contains white space", e.User)
	}
	if len(f) > 1 {
		e.Password = f[1]
	}
	if len(f) > 5 {
		e.Home = f[5]
	}
	if len(f) > 7 {
		for _, kv := range strings.Fields(f[7]) {
			k, v, _ := strings.Cut(kv, "=")
			k = strings.TrimPrefix(k, "userdb_")
			e.Extra[k] = v
		}
	}
	return e, nil
}

// QuotaBytes returns the storage quota of an entry's quota_rule ("*:storage=1G",
// "*:bytes=1073741824"; storage without a unit is in kilobytes, as in Dovecot), 0 when
// there is none or it is unlimited. Rules for one mailbox only or relative (%) ones are
// an error: Postern's quota is per user.
func (e PasswdEntry) QuotaBytes() (int64, error) {
	rule, ok := e.Extra["quota_rule"]
	if !ok {
		return 0, nil
	}
	return ParseQuotaRule(rule)
}

// ParseQuotaRule parses a Dovecot quota_rule value for the whole account.
func ParseQuotaRule(rule string) (int64, error) {
	box, spec, ok := strings.Cut(rule, ":")
	if !ok || box != "*" {
		return 0, fmt.Errorf("quota rule %q is not for all mailboxes (*:...)", rule)
	}
	var total int64
	for _, part := range strings.Fields(spec) {
		k, v, _ := strings.Cut(part, "=")
		var unit int64
		switch k {
		case "storage":
			unit = 1024
		case "bytes":
			unit = 1
		case "messages", "ignore", "backend":
			continue
		default:
			return 0, fmt.Errorf("quota rule %q: unknown limit %q", rule, k)
		}
		n, err := parseQuotaSize(v, unit)
		if err != nil {
			return 0, fmt.Errorf("quota rule %q: %w", rule, err)
		}
		total = n
	}
	return total, nil
}

func parseQuotaSize(v string, unit int64) (int64, error) {
	if v == "" || strings.HasSuffix(v, "%") || strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
		return 0, fmt.Errorf("size %q is not absolute", v)
	}
	mult := unit
	switch v[len(v)-1] {
	case 'b', 'B':
		mult, v = 1, v[:len(v)-1]
	case 'k', 'K':
		mult, v = 1<<10, v[:len(v)-1]
	case 'm', 'M':
		mult, v = 1<<20, v[:len(v)-1]
	case 'g', 'G':
		mult, v = 1<<30, v[:len(v)-1]
	case 't', 'T':
		mult, v = 1<<40, v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q", v)
	}
	return n * mult, nil
}

func passhashScheme(h string) string {
	end := strings.IndexByte(h, '}')
	if !strings.HasPrefix(h, "{") || end < 0 {
		return "CRYPT"
	}
	s, _, _ := strings.Cut(strings.ToUpper(h[1:end]), ".")
	return s
}
