# test/lib.sh: shared by the integration scripts: assertions, unique names, cleanup on every exit.
# Each script sources it, defines tests as functions named t_*, and ends with `run_tests`.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PLUGINS=${PLUGINS:-/usr/lib/cni}
CNITOOL=$BUILD/test/tools/cnitool
# `make valgrind` runs the product binaries under memcheck: any error or leak fails the call.
MEMCHECK=${MEMCHECK:-}
# Unique per script run: short (interface names have 15 bytes) and recognisable.
TAG=${TAG:-$(printf 'p%04x' $((($$ + RANDOM) % 65536)))}
WORKROOT=$(mktemp -d "/tmp/plexus-it-$TAG.XXXXXX")
WORK=$WORKROOT
PASSED=0 FAILED=0 SKIPPED=0
CLEANUPS=()
CURRENT=""

cleanup_add() { CLEANUPS+=("$*"); }
cleanup_run() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true; done
	CLEANUPS=()
}
trap 'cleanup_run; rm -rf "$WORKROOT"' EXIT
trap 'exit 130' INT TERM

# stop_gracefully PID: SIGTERM, then SIGKILL when still there 5 s later: a daemon that exits on
# its own runs its exit-time checks (LeakSanitizer under `make integration-asan`)
stop_gracefully() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$1"
}

# netns_new NAME: creates /run/netns/NAME, removed at exit.
netns_new() {
	ip netns add "$1" || return 1
	cleanup_add "ip netns del $1"
	ip -n "$1" link set lo up
}

# links_in NETNS: how many interfaces besides lo
links_in() {
	ip -n "$1" -o link show | awk -F': ' '$2 != "lo"' | wc -l
}

# fail MESSAGE: the test fails. Also where errexit is off: in a function called by `||`, `&&`,
# `if`, `while` or `!`, bash ignores a failed command that is not the function's last, so
# `check_a_and_b || fail ...` would lose a failed first check. The mark (FAILMARK, set by
# run_tests for each test, seen by its subshells) makes run_tests count the test as failed
# whatever its exit status.
fail() {
	echo "    FAIL: $*" >&2
	[ -z "${FAILMARK:-}" ] || : >>"$FAILMARK"
	return 1
}

# diag TEXT: kept for the test's failure report, printed under its FAIL line when the test fails
# and never otherwise; for what a helper learns and its caller throws away (a plugin's error
# object when the caller sends its output to /dev/null).
diag() {
	printf '%s\n' "$*" >>"$WORK/diag"
}
# A helper that runs a program as its last command, as `... ${EXEC:-} PROGRAM` (or
# `${EXEC:-kept} PROGRAM`), can be run in the background so that $! is the program itself:
# `(EXEC=exec helper ARGS) &`. The program replaces the subshell, and a kill of $! reaches it;
# with a plain `helper ARGS &`, $! is the subshell running the function, and a kill of it leaves
# the program running.

# kept CMD...: CMD with its output passed on; when it fails, its exit status and output are
# also kept with diag (the verb and container of a CNI call named), as callers that expect
# success send the output to /dev/null. For a test's plugin helper: `VAR=... kept "$PLUGIN"`.
kept() {
	local out rc=0
	out=$("$@") || rc=$?
	[ -z "$out" ] || printf '%s\n' "$out"
	[ "$rc" -eq 0 ] ||
		diag "line ${BASH_LINENO[1]}: ${FUNCNAME[1]}${CNI_COMMAND:+ $CNI_COMMAND}${CNI_CONTAINERID:+ $CNI_CONTAINERID} exited $rc: $out"
	return "$rc"
}
diag_show() {
	[ ! -s "$WORK/diag" ] || sed 's/^/      | /' "$WORK/diag" >&2
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" == "$3" ] || fail "$1: got [$2], want [$3]"
}

# await_eq WHAT WANT COMMAND...: COMMAND prints WANT within 20 s (polled every 0.1 s); fails
# with what it printed last, and the last lines of the file $AWAIT_LOG names when set
await_eq() {
	local what=$1 want=$2 got
	shift 2
	for _ in $(seq 1 200); do
		got=$("$@")
		[ "$got" == "$want" ] && return 0
		sleep 0.1
	done
	fail "$what: [$got], want [$want]${AWAIT_LOG:+; $(basename "$AWAIT_LOG"): $(tail -n 20 "$AWAIT_LOG")}"
}

# elf_dynamic FILE: FILE asks for a program interpreter (a dynamically linked ELF file, which
# takes LD_PRELOAD and imports libc's functions), unlike the static bin/plexus and plexus-shim
elf_dynamic() {
	readelf -l "$1" | grep -q 'program interpreter'
}

# planwatch_plugin DIR CNIDIR: DIR/planwatch, a delegate that reads its config, then appends to
# DIR/planwatch.log whether plexus's plan for its container (CNIDIR/plexus/<containerID>) was
# there by then ("ADD: plan in place" or "ADD: no plan"), and answers with an empty result
planwatch_plugin() {
	mkdir -p "$1"
	cat >"$1/planwatch" <<EOF
#!/bin/sh
cat >/dev/null
if [ "\$CNI_COMMAND" = ADD ]; then
	if [ -s "$2/plexus/\$CNI_CONTAINERID" ]; then echo "ADD: plan in place"; else echo "ADD: no plan"; fi >>"$1/planwatch.log"
fi
echo '{"cniVersion":"1.0.0"}'
EOF
	chmod +x "$1/planwatch"
}

# child_named PID NAME: the pid of PID's child process called NAME, waited for up to 2 s; empty
# when none came
child_named() {
	local c
	for _ in $(seq 1 100); do
		c=$(pgrep -P "$1" -x "$2" || true)
		[ -z "$c" ] || break
		sleep 0.02
	done
	echo "$c"
}

# links NETNS: the netns's interfaces but lo, sorted, space-separated
links() {
	ip -n "$1" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | grep -vx lo | sort | tr '\n' ' ' | sed 's/ $//'
}

# kill9_seen PID VAR: kill -9 PID, VAR set to what PID was just before (its /proc comm, read by
# a builtin: no process starts between the look and the kill), empty when it had gone.
kill9_seen() {
	local -n seen_=$2
	seen_=
	read -r seen_ <"/proc/$1/comm" 2>/dev/null || true
	kill -9 "$1" 2>/dev/null || true
}

# cut_plexus SEEN STATUS: whether a kill9_seen cut an ADD short: it hit plexus (not the shell
# before its exec, not a finished call) and plexus died of it (its wait said 137)
cut_plexus() { [ "$1" = plexus ] && [ "$2" -eq 137 ]; }

# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() {
	[[ "$2" == *"$3"* ]] || fail "$1: [$2] does not contain [$3]"
}

expect_not_contains() {
	[[ "$2" != *"$3"* ]] || fail "$1: [$2] contains [$3]"
}

# jq-free JSON field access through Debian's python3.
json_get() { # json_get JSON PYEXPR  (j is the parsed document)
	/usr/bin/python3 -c 'import json,sys; j=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(json.dumps(v) if not isinstance(v,str) else v)' "$1" "$2"
}

# apiserver_start FIXTURE-JSON: the API stand-in (test/stand-ins/apiserver.py) with its
# certificates in $WORK/api; sets API (its URL) and API_PID, writes $WORK/kubeconfig (mode 0600)
# authenticating with the token "tok" (which the fixture must map to a user). Stopped at exit.
apiserver_start() {
	mkdir -p "$WORK/api"
	printf '%s\n' "$1" >"$WORK/api/fixture.json"
	/usr/bin/python3 -u "$ROOT/test/stand-ins/apiserver.py" --dir "$WORK/api" \
		--fixture "$WORK/api/fixture.json" --max-lifetime 300 >"$WORK/api/out" 2>/dev/null &
	API_PID=$!
	cleanup_add "kill $API_PID"
	for _ in $(seq 1 100); do grep -q listening "$WORK/api/out" 2>/dev/null && break; sleep 0.1; done
	API=$(awk '/listening/{print $2}' "$WORK/api/out")
	[ -n "$API" ] || fail "the API stand-in did not start"
	printf 'apiVersion: v1\nkind: Config\ncurrent-context: t\ncontexts:\n- name: t\n  context: {cluster: s, user: u}\nclusters:\n- name: s\n  cluster: {server: "%s", certificate-authority: %s}\nusers:\n- name: u\n  user: {token: tok}\n' "$API" "$WORK/api/ca.crt" >"$WORK/kubeconfig"
	chmod 600 "$WORK/kubeconfig"
}

# api METHOD PATH [BODY]: a request to the stand-in (its control endpoints are /_standin/...).
api() {
	curl -sS --cacert "$WORK/api/ca.crt" -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "$API$2"
}

# skip REASON: ends the test as skipped (status 77), e.g. `command -v x >/dev/null || skip "..."`.
skip() {
	echo "    SKIP: $*"
	return 77
}

run_tests() {
	local t rc
	for t in $(declare -F | awk '{print $3}' | grep '^t_' ); do
		if [ -n "${ONLY:-}" ] && [[ "$t" != *"$ONLY"* ]]; then continue; fi
		CURRENT=$t
		# each test in a subshell with errexit: its cleanups run when it exits, however
		# and a scratch directory of its own
		( WORK=$WORKROOT/$t; mkdir -p "$WORK"; trap cleanup_run EXIT
		  FAILMARK=$WORKROOT/$t.failed
		  # 77 is a skip (see skip), not a failure: no FAIL line for it
		  trap '[ $? -eq 77 ] || { echo "    FAIL: line $LINENO: $BASH_COMMAND" >&2; diag_show; }' ERR
		  set -eEu; "$t" ); rc=$?
		# a fail that errexit did not see (see fail) fails the test all the same
		if [ -e "$WORKROOT/$t.failed" ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; }; then
			echo "    FAIL: a check failed where errexit was off (see fail in test/lib.sh)" >&2
			(WORK=$WORKROOT/$t diag_show)
			rc=1
		fi
		case $rc in
		0) PASSED=$((PASSED + 1)); echo "  ok   $t" ;;
		77) SKIPPED=$((SKIPPED + 1)); echo "  skip $t" ;;
		*) FAILED=$((FAILED + 1)); echo "  FAIL $t" ;;
		esac
	done
	echo "$(basename "$0" .sh): $PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ "$FAILED" -eq 0 ]
}
