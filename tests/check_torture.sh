#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# gupbench torture: every real scheme runs TORTURE_OPS operations (10^6
# by default) without a violation; every mutant of the test build
# (build/mut/gupbench) is caught within the same budget, by the invariant
# it breaks, with a report that names the scheme, the seed, the page's
# ring log and the replay command; a seed replays the same choices; bad
# input exits 2. TORTURE_SEED fixes the seed (default: the clock, printed).
. "$(dirname "$0")/checklib.sh"
bin=build/gupbench
mut=build/mut/gupbench
ops=${TORTURE_OPS:-1M}
seed=${TORTURE_SEED:-$(date +%s)}
echo "torture seed $seed, $ops operations per scheme"

# Every real scheme: exit 0, one "0 violations" line each, >= the budget.
"$bin" torture --scheme=all --ops="$ops" --seed="$seed" >"$tmp/real" 2>&1
rc=$?
schemes=$("$bin" --list | sed -n '/^Schemes:/,/^[A-Z]/p' | awk '/^  / {print $1}')
[ -n "$schemes" ] || bad scheme_list "gupbench --list printed no schemes"
want=$(echo "$ops" | sed 's/M$/000000/; s/[kK]$/000/')
for s in $schemes; do
	[ "$s" = empty ] && continue	# calibration: no protocol to check
	line=$(grep -E "^torture: $s +[0-9]+ ops" "$tmp/real")
	n=$(echo "$line" | awk '{print $3}')
	if [ -z "$line" ]; then
		bad "real_$s" "no result line (exit $rc): $(tail -n 20 "$tmp/real")"
	elif ! echo "$line" | grep -q ', 0 violations$'; then
		bad "real_$s" "$(sed -n "/^torture: $s /,/replay:/p" "$tmp/real")"
	elif [ "$n" -lt "$want" ]; then
		bad "real_$s" "only $n of $want operations ran"
	else
		ok "real_$s"
	fi
done
[ $rc -eq 0 ] && ok real_exit_0 || bad real_exit_0 "exit $rc"

# Every mutant: exit 1 and the invariant the table says must catch it.
"$mut" torture --mutant=list >"$tmp/mutants" 2>&1 || bad mutant_list "exit $?"
# the README's mutant table lists exactly these: name, scheme, invariant
awk '{ print $1, $2, $3 }' "$tmp/mutants" | sort >"$tmp/m_list"
sed -n 's/^| `\([a-z0-9_]*\)` | \([a-z0-9_]*\) | .* | `\([a-z-]*\)` |$/\1 \2 \3/p' \
	README.md | sort >"$tmp/m_readme"
nm=$(wc -l <"$tmp/m_list")
if [ "$nm" -ge 6 ] && cmp -s "$tmp/m_list" "$tmp/m_readme"; then
	ok "mutants_match_readme ($nm)"
else
	bad mutants_match_readme "$(diff "$tmp/m_list" "$tmp/m_readme" | head -5)"
fi
while read -r name scheme inv _; do
	"$mut" torture --mutant="$name" --ops="$ops" --seed="$seed" \
		>"$tmp/m_$name" 2>&1
	rc=$?
	got=$(sed -n 's/^VIOLATION \([a-z-]*\):.*/\1/p' "$tmp/m_$name" | head -n 1)
	if [ $rc -ne 1 ]; then
		bad "mutant_$name" "survived (exit $rc): $(tail -n 3 "$tmp/m_$name")"
	elif [ "$got" != "$inv" ]; then
		bad "mutant_$name" "caught by '$got', want '$inv': $(head -n 12 "$tmp/m_$name")"
	elif ! grep -q "scheme $scheme, mutant yes, seed $seed" "$tmp/m_$name" ||
	     ! grep -q "replay: build/mut/gupbench torture --scheme=$scheme --seed=$seed .*--mutant=$name" "$tmp/m_$name"; then
		bad "mutant_$name" "report lacks scheme/seed/replay: $(head -n 12 "$tmp/m_$name")"
	elif [ "$inv" != counts ] && ! grep -q "operations on pfn" "$tmp/m_$name"; then
		bad "mutant_$name" "report lacks the page's ring log: $(head -n 12 "$tmp/m_$name")"
	else
		ok "mutant_$name ($inv)"
	fi
done <"$tmp/mutants"

# The same seed makes the same choices (per-thread op counts); another
# seed makes others.
ops_line() { "$bin" torture --scheme=bias --ops=40k --seed="$1" --verbose 2>&1 | grep '^  ops:'; }
a=$(ops_line 42) b=$(ops_line 42) c=$(ops_line 43)
if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$c" ]; then
	ok seed_replays_choices
else
	bad seed_replays_choices "42: '$a' / 42: '$b' / 43: '$c'"
fi

# Bad input: exit 2 and a message naming the problem.
expect_usage() {	# NAME PATTERN BINARY ARGS...
	local name=$1 pat=$2 b=$3; shift 3
	expect_exit2 "$name" "$pat" "$b" torture "$@"
}
expect_usage bad_threads "bad --threads '1'" "$bin" --threads=1
expect_usage bad_threads_word "bad --threads 'x'" "$bin" --threads=x
expect_usage unknown_scheme "unknown scheme 'nope'; valid:.* bias" "$bin" --scheme=nope
expect_usage calibration_scheme "calibration scheme" "$bin" --scheme=empty
expect_usage bad_duration "bad --duration '0'" "$bin" --duration=0
expect_usage bad_ops "bad --ops '0'" "$bin" --ops=0
expect_usage bad_seed "bad --seed '-3'" "$bin" --seed=-3
expect_usage no_mutants_in_release "exist only in the test build" "$bin" --mutant=no_pte_recheck
expect_usage unknown_mutant "unknown mutant 'nope'" "$mut" --mutant=nope
expect_usage torture_swallowed "\-\-scheme needs a value; '--ops=5' is the next option" "$bin" --scheme --ops=5
expect_usage mutant_other_scheme "--mutant=fork_shares_pinned breaks bias and nothing else; leave --scheme out" "$mut" --mutant=fork_shares_pinned --scheme=pincount
expect_usage empty_scheme_value "empty value in --scheme list 'bias,,pincount'" "$bin" --scheme=bias,,pincount
expect_usage stray_argument "unexpected argument 'extra'" "$bin" extra

echo "$pass passed, $fail failed, 0 skipped"
[ $fail -eq 0 ]
