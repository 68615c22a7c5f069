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
		if isTable(f.sf.Type) {
			tables = append(tables, f)
		} else {
			top = append(top, f)
		}
	}
	b.WriteString("\n## Top level\n\n")
	writeTable(&b, top, v)
	for _, f := range tables {
		writeSection(&b, f.name, f.sf, v.Field(f.index))
	}
	return []byte(b.String())
}

// writeSection writes one table's section and then, as their own sections, the optional
// tables nested in it ([tls.acme]).
func writeSection(b *strings.Builder, name string, sf reflect.StructField, fv reflect.Value) {
	if elem, isMap := collectionOf(sf.Type); elem != nil {
		header, more := "[["+name+"]]", " Each [["+name+"]] table is one more; they are optional."
		if isMap {
			header, more = "["+name+".NAME]", " Each NAME is a table of its own; they are optional."
		}
		fmt.Fprintf(b, "\n## %s\n\n%s%s\n\n", header, sf.Tag.Get("doc"), more)
		writeTable(b, fieldsOf(elem), optionalDefaults(elem))
		return
	}
	fmt.Fprintf(b, "\n## [%s]\n\n%s", name, sf.Tag.Get("doc"))
	if fv.Kind() == reflect.Pointer {
		b.WriteString(" The table is optional; the defaults below apply when it is present.")
		fv = optionalDefaults(sf.Type.Elem())
	}
	b.WriteString("\n\n")
	var plain, nested []field
	for _, sub := range fieldsOf(fv.Type()) {
		if isTable(sub.sf.Type) {
			nested = append(nested, sub)
		} else {
			plain = append(plain, sub)
		}
	}
	writeTable(b, plain, fv)
	for _, sub := range nested {
		writeSection(b, name+"."+sub.name, sub.sf, fv.Field(sub.index))
	}
}

// optionalDefaults returns the values an optional table starts from when it is present.
func optionalDefaults(t reflect.Type) reflect.Value {
	switch t {
	case reflect.TypeFor[Relay]():
		return reflect.ValueOf(DefaultRelay())
	case reflect.TypeFor[ACME]():
		return reflect.ValueOf(DefaultACME())
	}
	return reflect.New(t).Elem()
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
