# ipmmap.bash - bash completion for ipmmap(1): commands, options, and the
# structures and field paths of the schema given with -s (or
# $IPMMAP_SCHEMA), read from `ipmmap check`; without one, those of the
# instances' stored definitions, read from `ipmmap list` and `ipmmap dump`
# (which waits at most half a second for a lock), and their tags.
# `make install` puts it where bash-completion finds it; or source it from
# ~/.bashrc.
# Adds the lines of stdin that start with $cur to COMPREPLY, as they are:
# tags and names come from the files of a shared directory, so they are
# never expanded, globbed or run, as compgen -W would; quoted for the
# command line where they need it. awk picks the matches first, at most
# 5000, so that a huge instance's paths take no longer than its dump.
_ipmmap_add()
{
	local w q
	while IFS= read -r w; do
		q=$w
		[[ $w == *[!A-Za-z0-9_.,:+@%/=[\]-]* ]] && printf -v q '%q' "$w"
		[[ $w == "$cur"* || $q == "$cur"* ]] && COMPREPLY+=("$q")
	done < <(P=$cur awk 'length($0) && (index($0, ENVIRON["P"]) == 1 || ENVIRON["P"] ~ /[\\'"'"'"]/) &&
		n++ < 5000')
}

_ipmmap()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local bin=${IPMMAP_BIN:-${COMP_WORDS[0]}} cmd= i w n layout
	local cmds="create get set dump clear touch recover watch list header check"
	local opts="--schema --tag --mmap-dir --lock-dir --force --native --compat --timeout --count --help --version"
	local -a schema=() args=() dirs=() tag=()

	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-s | --schema) schema+=(-s "${COMP_WORDS[i + 1]}"); ((i++)) ;;
		--schema=*) schema+=(-s "${w#--schema=}") ;;
		-m | --mmap-dir | -l | --lock-dir) dirs+=("$w" "${COMP_WORDS[i + 1]}"); ((i++)) ;;
		--mmap-dir=* | --lock-dir=*) dirs+=("$w") ;;
		-t | --tag) tag=(-t "${COMP_WORDS[i + 1]}"); ((i++)) ;;
		--tag=*) tag=(-t "${w#--tag=}") ;;
		-w | --timeout | -n | --count) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=$w; else args+=("$w"); fi ;;
		esac
	done
	case $prev in
	-s | --schema) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-m | --mmap-dir | -l | --lock-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-t | --tag) # the tags of the instances there ("-" is the empty one)
		_ipmmap_add < <("$bin" "${dirs[@]}" list 2>/dev/null |
			sed -nE '1d; s/^[^ ]+ +(.*[^ ]) +[0-9]+  [0-7]{4}  .*/\1/p' | grep -vx -- -)
		return ;;
	-w | --timeout | -n | --count) return ;;
	esac
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
	if ((${#schema[@]} == 0)); then # the stored definitions of the instances
		if ((${#args[@]} == 0)); then
			_ipmmap_add < <("$bin" "${dirs[@]}" list 2>/dev/null |
				awk 'NR > 1 && $1 != "?" { print $1 }' | sort -u)
		else
			_ipmmap_add < <("$bin" "${dirs[@]}" "${tag[@]}" -w 500 \
				dump "${args[0]}" 2>/dev/null | sed -n 's/ = .*//p')
		fi
		return
	fi
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
