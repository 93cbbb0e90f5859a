# ingot phase helpers, as in ebuilds. Sourced at the top of every phase script, which runs under
# `sh -e` (dash): POSIX shell only. Internal names start with _ingot_.

# die in a command substitution runs in a subshell: it signals the phase shell, which then exits 1
# once the command it is running returns (bash ebuilds behave the same). The trap also lets the
# shell, PID 1 of its sandbox, receive the signal at all.
trap 'exit 1' TERM

die() {
	printf 'ingot: die: %s\n' "$*" >&2
	kill -s TERM $$ 2>/dev/null || :
	exit 1
}

einfo() {
	printf 'ingot: info: %s\n' "$*" >&2
}

ewarn() {
	printf 'ingot: warn: %s\n' "$*" >&2
}

_ingot_listed() {
	case " $2 " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# use FLAG: true if FLAG is enabled; !FLAG inverts. A flag missing from IUSE is a recipe bug.
use() {
	[ $# -eq 1 ] || die "use: expected one flag, got $#: $*"
	_ingot_flag=${1#!}
	_ingot_listed "$_ingot_flag" "$IUSE" ||
		die "use: flag '$_ingot_flag' is not in IUSE of $CATEGORY/$PF (IUSE: $IUSE)"
	if _ingot_listed "$_ingot_flag" "$USE"; then _ingot_off=0; else _ingot_off=1; fi
	[ "$1" = "$_ingot_flag" ] || _ingot_off=$((1 - _ingot_off))
	return $_ingot_off
}

# usev FLAG [VALUE]: prints VALUE (default: the flag's name) if FLAG is enabled. Always true, so
# that a bare `usev` cannot end a `sh -e` phase.
usev() {
	[ $# -ge 1 ] && [ $# -le 2 ] || die "usev: expected a flag and an optional value, got $#: $*"
	if use "$1"; then printf '%s\n' "${2-${1#!}}"; fi
	return 0
}

_ingot_use_option() {
	_ingot_yes=$1 _ingot_no=$2
	shift 2
	[ $# -ge 1 ] && [ $# -le 3 ] ||
		die "use_$_ingot_yes: expected a flag, an optional option name and value, got $#: $*"
	_ingot_opt=${2-${1#!}}
	if use "$1"; then
		printf '%s\n' "--$_ingot_yes-$_ingot_opt${3+=$3}"
	else
		printf '%s\n' "--$_ingot_no-$_ingot_opt"
	fi
}

# use_enable FLAG [OPTION [VALUE]]: --enable-OPTION[=VALUE] or --disable-OPTION.
use_enable() {
	_ingot_use_option enable disable "$@"
}

# use_with FLAG [OPTION [VALUE]]: --with-OPTION[=VALUE] or --without-OPTION.
use_with() {
	_ingot_use_option with without "$@"
}

# The machine that runs the build, as its own compiler names it; CBUILD in the environment
# overrides it. A target of another ABI (x86_64-linux-musl on an x86_64-linux-gnu host) is then a
# cross build: its test programs would need the target's dynamic loader, which only the image
# has, so autoconf must not try to run them. A CHOST equal to the host's triple stays native.
_ingot_cbuild() {
	if [ -n "${CBUILD-}" ]; then
		printf '%s\n' "$CBUILD"
	elif gcc -dumpmachine 2>/dev/null; then
		:
	else
		printf '%s-pc-linux-gnu\n' "$(uname -m)"
	fi
}

econf() {
	[ -x ./configure ] || die "econf: no executable ./configure in $PWD"
	_ingot_build=$(_ingot_cbuild)
	./configure --prefix=/usr --build="$_ingot_build" --host="$CHOST" \
		--sysconfdir=/etc --localstatedir=/var "$@" || die "econf: ./configure failed"
}

emake() {
	make -j"${JOBS:-1}" "$@" || die "emake: make $* failed"
}
