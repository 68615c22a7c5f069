// Package config is Postern's configuration schema: the Go structs that
// mirror the one TOML file, their defaults, the rules a valid file follows,
// and the documents generated from them. It is the only code in Postern that
// knows TOML.
//
// # Source of truth
//
// The structs in config.go are the schema. Each field carries a `toml` tag
// (its key), a `doc` tag (one sentence for humans) and optional tags that
// the generators and the validator read by reflection:
//
//	path:"config"    a file or directory; relative means relative to the
//	                 config file's directory
//	path:"runtime"   a unix socket; relative means relative to runtime_dir
//	enum:"a|b|c"     the only values allowed
//	required:"true"  no default; the file must set it
//	type:"..."       the type shown in the reference when "string" says too little
//	example:"..."    the value shown in the default config for optional tables
//
// Besides tables (a struct, or a pointer to one for an optional table), a
// field may hold a collection of tables: a map of named tables
// (map[string]*T, written [relays.NAME]) or an array of tables ([]T, written
// [[route]]). Their keys are checked, decoded, resolved and validated like any
// other; in lines and errors an element of an array of tables is numbered from
// 1 ("route.2.via", shown as "route[2].via").
//
// DefaultTOML (the commented default file behind `postern config default`)
// and Reference (docs/config.md) are generated from those tags, and a test
// fails when the committed docs/config.md drifts from Reference.
//
// # Loading
//
// Parse reads a document in five steps, so that one run reports every
// problem instead of the first one:
//
//  1. go-toml decodes the document into a generic map; a syntax error or a
//     key defined twice stops here, reported with line and column.
//  2. go-toml's unstable parser walks the same document to learn the line of
//     every key and table.
//  3. Every key is checked against the schema: unknown keys (with a
//     "did you mean" suggestion) and values of the wrong type are reported
//     and pruned from the map.
//  4. The pruned map is decoded with go-toml's strict decoder
//     (DisallowUnknownFields) over Default(), so absent keys keep defaults.
//  5. Relative paths are resolved and Validate checks the values, skipping
//     keys already reported in step 3.
//
// Every problem is an *Error naming the file, the line and the key; Parse
// returns them joined with errors.Join, one per line, sorted by line.
//
// # State
//
// The package has no mutable package-level state and does no I/O except
// Load reading the one file. It never touches the files the config names:
// whether a certificate or password file exists and has safe permissions is
// checked by the server when it opens them.
package config
