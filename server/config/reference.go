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
	for _, sec := range sections() {
		if sec.header == "" {
			b.WriteString("\n## Top level\n\n")
		} else {
			fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", sec.header, sec.doc)
		}
		writeTable(&b, sec.fields, sec.v)
	}
	return []byte(b.String())
}

// section is one table of the file as the references document it: its header ("" for
// the top level), its description, its plain keys and the value their defaults are
// read from.
type section struct {
	header, doc string
	fields      []field
	v           reflect.Value
}

// sections lists the top level and every table, nested tables after their parent, in
// declaration order. docs/config.md and postern.toml(5) are both rendered from it.
func sections() []section {
	v := reflect.ValueOf(Default())
	var top, tables []field
	for _, f := range fieldsOf(v.Type()) {
		if isTable(f.sf.Type) {
			tables = append(tables, f)
		} else {
			top = append(top, f)
		}
	}
	out := []section{{fields: top, v: v}}
	for _, f := range tables {
		out = appendSection(out, f.name, f.sf, v.Field(f.index))
	}
	return out
}

// appendSection appends one table's section and then, as their own sections, the
// optional tables nested in it ([tls.acme]).
func appendSection(out []section, name string, sf reflect.StructField, fv reflect.Value) []section {
	if elem, isMap := collectionOf(sf.Type); elem != nil {
		header, more := "[["+name+"]]", " Each [["+name+"]] table is one more; they are optional."
		if isMap {
			header, more = "["+name+".NAME]", " Each NAME is a table of its own; they are optional."
		}
		return append(out, section{header: header, doc: sf.Tag.Get("doc") + more,
			fields: fieldsOf(elem), v: optionalDefaults(elem)})
	}
	doc := sf.Tag.Get("doc")
	if fv.Kind() == reflect.Pointer {
		doc += " The table is optional; the defaults below apply when it is present."
		fv = optionalDefaults(sf.Type.Elem())
	}
	var plain, nested []field
	for _, sub := range fieldsOf(fv.Type()) {
		if isTable(sub.sf.Type) {
			nested = append(nested, sub)
		} else {
			plain = append(plain, sub)
		}
	}
	out = append(out, section{header: "[" + name + "]", doc: doc, fields: plain, v: fv})
	for _, sub := range nested {
		out = appendSection(out, name+"."+sub.name, sub.sf, fv.Field(sub.index))
	}
	return out
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
		if isRequired(f) {
			def = "required"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.name, typeName(f.sf), mdCell(def), mdCell(describe(f.sf)))
	}
}

func isRequired(f field) bool { return f.sf.Tag.Get("required") == "true" }

// mdCell escapes the characters that would end a markdown table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
