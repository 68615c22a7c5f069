package store

import (
	"fmt"
	"strings"
	"testing"
)

func TestInPartsSplitsAtTheLimit(t *testing.T) {
	vals := make([]string, 2*maxInValues+3)
	for i := range vals {
		vals[i] = fmt.Sprint(i)
	}
	var sizes []int
	var got []string
	err := inParts(vals, func(marks string, args []any) error {
		if n := strings.Count(marks, "?"); n != len(args) || strings.Count(marks, ",") != n-1 {
			t.Fatalf("marks %q for %d args", marks, len(args))
		}
		sizes = append(sizes, len(args))
		for _, a := range args {
			got = append(got, a.(string))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != fmt.Sprint([]int{maxInValues, maxInValues, 3}) || strings.Join(got, " ") != strings.Join(vals, " ") {
		t.Fatalf("parts %v, values in order: %v", sizes, strings.Join(got, " ") == strings.Join(vals, " "))
	}
	if inParts(nil, func(string, []any) error { t.Fatal("called for no values"); return nil }) != nil {
		t.Fatal("error for no values")
	}
}
