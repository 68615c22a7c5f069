package main

import "testing"

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := map[string]int64{
		"0": 0, "unlimited": 0, "1024": 1024, "2G": 2 << 30, "2g": 2 << 30, "2GB": 2 << 30, "2GiB": 2 << 30,
		"500M": 500 << 20, "1.5G": 3 << 29, "1T": 1 << 40, "10K": 10240,
	}
	for in, want := range tests {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "G", "-1G", "lots", "1e9", "Inf", "NaN", "0x10", "9999999T", "1_000"} {
		if n, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", bad, n)
		}
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{0: "unlimited", 512: "512B", 2 << 30: "2G", 3 << 29: "1.5G", 10240: "10K"}
	for in, want := range tests {
		if got := formatSize(in); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"2G", "1.5GiB", "unlimited", "0", "-1", "1e3", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d, negative", s, n)
		}
		// What formatSize prints must read back to about the same size.
		back, err := parseSize(formatSize(n))
		if err != nil {
			t.Fatalf("formatSize(%d) = %q does not parse: %v", n, formatSize(n), err)
		}
		if diff := back - n; diff > n/10+1 || -diff > n/10+1 {
			t.Fatalf("%q -> %d -> %q -> %d", s, n, formatSize(n), back)
		}
	})
}
