# SPDX-License-Identifier: GPL-2.0
#
# Sourced by tests/check_compare.sh and tests/check_plot.sh: the python
# the plot tools run under, a temporary folder, the ok/FAIL counters, and
# the bad-input cases both tools must refuse the same way.
set -u
cd "$(dirname "$0")/.."
py=/usr/bin/python3
[ -x $py ] || py=python3
tools="$py tests/plottools.py"
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MPLCONFIGDIR="$tmp/mpl"		# no writes to ~/.config

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# need MODULE...: without these python modules, one SKIP naming the fix
# and the summary line, then exit
need() {
	local m
	for m in "$@"; do
		$py -c "import $m" 2>/dev/null && continue
		echo "SKIP $(basename "$0" .sh): no $m for $py (make deps installs python3-$m)"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	done
}

# bad_inputs TOOL ARG...: TOOL on each kind of folder that holds no
# gupbench results exits 2 with one line on stderr saying what is wrong;
# {} in the ARGs stands for the folder.
bad_inputs() {
	local tool=$1; shift
	local b="$tmp/bad" c name dir pat a args rc
	mkdir -p "$b/empty" "$b/other" "$b/foreign" "$b/nover" "$b/notjson"
	echo '{"context": {"gupbench_version": "x"}, "rows": []}' >"$b/other/summary.json"
	echo '{"context": {"gupbench_version": "x"}, "benchmarks": [{"name": "BM_memcpy/8", "real_time": 1}]}' >"$b/foreign/summary.json"
	echo '{"context": {"host_name": "x"}, "benchmarks": [{"name": "pin/bias/pages:1/share:same/place:compact/threads:1", "real_time": 1}]}' >"$b/nover/summary.json"
	echo 'not json {' >"$b/notjson/summary.json"
	for c in "missing:$b/nonexistent:no such file" \
		"empty:$b/empty:no summary.json or launch" \
		"no_benchmarks:$b/other:no \"benchmarks\" list" \
		"foreign_names:$b/foreign:no benchmark named like" \
		"no_version:$b/nover:no gupbench_version" \
		"not_json:$b/notjson:not JSON"; do
		IFS=: read -r name dir pat <<<"$c"
		args=()
		for a in "$@"; do args+=("${a/\{\}/$dir}"); done
		"$tool" "${args[@]}" >/dev/null 2>"$b/err"
		rc=$?
		if [ $rc -ne 2 ]; then
			bad "bad_input_$name" "exit $rc, want 2"
		elif [ "$(wc -l <"$b/err")" -ne 1 ] ||
			! grep -q "^$(basename "$tool"): error: .*$pat" "$b/err"; then
			bad "bad_input_$name" "want one line with /$pat/: $(cat "$b/err")"
		else
			ok "bad_input_$name"
		fi
	done
}

summary() {
	echo "$pass passed, $fail failed, $skip skipped"
	[ $fail -eq 0 ]
}
