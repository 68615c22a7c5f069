# bash completion for postern. Generated from the command table in cmd/postern;
# do not edit. Regenerate with: make docs

_postern_words() {
	case "$1" in
	"") echo "serve init config status domain user alias sieve mailbox reindex who kick import export backup restore dns dkim queue relay doctor trace sendmail mailq version help --config --help" ;;
	"serve") echo "--config --help" ;;
	"init") echo "--domain --hostname --relay --relay-user --relay-username --password-stdin --relay-password-stdin --user --user-password-stdin --state-dir --non-interactive --config --help" ;;
	"config") echo "default check show --config --help" ;;
	"config default") echo "--hostname --config --help" ;;
	"config check") echo "--config --help" ;;
	"config show") echo "--config --help" ;;
	"status") echo "--json --config --help" ;;
	"domain") echo "add list remove --config --help" ;;
	"domain add") echo "--config --help" ;;
	"domain list") echo "--json --config --help" ;;
	"domain remove") echo "--config --help" ;;
	"user") echo "add list remove passwd disable enable quota app-password --config --help" ;;
	"user add") echo "--password-stdin --quota --config --help" ;;
	"user list") echo "--json --config --help" ;;
	"user remove") echo "--config --help" ;;
	"user passwd") echo "--password-stdin --config --help" ;;
	"user disable") echo "--config --help" ;;
	"user enable") echo "--config --help" ;;
	"user quota") echo "--config --help" ;;
	"user app-password") echo "add list revoke --config --help" ;;
	"user app-password add") echo "--json --config --help" ;;
	"user app-password list") echo "--json --config --help" ;;
	"user app-password revoke") echo "--config --help" ;;
	"alias") echo "add list remove --config --help" ;;
	"alias add") echo "--config --help" ;;
	"alias list") echo "--json --config --help" ;;
	"alias remove") echo "--config --help" ;;
	"sieve") echo "list get put activate delete check test --config --help" ;;
	"sieve list") echo "--json --config --help" ;;
	"sieve get") echo "--config --help" ;;
	"sieve put") echo "--config --help" ;;
	"sieve activate") echo "--config --help" ;;
	"sieve delete") echo "--config --help" ;;
	"sieve check") echo "--personal --global --config --help" ;;
	"sieve test") echo "--script --message --from --to --personal --global --mailboxes --config --help" ;;
	"mailbox") echo "list status create delete rename expunge --config --help" ;;
	"mailbox list") echo "--json --config --help" ;;
	"mailbox status") echo "--json --config --help" ;;
	"mailbox create") echo "--special-use --config --help" ;;
	"mailbox delete") echo "--config --help" ;;
	"mailbox rename") echo "--config --help" ;;
	"mailbox expunge") echo "--before --json --config --help" ;;
	"reindex") echo "--json --config --help" ;;
	"who") echo "--json --config --help" ;;
	"kick") echo "--config --help" ;;
	"import") echo "passwd-file dovecot postfix --config --help" ;;
	"import passwd-file") echo "--dry-run --json --domain --config --help" ;;
	"import dovecot") echo "--dry-run --json --users --home --domain --dovecot-conf --special-use --config --help" ;;
	"import postfix") echo "--dry-run --dir --password-file --config --help" ;;
	"export") echo "--mbox --config --help" ;;
	"backup") echo "--json --config --help" ;;
	"restore") echo "--config --help" ;;
	"dns") echo "records check --config --help" ;;
	"dns records") echo "--json --config --help" ;;
	"dns check") echo "--json --config --help" ;;
	"dkim") echo "keygen activate --config --help" ;;
	"dkim keygen") echo "--selector --algo --config --help" ;;
	"dkim activate") echo "--config --help" ;;
	"queue") echo "list show flush retry hold release delete --config --help" ;;
	"queue list") echo "--json --config --help" ;;
	"queue show") echo "--json --config --help" ;;
	"queue flush") echo "--config --help" ;;
	"queue retry") echo "--config --help" ;;
	"queue hold") echo "--config --help" ;;
	"queue release") echo "--config --help" ;;
	"queue delete") echo "--config --help" ;;
	"relay") echo "test --config --help" ;;
	"relay test") echo "--to --relay --json --config --help" ;;
	"doctor") echo "--json --config --help" ;;
	"trace") echo "--message-id --address --queue-id --since --until --json --config --help" ;;
	"sendmail") echo "--config --help" ;;
	"mailq") echo "--json --config --help" ;;
	"version") echo "--json --config --help" ;;
	"help") echo "--config --help" ;;
	esac
}

_postern_valued() {
	case "$1" in
	--config|--domain|--hostname|--relay|--relay-user|--relay-username|--user|--state-dir|--quota|--personal|--global|--script|--message|--from|--to|--mailboxes|--special-use|--before|--users|--home|--dovecot-conf|--dir|--password-file|--selector|--algo|--message-id|--address|--queue-id|--since|--until) return 0 ;;
	esac
	return 1
}

_postern() {
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
