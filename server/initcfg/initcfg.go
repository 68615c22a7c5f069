// Package initcfg writes a first configuration for `postern init`: a small config file
// naming the host, the state directory and the smart host taken from a provider preset,
// and the relay password file beside it (mode 0600). Both are written with the durable
// helper; an existing config is never overwritten. The result is parsed and validated
// before anything is written, so a bad flag leaves no half-made files.
package initcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/postern/postern/server/config"
	"github.com/postern/postern/smtp/relay"
	"github.com/postern/postern/store/durable"
)

// Options are what `postern init` was given.
type Options struct {
	ConfigPath    string // the file to write
	Domain        string
	Hostname      string
	StateDir      string // "" = the default
	Relay         string // preset name; "" = direct delivery
	RelayUser     string
	RelayPassword string
}

// Result says what was written.
type Result struct {
	Config       *config.Config
	PasswordFile string // "" without a relay
}

// Write validates and writes the config (and the password file).
func Write(o Options) (Result, error) {
	if _, err := os.Stat(o.ConfigPath); err == nil {
		return Result{}, fmt.Errorf("%s already exists; remove it or pass another --config", o.ConfigPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Result{}, err
	}
	if o.Domain == "" || o.Hostname == "" {
		return Result{}, errors.New("--domain and --hostname are required")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by postern init for %s. See `postern config default` for every key.\n", o.Domain)
	fmt.Fprintf(&b, "hostname = %s\n", strconv.Quote(o.Hostname))
	if o.StateDir != "" {
		fmt.Fprintf(&b, "state_dir = %s\n", strconv.Quote(o.StateDir))
	}
	pwFile := ""
	if o.Relay != "" {
		p, ok := relay.LookupPreset(o.Relay, "")
		if !ok {
			var names []string
			for _, p := range relay.Presets() {
				names = append(names, p.Name)
			}
			return Result{}, fmt.Errorf("unknown relay %q (known: %s)", o.Relay, strings.Join(names, ", "))
		}
		if strings.Contains(p.Host, "REGION") {
			return Result{}, fmt.Errorf("relay %q needs a region; write [relay] by hand", p.Name)
		}
		if o.RelayUser == "" || o.RelayPassword == "" {
			return Result{}, fmt.Errorf("relay %q needs --relay-user and the password on stdin (--password-stdin)", p.Name)
		}
		pwFile = filepath.Join(filepath.Dir(o.ConfigPath), "relay.password")
		tlsMode := "starttls"
		if p.TLS == relay.TLSImplicit {
			tlsMode = "implicit"
		}
		fmt.Fprintf(&b, "\n# %s. %s\n[relay]\nhost = %s\nport = %d\ntls = %q\nusername = %s\npassword_file = %s\n",
			p.Name, p.Notes, strconv.Quote(p.Host), p.Port, tlsMode, strconv.Quote(o.RelayUser), strconv.Quote(filepath.Base(pwFile)))
	}
	b.WriteString("\n# Old mail in Junk and Trash is removed after 30 days (\"\" keeps it).\n[mailbox]\nautoexpunge_junk = \"30d\"\nautoexpunge_trash = \"30d\"\n")
	cfg, err := config.Parse([]byte(b.String()), o.ConfigPath)
	if err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(filepath.Dir(o.ConfigPath), 0o755); err != nil {
		return Result{}, err
	}
	if pwFile != "" {
		if err := durable.WriteFile(pwFile, []byte(o.RelayPassword+"\n"), 0o600); err != nil {
			return Result{}, err
		}
	}
	if err := durable.WriteFile(o.ConfigPath, []byte(b.String()), 0o644); err != nil {
		return Result{}, err
	}
	return Result{Config: cfg, PasswordFile: pwFile}, nil
}
