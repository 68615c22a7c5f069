package config

import (
	"bytes"
	"fmt"
	"net/url"
	"reflect"

	toml "github.com/pelletier/go-toml/v2"
)

// Elided replaces a secret in the output of Show.
const Elided = "(elided)"

// Show renders the effective configuration as TOML, every default filled in and every
// path absolute, with secrets elided: what `postconf -n` is to Postfix users. Secrets
// normally live in the files the config names (relay password_file, tls.acme
// dns_credentials), which Show never opens; a key tagged secret:"true" is replaced by
// Elided and the password of any URL's user info by "xxxxx", so that the output can be pasted into a
// bug report.
func Show(cfg *Config) ([]byte, error) {
	// A deep copy through TOML, so that eliding does not touch the caller's Config.
	data, err := toml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("config show: %w", err)
	}
	var c Config
	if err := toml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("config show: %w", err)
	}
	elide(reflect.ValueOf(&c).Elem(), false)
	data, err = toml.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("config show: %w", err)
	}
	var b bytes.Buffer
	if cfg.File != "" {
		fmt.Fprintf(&b, "# The effective configuration of %s: defaults filled in, secrets elided.\n", cfg.File)
	} else {
		b.WriteString("# The effective configuration: defaults filled in, secrets elided.\n")
	}
	b.Write(data)
	return b.Bytes(), nil
}

// elide walks v, replacing secret strings (secret is true inside a field tagged
// secret:"true") and URL passwords.
func elide(v reflect.Value, secret bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			elide(v.Elem(), secret)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if sf := v.Type().Field(i); sf.IsExported() {
				elide(v.Field(i), secret || sf.Tag.Get("secret") == "true")
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			elide(v.Index(i), secret)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			elide(e, secret)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(elideString(v.String(), secret))
		}
	}
}

func elideString(s string, secret bool) string {
	if secret && s != "" {
		return Elided
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	return u.Redacted() // the password as "xxxxx"
}
