package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// command is one node of the command table. A node with subs is a group (postern user);
// a node with run is a leaf (postern user add). Help, dispatch and docs/cli.md all come
// from these values, so they cannot drift apart.
type command struct {
	name    string
	args    string // synopsis of the positional arguments, e.g. "ADDRESS [DOMAIN]"
	summary string // one line, lower-case, no final period
	help    string // optional longer description, plain text paragraphs
	flags   []flagSpec
	minArgs int
	maxArgs int // < 0: no limit
	run     func(ctx context.Context, c *cli, inv *invocation) error
	subs    []*command
}

// flagSpec is one --flag of a leaf. value names the flag's argument; "" makes it boolean.
type flagSpec struct {
	name, value, usage string
}

// The global --config flag, accepted before or after the subcommand.
const (
	configFlagName    = "config"
	configFlagValue   = "FILE"
	configFlagUsage   = "the config file (default: $POSTERN_CONFIG, else " + defaultConfigPath + ")"
	defaultConfigPath = "/etc/postern/postern.toml"
)

func (cmd *command) sub(name string) *command {
	for _, s := range cmd.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (cmd *command) flag(name string) (flagSpec, bool) {
	for _, f := range cmd.flags {
		if f.name == name {
			return f, true
		}
	}
	return flagSpec{}, false
}

// invocation is a parsed command line for one leaf.
type invocation struct {
	cmd   *command
	path  []string // "user", "add"
	args  []string
	flags map[string]string // boolean flags hold "true"
}

func (in *invocation) str(name string) string { return in.flags[name] }
func (in *invocation) bool(name string) bool  { return in.flags[name] == "true" }

// usage reports a command line this command cannot run (exit code 2).
func (in *invocation) usage(format string, args ...any) error {
	return &usageError{cmd: in.cmd, path: in.path, msg: fmt.Sprintf(format, args...)}
}

// cli is one run of the program.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	root           *command
	configPath     string // from --config, $POSTERN_CONFIG or the default
}

// main dispatches args (without argv[0]) and returns the exit code.
func (c *cli) main(args []string) int {
	args, config, err := extractConfigFlag(args)
	if err != nil {
		return c.report(err)
	}
	c.configPath = c.resolveConfigPath(config)

	cmd, path, rest, err := c.resolve(args)
	if err != nil {
		return c.report(err)
	}
	if wantsHelp(rest) {
		c.printHelp(c.stdout, cmd, path)
		return exitOK
	}
	if cmd.run == nil {
		return c.report(&usageError{cmd: cmd, path: path, msg: missingSubcommand(cmd, path, rest)})
	}
	inv, err := parseFlags(cmd, path, rest)
	if err != nil {
		return c.report(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.report(cmd.run(ctx, c, inv))
}

func missingSubcommand(cmd *command, path, rest []string) string {
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		return fmt.Sprintf("unknown command %q", strings.Join(append(path, rest[0]), " "))
	}
	if len(path) == 0 {
		return "missing command"
	}
	return fmt.Sprintf("%q needs a subcommand", "postern "+strings.Join(path, " "))
}

// extractConfigFlag removes --config FILE / --config=FILE from anywhere before "--".
func extractConfigFlag(args []string) (rest []string, config string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != configFlagName {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, "", &usageError{msg: "--config needs a FILE"}
			}
			i++
			value = args[i]
		}
		config = value
	}
	return rest, config, nil
}

func (c *cli) resolveConfigPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := c.getenv("POSTERN_CONFIG"); env != "" {
		return env
	}
	return defaultConfigPath
}

// resolve walks the table along the leading words of args.
func (c *cli) resolve(args []string) (cmd *command, path, rest []string, err error) {
	cmd = c.root
	for len(args) > 0 && len(cmd.subs) > 0 && !strings.HasPrefix(args[0], "-") {
		next := cmd.sub(args[0])
		if next == nil {
			return nil, nil, nil, &usageError{cmd: cmd, path: path,
				msg: fmt.Sprintf("unknown command %q", strings.Join(append(path, args[0]), " "))}
		}
		cmd, path, args = next, append(path, args[0]), args[1:]
	}
	return cmd, path, args, nil
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "-h" || a == "--help" || a == "-help" {
			return true
		}
	}
	return false
}

// parseFlags separates a leaf's flags from its positional arguments. Flags may come
// before, between or after the arguments; "--" ends them.
func parseFlags(cmd *command, path, args []string) (*invocation, error) {
	inv := &invocation{cmd: cmd, path: path, flags: make(map[string]string)}
	usage := func(format string, a ...any) error {
		return &usageError{cmd: cmd, path: path, msg: fmt.Sprintf(format, a...)}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			inv.args = append(inv.args, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			inv.args = append(inv.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		spec, ok := cmd.flag(name)
		switch {
		case !ok:
			return nil, usage("unknown flag %s", a)
		case spec.value == "" && hasValue:
			return nil, usage("--%s takes no value", name)
		case spec.value == "":
			value = "true"
		case !hasValue:
			if i+1 >= len(args) {
				return nil, usage("--%s needs a %s", name, spec.value)
			}
			i++
			value = args[i]
		}
		inv.flags[name] = value
	}
	switch {
	case len(inv.args) < cmd.minArgs:
		return nil, usage("missing arguments")
	case cmd.maxArgs >= 0 && len(inv.args) > cmd.maxArgs:
		return nil, usage("too many arguments")
	}
	return inv, nil
}

// usageLine is "postern user add ADDRESS [--password-stdin] [--quota SIZE]".
func usageLine(cmd *command, path []string) string {
	parts := append([]string{"postern"}, path...)
	switch {
	case len(cmd.subs) > 0:
		parts = append(parts, "COMMAND")
	case cmd.args != "":
		parts = append(parts, cmd.args)
	}
	for _, f := range cmd.flags {
		if f.value == "" {
			parts = append(parts, "[--"+f.name+"]")
		} else {
			parts = append(parts, "[--"+f.name+" "+f.value+"]")
		}
	}
	return strings.Join(parts, " ")
}

// walk calls fn for cmd and every command below it, depth first, in table order.
func walk(cmd *command, path []string, fn func(cmd *command, path []string)) {
	fn(cmd, path)
	for _, s := range cmd.subs {
		walk(s, append(append([]string(nil), path...), s.name), fn)
	}
}
