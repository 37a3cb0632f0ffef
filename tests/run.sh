#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every test binary in build/obj/tests and build/san/tests (ASan+UBSan)
# and every tests/*.sh check, add up their "N passed, N failed, N skipped"
# lines, and print the total as the last line. A binary that crashes,
# prints no summary or runs longer than TEST_TIMEOUT seconds (900) counts
# as one failure.
set -u
cd "$(dirname "$0")/.."
filter=${TEST_FILTER:-}
tp=0 tf=0 ts=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limit=${TEST_TIMEOUT:-900}	# seconds per test binary or script
logdir=build/test-logs
mkdir -p "$logdir"

run_one() {		# label, command...
	local label=$1; shift
	local log="$logdir/$(echo "$label" | tr '/ ' '__').log"
	local start=$SECONDS
	# a hang (a livelocked or deadlocked model) fails the one binary
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	local rc=$?
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	grep -E '^(FAIL|SKIP) ' "$log" | sed "s|^|  $label: |"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "  $label: still running after ${limit}s, killed; log: $log"
		tail -n 20 "$log" | sed 's/^/    /'
		tf=$((tf + 1))
		return
	fi
	if [ -z "$line" ]; then
		echo "  $label: no summary line (exit $rc); log: $log"
		tail -n 20 "$log" | sed 's/^/    /'
		tf=$((tf + 1))
		return
	fi
	local p f s
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
	s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  $label: exit $rc with no failed case; log: $log"
		tail -n 20 "$log" | sed 's/^/    /'
		f=1
	fi
	printf '%-34s %4d passed %3d failed %3d skipped  %3ds\n' \
		"$label" "$p" "$f" "$s" $((SECONDS - start))
	tp=$((tp + p)); tf=$((tf + f)); ts=$((ts + s))
}

for tree in obj san; do
	for t in build/$tree/tests/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		case "$name" in *.o|*.d) continue ;; esac
		[ -n "$filter" ] && [[ "$name" != $filter ]] && continue
		run_one "$tree/$name" "$t"
	done
done
for s in tests/check_*.sh; do	# with bash: a lost +x bit skips none
	name=$(basename "$s" .sh)
	[ -n "$filter" ] && [[ "$name" != $filter ]] && continue
	run_one "script/$name" bash "$s"
done
if [ $((tp + tf + ts)) -eq 0 ]; then
	echo "  nothing ran: TEST_FILTER='$filter' TEST_CASE='${TEST_CASE:-}' match no test"
	tf=1
fi
echo "$tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]
