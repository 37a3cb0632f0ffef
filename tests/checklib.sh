# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the gupbench check scripts (check_cli.sh, check_torture.sh):
# a temporary folder, the ok/FAIL/SKIP counters, and the bad-input helper.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
skipped() { echo "SKIP $1: $2"; skip=$((skip + 1)); }

# expect_exit2 NAME PATTERN COMMAND...: exit 2 and stderr matching PATTERN
expect_exit2() {
	local name=$1 pat=$2; shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc -ne 2 ]; then
		bad "$name" "exit $rc, want 2"
	elif ! grep -qE -e "$pat" "$tmp/err"; then
		bad "$name" "stderr lacks /$pat/: $(head -c 300 "$tmp/err")"
	else
		ok "$name"
	fi
}
