package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Reference returns docs/config.md: the config file reference, one table
// per section (key, type, default, description), generated from the structs
// and their tags so it cannot drift from the code.
func Reference() []byte {
	var b strings.Builder
	b.WriteString(`# Configuration reference

<!-- Generated from server/config by Reference(); do not edit.
     Regenerate: go test ./server/config -run TestReference -update -->

Postern reads one TOML file: ` + "`--config FILE`" + `, else ` + "`$POSTERN_CONFIG`" + `, else
` + "`/etc/postern/postern.toml`" + `. ` + "`postern config default`" + ` prints a complete file with every
key at its default; ` + "`postern config check`" + ` reports every problem in a file with its line.

- Unknown keys are an error, so a typo never silently falls back to a default.
- A relative path is relative to the config file's directory, except socket paths
  (` + "`admin.socket`" + `, ` + "`unix:`" + ` listen addresses), which are relative to ` + "`runtime_dir`" + `.
- A listen address is ` + "`\":port\"`" + `, ` + "`\"host:port\"`" + `, ` + "`\"[ipv6]:port\"`" + ` or ` + "`\"\"`" + ` (off); port 0 binds an
  ephemeral port (` + "`postern status --json`" + ` reports the one bound).
`)
	cfg := Default()
	v := reflect.ValueOf(cfg)
	var top []field
	var tables []field
	for _, f := range fieldsOf(v.Type()) {
		if tableType(f.sf.Type) != nil {
			tables = append(tables, f)
		} else {
			top = append(top, f)
		}
	}
	b.WriteString("\n## Top level\n\n")
	writeTable(&b, top, v)
	for _, f := range tables {
		fmt.Fprintf(&b, "\n## [%s]\n\n%s", f.name, f.sf.Tag.Get("doc"))
		fv := v.Field(f.index)
		if fv.Kind() == reflect.Pointer {
			b.WriteString(" The table is optional; the defaults below apply when it is present.")
			r := DefaultRelay()
			fv = reflect.ValueOf(r)
		}
		b.WriteString("\n\n")
		writeTable(&b, fieldsOf(fv.Type()), fv)
	}
	return []byte(b.String())
}

// writeTable writes the markdown table of fields read from struct value v.
func writeTable(b *strings.Builder, fields []field, v reflect.Value) {
	b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
	for _, f := range fields {
		def := "`" + tomlValue(v.Field(f.index)) + "`"
		if f.sf.Tag.Get("required") == "true" {
			def = "required"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.name, typeName(f.sf), mdCell(def), mdCell(describe(f.sf)))
	}
}

// mdCell escapes the characters that would end a markdown table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
