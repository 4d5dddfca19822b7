# ipmmap.bash - bash completion for ipmmap(1): commands, options, and the
# structures and field paths of the schema given with -s (or
# $IPMMAP_SCHEMA), read from `ipmmap check`. `make install` puts it where
# bash-completion finds it; or source it from ~/.bashrc.
_ipmmap()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${IPMMAP_BIN:-${COMP_WORDS[0]}} cmd= i w n layout
	local cmds="create get set dump clear touch recover watch list header check"
	local opts="--schema --tag --mmap-dir --lock-dir --force --native --compat --timeout --count --help --version"
	local -a schema=() args=()

	COMPREPLY=()
	case $prev in
	-s | --schema) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-m | --mmap-dir | -l | --lock-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-t | --tag | -w | --timeout | -n | --count) return ;;
	esac
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-s | --schema) schema+=(-s "${COMP_WORDS[i + 1]}"); ((i++)) ;;
		--schema=*) schema+=(-s "${w#--schema=}") ;;
		-t | --tag | -m | --mmap-dir | -l | --lock-dir | -w | --timeout | -n | --count) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=$w; else args+=("$w"); fi ;;
		esac
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		return
	fi
	case $cmd in
	check | header) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	create | dump | clear | touch | recover) ((${#args[@]} == 0)) || return ;;
	get | watch) ;;
	set) # STRUCT, then PATH VALUE pairs, or one FILE
		n=${#args[@]}
		((n == 0 || n % 2 == 1)) || return
		((n == 1)) && COMPREPLY=($(compgen -f -- "$cur")) ;;
	*) return ;;
	esac
	[[ ${#schema[@]} -eq 0 && -n ${IPMMAP_SCHEMA:-} ]] && schema=(-s "$IPMMAP_SCHEMA")
	((${#schema[@]})) || return
	layout=$("$bin" "${schema[@]}" check 2>/dev/null) || return
	if ((${#args[@]} == 0)); then # "Name: size 688, align 8, mappable, file:line"
		COMPREPLY=($(compgen -W "$(sed -n 's/^\([^ :]*\): size .*, mappable, .*/\1/p' <<<"$layout")" \
			-- "$cur"))
		return
	fi
	# The leaves of the structure: the last column of its layout lines.
	COMPREPLY+=($(compgen -W "$(awk -v s="${args[0]}:" '/^[^ ]/ { on = $1 == s; next }
		on && $1 ~ /^[0-9]+$/ { print $NF }' <<<"$layout")" -- "$cur"))
}
complete -F _ipmmap ipmmap
