#!/usr/bin/env bash
# test/integration/harness.sh: the harness the other scripts stand on (test/lib.sh): a passing,
# a skipped and a failing test are each reported as such, a skip prints no FAIL line, the
# summary and exit status count them, a fail where errexit is off fails the test all the same,
# and what a test kept with diag (or kept, for a command's failure) is shown when it fails;
# and test/run-integration, interrupted, lets the suite in flight clean up and starts no other.
. "$(dirname "$0")/../lib.sh"

t_pass_skip_and_fail_are_reported_apart() {
	local out rc=0
	cat >"$WORK/inner.sh" <<EOF2
. "$ROOT/test/lib.sh"
t_1_passes() { diag "kept by a passing test"; }
t_2_skips() { false || skip "not here"; }
t_3_skips_explicitly() { false || { skip "nor here"; return 77; }; }
t_4_fails() { diag "kept by a failing test"; kept echo quiet >/dev/null; false; }
plugin() { CNI_COMMAND=ADD CNI_CONTAINERID=c9 kept sh -c 'echo "{\\"code\\": 7}"; exit 3'; }
t_5_plugin_fails() { plugin >/dev/null; }
both() { [ 1 -eq 2 ] || fail "first of two checks"; [ 1 -eq 1 ] || fail "second of two checks"; }
t_6_first_of_two_checks_fails() { diag "kept by test 6"; both || fail "both"; }
t_7_check_fails_in_a_substitution() { local x; x=\$(fail "in a substitution"; echo y); }
run_tests
EOF2
	out=$(bash "$WORK/inner.sh" 2>&1) || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_contains "pass" "$out" "  ok   t_1_passes"
	expect_contains "skip" "$out" "  skip t_2_skips"
	expect_contains "skip with return" "$out" "  skip t_3_skips_explicitly"
	expect_contains "fail" "$out" "  FAIL t_4_fails"
	expect_contains "fail" "$out" "  FAIL t_5_plugin_fails"
	# a fail where errexit is off still fails the test, with its diag
	expect_contains "a helper's first check, the helper called by ||" "$out" \
		"  FAIL t_6_first_of_two_checks_fails"
	expect_contains "its check's message" "$out" "FAIL: first of two checks"
	expect_contains "its diag" "$out" "      | kept by test 6"
	expect_contains "a check in a command substitution" "$out" "  FAIL t_7_check_fails_in_a_substitution"
	# the failing commands only: t_4's, t_5's, and t_7's fail (its `return 1`) in the substitution
	expect_eq "FAIL lines: the failing command only" "$(grep -c 'FAIL: line' <<<"$out")" 3
	expect_contains "the failing command" "$out" "FAIL: line 5: false"
	expect_contains "its diag under it" "$out" "FAIL: line 5: false
      | kept by a failing test"
	expect_not_contains "a passing test's diag" "$out" "kept by a passing test"
	expect_contains "a failed command's status and output, by kept" "$out" \
		'| line 7: plugin ADD c9 exited 3: {"code": 7}'
	expect_not_contains "a command that succeeded, in a failing test" "$out" "quiet"
	expect_contains "summary" "$out" "inner: 1 passed, 4 failed, 2 skipped"
}

# Interrupted (make check stopped, test/run-all's SIGINT or SIGTERM to the step's process
# group), test/run-integration lets the suite in flight clean up and starts no other.
t_interrupted_run_integration_stops_after_the_suite_in_flight() {
	local pgid rc=0
	cat >"$WORK/s1.sh" <<EOF2
. "$ROOT/test/lib.sh"
t_slow() {
	cleanup_add "touch $WORK/s1.cleaned"
	echo "\$WORKROOT" >"$WORK/s1.root"
	read -r -a st </proc/\$\$/stat
	echo "\${st[4]}" >"$WORK/s1.pgid.tmp" && mv "$WORK/s1.pgid.tmp" "$WORK/s1.pgid"
	sleep 60
}
run_tests
EOF2
	printf 'touch %q\necho "s2: 1 passed, 0 failed, 0 skipped"\n' "$WORK/s2.ran" >"$WORK/s2.sh"
	# a process group of its own, as run-all gives each step; setsid runs it in place (a
	# background job is no group leader), so $! is the group's ID
	env -u ONLY setsid "$ROOT/test/run-integration" "$WORK/s1.sh" "$WORK/s2.sh" >"$WORK/out" 2>&1 &
	cleanup_add "kill -KILL -- -$! 2>/dev/null"
	AWAIT_LOG=$WORK/out await_eq "the slow suite started" yes sh -c "[ -s '$WORK/s1.pgid' ] && echo yes || :"
	pgid=$(cat "$WORK/s1.pgid")
	expect_eq "run-integration leads the group" "$pgid" "$!"
	kill -TERM -- "-$pgid"
	wait "$!" || rc=$?
	diag "$(cat "$WORK/out")"
	expect_eq "run-integration's exit status" "$rc" 130
	[ -e "$WORK/s1.cleaned" ] || fail "the suite in flight did not run its test's cleanups"
	[ ! -e "$(cat "$WORK/s1.root")" ] || fail "the suite in flight left its scratch directory"
	[ ! -e "$WORK/s2.ran" ] || fail "the next suite ran after the interruption"
}

run_tests
