package admin

import (
	"context"
	"encoding/json"
	"fmt"
)

// handler runs one command: it decodes its own arguments and returns the result object.
type handler func(ctx context.Context, b Backend, args json.RawMessage) (any, error)

// empty is the result of commands that only succeed or fail; it encodes as {}.
type empty struct{}

// bind adapts a typed command function to a handler, decoding its arguments strictly.
func bind[A, R any](fn func(context.Context, Backend, A) (R, error)) handler {
	return func(ctx context.Context, b Backend, raw json.RawMessage) (any, error) {
		var args A
		if err := decodeArgs(raw, &args); err != nil {
			return nil, err
		}
		return fn(ctx, b, args)
	}
}

// commandTable merges the per-group tables. A name defined twice is a programmer bug.
func commandTable() map[string]handler {
	table := make(map[string]handler)
	groups := []map[string]handler{
		statusCommands(),
		domainCommands(),
		userCommands(),
		appPasswordCommands(),
		aliasCommands(),
		mailboxCommands(),
		folderCommands(),
		doctorCommands(),
		traceCommands(),
		sieveCommands(),
		queueCommands(),
		relayCommands(),
		backupCommands(),
	}
	for _, g := range groups {
		for name, h := range g {
			if _, dup := table[name]; dup {
				panic(fmt.Sprintf("admin: command %q defined twice", name))
			}
			table[name] = h
		}
	}
	return table
}

// need reports a missing required argument as CodeInvalid.
func need(name, value string) error {
	if value == "" {
		return Errorf(CodeInvalid, "", "%s is required", name)
	}
	return nil
}
