package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

type sizeSuffix struct {
	suffix string
	shift  uint
}

// sizeSuffixes are binary multiples, as mail quotas are usually meant ("2G" = 2 GiB),
// largest first.
func sizeSuffixes() []sizeSuffix {
	return []sizeSuffix{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}}
}

// parseSize reads a size such as "2G", "500M", "1.5GiB", "1048576" or "unlimited"/"0"
// (both 0, meaning no limit). K, M, G and T are powers of 1024; an optional "B", "iB"
// follows them.
func parseSize(s string) (int64, error) {
	in := strings.TrimSpace(s)
	if strings.EqualFold(in, "unlimited") || strings.EqualFold(in, "none") {
		return 0, nil
	}
	num := strings.ToUpper(in)
	num = strings.TrimSuffix(num, "B")
	num = strings.TrimSuffix(num, "I")
	shift := uint(0)
	for _, u := range sizeSuffixes() {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = rest, u.shift
			break
		}
	}
	if num == "" || strings.ContainsAny(num, "+-eEnN_xX") {
		return 0, fmt.Errorf("invalid size %q: use a number with an optional K, M, G or T, e.g. 2G", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: use a number with an optional K, M, G or T, e.g. 2G", s)
	}
	v := math.Round(f * float64(uint64(1)<<shift))
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(v), nil
}

// formatSize prints bytes the way parseSize reads them; 0 is "unlimited".
func formatSize(n int64) string {
	if n == 0 {
		return "unlimited"
	}
	for _, u := range sizeSuffixes() {
		unit := int64(1) << u.shift
		if n >= unit {
			if n%unit == 0 {
				return strconv.FormatInt(n/unit, 10) + u.suffix
			}
			return strconv.FormatFloat(float64(n)/float64(unit), 'f', 1, 64) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// formatUsed is an amount of mail stored: like formatSize, but 0 is "0B".
func formatUsed(n int64) string {
	if n == 0 {
		return "0B"
	}
	return formatSize(n)
}
