package config

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
)

// ListenAddr is a parsed listen address, ready for net.Listen.
type ListenAddr struct {
	Network string // "tcp" or "unix"
	Address string // "host:port" for tcp, an absolute or runtime_dir-relative path for unix
}

// String returns the address as it is written in the config file.
func (a ListenAddr) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Address
	}
	return a.Address
}

// Addrs returns every listener that is switched on, keyed by its name in
// [listen] ("smtp", "imaps", "lmtp", ...), so the server can bind them all
// from one loop. Relative unix socket paths are resolved against runtime_dir.
// Addresses that do not parse are left out; Validate reports them.
func (c *Config) Addrs() map[string]ListenAddr {
	out := make(map[string]ListenAddr)
	v := reflect.ValueOf(c.Listen)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		raw := v.Field(i).String()
		if raw == "" {
			continue
		}
		a, err := parseListenAddr(raw, f.Tag.Get("unix") == "true")
		if err != nil {
			continue
		}
		if a.Network == "unix" {
			a.Address = underDir(c.RuntimeDir, a.Address)
		}
		out[tomlName(f)] = a
	}
	return out
}

// parseListenAddr parses one non-empty [listen] value. unixOK says whether
// "unix:PATH" is allowed for this key.
func parseListenAddr(s string, unixOK bool) (ListenAddr, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if !unixOK {
			return ListenAddr{}, fmt.Errorf("a unix socket is not supported here")
		}
		if path == "" || strings.ContainsRune(path, 0) {
			return ListenAddr{}, fmt.Errorf("%q has no socket path after \"unix:\"", s)
		}
		return ListenAddr{Network: "unix", Address: path}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return ListenAddr{}, fmt.Errorf("%q is not host:port", s)
	}
	if _, err := parsePort(port, true); err != nil {
		return ListenAddr{}, fmt.Errorf("%q: %w", s, err)
	}
	if host != "" && !isIPOrHostname(host) {
		return ListenAddr{}, fmt.Errorf("%q: %q is neither an IP address nor a host name", s, host)
	}
	return ListenAddr{Network: "tcp", Address: s}, nil
}

// parsePort parses a decimal port number; zeroOK allows 0 (an ephemeral port).
func parsePort(s string, zeroOK bool) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("port %q is not a number", s)
	}
	if n > 65535 || n < 0 || (n == 0 && !zeroOK) {
		return 0, fmt.Errorf("port %d is out of range", n)
	}
	return n, nil
}

// isIPOrHostname reports whether s is an IP literal (IPv6 with an optional
// zone) or a syntactically valid host name such as "localhost".
func isIPOrHostname(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	return hostnameProblem(s, false) == ""
}

// hostnameProblem returns "" when s is a valid DNS host name (RFC 1123
// section 2.1: letters, digits and hyphens, labels of 1 to 63 octets not
// starting or ending with a hyphen, 253 octets in all), or says what is
// wrong. needDot requires a fully qualified name: at least two labels, the
// last one not all digits (so that an IPv4 address is not taken for a name).
func hostnameProblem(s string, needDot bool) string {
	if s == "" {
		return "it is empty"
	}
	if len(s) > 253 {
		return "it is longer than 253 characters"
	}
	if strings.HasSuffix(s, ".") {
		return "write it without the trailing dot"
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if p := labelProblem(l); p != "" {
			return p
		}
	}
	if needDot {
		if len(labels) < 2 {
			return "it is not fully qualified (it needs a dot, like \"mail.example.com\")"
		}
		if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
			return "it is an IP address, not a name"
		}
	}
	return ""
}

func labelProblem(l string) string {
	if l == "" {
		return "it has an empty label (two dots in a row, or a leading dot)"
	}
	if len(l) > 63 {
		return fmt.Sprintf("label %q is longer than 63 characters", l)
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Sprintf("label %q starts or ends with a hyphen", l)
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Sprintf("%q is not allowed in a host name (letters, digits, hyphens and dots only)", r)
		}
	}
	return ""
}
