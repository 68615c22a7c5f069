package config

import (
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// visit calls fn for every leaf key of the struct v points into (tables are
// descended into; a nil optional table is skipped), with its dotted key. The
// tables of a collection are visited too, as "relays.NAME.key" (names in
// sorted order) and "route.N.key" (N from 1), the keys scanDocument uses.
func visit(v reflect.Value, prefix string, fn func(key string, sf reflect.StructField, fv reflect.Value)) {
	for _, f := range fieldsOf(v.Type()) {
		fv := v.Field(f.index)
		key := prefix + f.name
		if elem, isMap := collectionOf(f.sf.Type); elem != nil {
			if isMap {
				names := make([]string, 0, fv.Len())
				for _, k := range fv.MapKeys() {
					names = append(names, k.String())
				}
				sort.Strings(names)
				for _, n := range names {
					ev := fv.MapIndex(reflect.ValueOf(n))
					if ev.Kind() != reflect.Pointer || ev.IsNil() {
						continue // only maps of pointers can be changed in place
					}
					visit(ev.Elem(), key+"."+n+".", fn)
				}
				continue
			}
			for i := range fv.Len() {
				ev := fv.Index(i)
				if ev.Kind() == reflect.Pointer {
					if ev.IsNil() {
						continue
					}
					ev = ev.Elem()
				}
				visit(ev, key+"."+strconv.Itoa(i+1)+".", fn)
			}
			continue
		}
		if tableType(f.sf.Type) != nil {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			visit(fv, key+".", fn)
			continue
		}
		fn(key, f.sf, fv)
	}
}

// resolvePaths makes every path absolute: `path:"config"` fields against
// base (the config file's directory), then sockets against runtime_dir. Empty
// paths stay empty: they mean "not set".
func (c *Config) resolvePaths(base string) {
	v := reflect.ValueOf(c).Elem()
	visit(v, "", func(_ string, sf reflect.StructField, fv reflect.Value) {
		if sf.Tag.Get("path") == "config" && fv.String() != "" {
			fv.SetString(filepath.Clean(underDir(base, fv.String())))
		}
	})
	visit(v, "", func(_ string, sf reflect.StructField, fv reflect.Value) {
		switch {
		case sf.Tag.Get("path") == "runtime" && fv.String() != "":
			fv.SetString(filepath.Clean(underDir(c.RuntimeDir, fv.String())))
		case sf.Tag.Get("unix") == "true":
			if p, ok := strings.CutPrefix(fv.String(), "unix:"); ok && p != "" {
				fv.SetString("unix:" + filepath.Clean(underDir(c.RuntimeDir, p)))
			}
		}
	})
}

// NamedFile is a file or directory a setting names, as an absolute path.
type NamedFile struct{ Key, Path string }

// NamedFiles lists the files and directories the config names (every path setting that
// is set: certificates and keys, password and credential files, CA bundles, global
// Sieve scripts), other than state_dir and runtime_dir themselves, in key order. A
// backup takes them along with the state directory.
func (c *Config) NamedFiles() []NamedFile {
	var out []NamedFile
	visit(reflect.ValueOf(c).Elem(), "", func(key string, sf reflect.StructField, fv reflect.Value) {
		if sf.Tag.Get("path") != "config" || fv.String() == "" || key == "state_dir" || key == "runtime_dir" {
			return
		}
		out = append(out, NamedFile{Key: key, Path: fv.String()})
	})
	return out
}
