package main

import (
	"fmt"
	"slices"
	"strings"
)

// Shell completion scripts, generated from the command table so that a new command
// completes as soon as it is in the table. Both scripts follow the same walk: the words
// typed so far that name table nodes form the command path; the candidates are that
// node's subcommands (groups) or flags (leaves); after a flag that takes a value, files.

// completionNode is one table node as the scripts see it.
type completionNode struct {
	path  string // "user app-password"; "" is the root
	words []completionWord
}

type completionWord struct{ word, summary string }

// completionNodes lists every node with its candidates, and every flag that takes a value.
func completionNodes(root *command) (nodes []completionNode, valued []string) {
	valued = []string{"--" + configFlagName}
	walk(root, nil, func(cmd *command, path []string) {
		n := completionNode{path: strings.Join(path, " ")}
		for _, s := range cmd.subs {
			n.words = append(n.words, completionWord{s.name, s.summary})
		}
		for _, f := range cmd.flags {
			n.words = append(n.words, completionWord{"--" + f.name, f.usage})
			if f.value != "" && !slices.Contains(valued, "--"+f.name) {
				valued = append(valued, "--"+f.name)
			}
		}
		n.words = append(n.words, completionWord{"--" + configFlagName, configFlagUsage},
			completionWord{"--help", "show the help"})
		nodes = append(nodes, n)
	})
	return nodes, valued
}

// renderBash renders the bash completion script (packaging/completion/postern.bash).
func renderBash(root *command) []byte {
	nodes, valued := completionNodes(root)
	var b strings.Builder
	b.WriteString("# bash completion for postern. Generated from the command table in cmd/postern;\n" +
		"# do not edit. Regenerate with: make docs\n\n")
	b.WriteString("_postern_words() {\n\tcase \"$1\" in\n")
	for _, n := range nodes {
		var ws []string
		for _, w := range n.words {
			ws = append(ws, w.word)
		}
		fmt.Fprintf(&b, "\t%q) echo %q ;;\n", n.path, strings.Join(ws, " "))
	}
	b.WriteString("\tesac\n}\n\n")
	fmt.Fprintf(&b, "_postern_valued() {\n\tcase \"$1\" in\n\t%s) return 0 ;;\n\tesac\n\treturn 1\n}\n\n",
		strings.Join(valued, "|"))
	b.WriteString(`_postern() {
	local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
	local cmdpath="" i w next
	for ((i = 1; i < COMP_CWORD; i++)); do
		w="${COMP_WORDS[i]}"
		if _postern_valued "$w"; then
			((i++))
			continue
		fi
		[[ "$w" == -* ]] && continue
		next="${cmdpath:+$cmdpath }$w"
		[[ -n "$(_postern_words "$next")" ]] && cmdpath="$next"
	done
	if _postern_valued "$prev"; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -W "$(_postern_words "$cmdpath")" -- "$cur"))
}
complete -o default -F _postern postern
`)
	return []byte(b.String())
}

// renderZsh renders the zsh completion function (packaging/completion/_postern).
func renderZsh(root *command) []byte {
	nodes, valued := completionNodes(root)
	var b strings.Builder
	b.WriteString("#compdef postern\n# zsh completion for postern. Generated from the command table in cmd/postern;\n" +
		"# do not edit. Regenerate with: make docs\n\n")
	b.WriteString("_postern_words() {\n\tcase \"$1\" in\n")
	for _, n := range nodes {
		var ws []string
		for _, w := range n.words {
			ws = append(ws, zshQuote(w.word+":"+w.summary))
		}
		fmt.Fprintf(&b, "\t%s) reply=(%s) ;;\n", zshQuote(n.path), strings.Join(ws, " "))
	}
	b.WriteString("\t*) reply=() ;;\n\tesac\n}\n\n")
	fmt.Fprintf(&b, "_postern() {\n\tlocal cmdpath=\"\" next w i\n\tlocal -a reply\n"+
		"\tlocal valued=' %s '\n", strings.Join(valued, " "))
	b.WriteString(`	for ((i = 2; i < CURRENT; i++)); do
		w="${words[i]}"
		if [[ "$valued" == *" $w "* ]]; then
			((i++))
			continue
		fi
		[[ "$w" == -* ]] && continue
		next="${cmdpath:+$cmdpath }$w"
		_postern_words "$next"
		(( ${#reply} )) && cmdpath="$next"
	done
	if [[ "$valued" == *" ${words[CURRENT-1]} "* ]]; then
		_files
		return
	fi
	_postern_words "$cmdpath"
	_describe -t commands 'postern' reply
}

_postern "$@"
`)
	return []byte(b.String())
}

// zshQuote single-quotes s for zsh; _describe also needs colons in the word escaped,
// but none of ours has one.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
