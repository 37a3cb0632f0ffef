#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness and the model have no data races: gupbench torture on every
# real scheme under ThreadSanitizer (build/tsan/gupbench, built by make
# test), TSAN_OPS operations each (default 300k). Any TSan report fails.
set -u
cd "$(dirname "$0")/.."
bin=build/tsan/gupbench
ops=${TSAN_OPS:-300k}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$bin" ]; then
	echo "SKIP check_tsan: no $bin (make build/tsan/gupbench)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}" \
	"$bin" torture --ops="$ops" >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! grep -q 'ThreadSanitizer' "$tmp/out"; then
	echo "ok   tsan_torture_all_schemes ($ops ops each)"
	echo "1 passed, 0 failed, 0 skipped"
	exit 0
fi
echo "FAIL tsan_torture_all_schemes: exit $rc"
grep -m1 -A30 'WARNING: ThreadSanitizer' "$tmp/out" | sed 's/^/    /'
grep -E '^(torture|VIOLATION)' "$tmp/out" | tail -n 5 | sed 's/^/    /'
# the first violation's whole report (ring log, replay line)
grep -m1 -A40 '^VIOLATION' "$tmp/out" | sed 's/^/    /'
cp "$tmp/out" build/test-logs/tsan_torture.out 2>/dev/null
echo "0 passed, 1 failed, 0 skipped"
exit 1
