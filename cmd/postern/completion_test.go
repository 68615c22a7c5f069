package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shell returns the path of a shell the test needs; under CI=true a missing one fails.
func shell(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; CI must install it (.ci/deps)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// completionCases: the words typed so far (the last one being completed) and candidates
// that must, and must not, be offered.
var completionCases = []struct {
	words     []string
	want, not []string
}{
	{[]string{""}, []string{"serve", "user", "config", "--config"}, []string{"add"}},
	{[]string{"us"}, []string{"user"}, []string{"serve"}},
	{[]string{"user", ""}, []string{"add", "app-password", "remove"}, []string{"serve"}},
	{[]string{"--config", "x.toml", "user", "app-password", ""}, []string{"add", "revoke"}, []string{"remove"}},
	{[]string{"user", "add", "alice@example.org", "--"}, []string{"--quota", "--password-stdin"}, []string{"--json"}},
	{[]string{"config", "show", ""}, []string{"--help"}, []string{"default"}},
}

// TestBashCompletion loads the generated script into bash and completes each case.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	bash := shell(t, "bash")
	script := filepath.Join("..", "..", "packaging", "completion", "postern.bash")
	for _, tc := range completionCases {
		words := append([]string{"postern"}, tc.words...)
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := "complete() { :; }; source " + script + "; COMP_WORDS=(" + strings.Join(quoted, " ") + "); " +
			"COMP_CWORD=" + itoa(len(words)-1) + "; _postern; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		checkCandidates(t, tc.words, strings.Fields(string(out)), tc.want, tc.not)
	}
}

// TestZshCompletion runs the generated function in zsh with compsys' _describe and
// _files replaced by functions that print what they were given.
func TestZshCompletion(t *testing.T) {
	t.Parallel()
	zsh := shell(t, "zsh")
	script := filepath.Join("..", "..", "packaging", "completion", "_postern")
	for _, tc := range completionCases {
		words := append([]string{"postern"}, tc.words...)
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := "_describe() { print -rl -- ${(@P)4%%:*} }; _files() { print FILES }; " +
			"words=(" + strings.Join(quoted, " ") + "); CURRENT=" + itoa(len(words)) + "; source " + script
		out, err := exec.Command(zsh, "-f", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("zsh: %v\n%s", err, out)
		}
		// zsh offers every candidate; the shell filters by prefix itself.
		var got []string
		cur := tc.words[len(tc.words)-1]
		for _, w := range strings.Fields(string(out)) {
			if strings.HasPrefix(w, cur) {
				got = append(got, w)
			}
		}
		checkCandidates(t, tc.words, got, tc.want, tc.not)
	}
}

func checkCandidates(t *testing.T, words, got, want, not []string) {
	t.Helper()
	has := map[string]bool{}
	for _, g := range got {
		has[g] = true
	}
	for _, w := range want {
		if !has[w] {
			t.Errorf("after %q: %q not offered (got %q)", words, w, got)
		}
	}
	for _, w := range not {
		if has[w] {
			t.Errorf("after %q: %q offered, it should not be", words, w)
		}
	}
}
