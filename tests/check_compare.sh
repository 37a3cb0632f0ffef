#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# plot/gupbench-compare: the significance verdicts on known samples (a
# clear difference is significant, identical samples are not, 3 launches a
# side are too few to say), the 72-column text table, markdown and csv,
# configurations on one side only, --schemes pairing, the note on runs
# of different gupbench versions, and bad input (exit
# 2, one line on stderr). Synthetic results in a temporary folder.
. "$(dirname "$0")/plotlib.sh"
cmp=plot/gupbench-compare
need scipy

# The statistics on known inputs: one ok/FAIL line per case.
$tools stats >"$tmp/stats" 2>&1
grep -E '^(ok|FAIL) ' "$tmp/stats"
p=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p' "$tmp/stats")
f=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p' "$tmp/stats")
if [ -z "$p" ]; then
	bad stats "no summary: $(tail -n 5 "$tmp/stats")"
else
	pass=$((pass + p)); fail=$((fail + f))
fi

# run NAME ARGS...: gupbench-compare, stdout to $tmp/NAME.out, stderr to
# $tmp/NAME.err, exit status in $rc
run() {
	local name=$1; shift
	$cmp "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
}

# has NAME FILE PATTERN: grep -E PATTERN in FILE or fail NAME
has() {
	if grep -qE -- "$3" "$2"; then ok "$1"; else
		bad "$1" "no /$3/ in: $(head -c 600 "$2")"; fi
}

# flat NAME FILE PATTERN: like has, on FILE with its lines joined
flat() {
	tr '\n' ' ' <"$2" | sed 's/ \\ / /g; s/  */ /g' >"$2.flat"
	has "$1" "$2.flat" "$3"
}

# A: 5 launches; B: the same, but pincount twice as slow; pin_ro only in
# A, get only in B. Long names test the 72 columns.
long="--schemes=bias,pincount_sameline,pincount --threads=1,2,64 --share=pool:64 --with=fork:1;fork:1,migrate:1 --pages=512"
$tools make "$tmp/A" $long --workloads=pin,pin_ro --launches=5 --seed=1 >/dev/null &&
$tools make "$tmp/B" $long --workloads=pin,get --launches=5 --seed=2 \
	--scale=pincount=2 >/dev/null || bad make_results "plottools make failed"

run ab "$tmp/A" "$tmp/B"
if [ $rc -ne 0 ]; then
	bad ab_runs "exit $rc: $(cat "$tmp/ab.err")"
else
	ok ab_runs
	if $tools check-text "$tmp/ab.out" >"$tmp/w" ; then ok ab_width_72; else
		bad ab_width_72 "$(cat "$tmp/w")"; fi
	# pincount 2x slower: significant at 5 vs 5; bias unchanged: not
	has ab_slower_significant "$tmp/ab.out" '^  .* t2 +[0-9.]+ +[0-9.]+ +\+(99|100|101)\.[0-9]% +[0-9]% +0\.0[0-9]+ +\*$'
	has ab_same_not_significant "$tmp/ab.out" '^  .* t2 +[0-9.]+ +[0-9.]+ +[-+][0-9]\.[0-9]% +[0-9]% +[0-9.]+ +~$'
	has ab_spread_header "$tmp/ab.out" '^configuration +A ns/op +B ns/op +change +spread +p +sig$'
	has ab_sections "$tmp/ab.out" '^pin/pincount_sameline$'
	has ab_only_in_a "$tmp/ab.out" '^only in A:'
	has ab_only_in_a_lists "$tmp/ab.out" '^  pin_ro/bias .*t64'
	has ab_only_in_b "$tmp/ab.out" '^only in B:'
	has ab_only_in_b_lists "$tmp/ab.out" '^  get/pincount .*t1'
	has ab_header_machine "$tmp/ab.out" '^A = .*testhost \(Test CPU\), Linux 6\.1\.0-test'
	flat ab_compare_py "$tmp/ab.out" "compare\.py --no-color benchmarks $tmp/A/summary\.json $tmp/B/summary\.json"
	has ab_counts "$tmp/ab.out" 'significantly slower in B'
	# every short label names its fields: the ones that never change are
	# said once in the header
	has ab_fixed_fields "$tmp/ab.out" '^Every row: place:compact\.'
	# a label too long for its column gets a line of its own
	grep -A1 -E '^  512p pool:64 \+fork:1\+migrate:1 t64$' "$tmp/ab.out" >"$tmp/ll"
	has ab_long_label "$tmp/ll" '^ {27} +[0-9.]+ +[0-9.]+ +[-+][0-9.]+% '
fi

# --fdr: the p column becomes Benjamini-Hochberg's q; a clear doubling
# stays a discovery, no change does not, and the note says what q is.
run fdr --fdr "$tmp/A" "$tmp/B"
has fdr_header "$tmp/fdr.out" '^configuration +A ns/op +B ns/op +change +spread +q +sig$'
has fdr_slower_significant "$tmp/fdr.out" '^  .* t2 +[0-9.]+ +[0-9.]+ +\+(99|100|101)\.[0-9]% +[0-9]% +0\.0[0-9]+ +\*$'
has fdr_same_not_significant "$tmp/fdr.out" '^  .* t2 +[0-9.]+ +[0-9.]+ +[-+][0-9]\.[0-9]% +[0-9]% +[0-9.]+ +~$'
flat fdr_note "$tmp/fdr.out" 'q is the Benjamini-Hochberg adjusted p over these [0-9]+ tests'
run fdr_csv --fdr --format=csv "$tmp/A" "$tmp/B"
$py -c 'import csv,sys
r=[x for x in csv.DictReader(open(sys.argv[1])) if x["q_value"]]
assert r and all(float(x["q_value"]) >= float(x["p_value"]) for x in r), r[:2]
assert any(float(x["q_value"]) > float(x["p_value"]) for x in r), "q is p"' "$tmp/fdr_csv.out" 2>"$tmp/w" &&
	ok fdr_csv_q_adjusts || bad fdr_csv_q_adjusts "$(cat "$tmp/w")"
# At alpha 0.01 a doubling over 5 vs 5 launches (p 0.008) is '*' on its
# own, but not a discovery among this table's tests (q about 0.03).
run alpha01 --alpha=0.01 "$tmp/A" "$tmp/B"
run fdr01 --fdr --alpha=0.01 "$tmp/A" "$tmp/B"
has fdr_alone_significant "$tmp/alpha01.out" '^  .* t2 +[0-9.]+ +[0-9.]+ +\+(99|100|101)\.[0-9]% +[0-9]% +0\.00[0-9] +\*$'
has fdr_not_a_discovery "$tmp/fdr01.out" '^  .* t2 +[0-9.]+ +[0-9.]+ +\+(99|100|101)\.[0-9]% +[0-9]% +0\.0[1-9][0-9] +~$'

# Too few launches: 3 a side cannot reach alpha 0.05.
$tools make "$tmp/A3" --launches=3 --seed=3 >/dev/null
$tools make "$tmp/B3" --launches=3 --seed=4 --scale=pincount=2 >/dev/null
run few "$tmp/A3" "$tmp/B3"
has few_marked "$tmp/few.out" '\+(99|100|101)\.[0-9]% +[0-9]% +0\.100 +\?$'
flat few_note "$tmp/few.out" "'\?': the smallest p the U test can give is 0\.100 with 3 vs 3 launches"
has few_needed "$tmp/few.out" 'REPS=4'
if grep -qE '^ .*%.* [*~]$' "$tmp/few.out"; then
	bad few_no_verdict "a verdict at 3 vs 3: $(grep -E '^ .*%.* [*~]$' "$tmp/few.out")"
else
	ok few_no_verdict
fi

# Two schemes of one run.
run schemes --schemes=bias,pincount "$tmp/B"
has schemes_header "$tmp/schemes.out" 'A = scheme bias, B = scheme pincount'
has schemes_significant "$tmp/schemes.out" '\+(99|100|101)\.[0-9]% +[0-9]% +0\.0[0-9]+ +\*$'
has schemes_section "$tmp/schemes.out" '^get$'
flat schemes_compare_py "$tmp/schemes.out" "filters $tmp/B/summary\.json /bias/ /pincount/"
$tools check-text "$tmp/schemes.out" >"$tmp/w" && ok schemes_width_72 ||
	bad schemes_width_72 "$(cat "$tmp/w")"
$tools make "$tmp/S" --schemes=bias,pincount --drop=pincount/pages:1/share:same/place:compact/threads:2 >/dev/null
run schemes_only --schemes=bias,pincount "$tmp/S"
has schemes_only_in_a "$tmp/schemes_only.out" '^only in A:'
run schemes_unknown --schemes=bias,nosuch "$tmp/S"
[ $rc -eq 2 ] && has schemes_unknown "$tmp/schemes_unknown.err" "no scheme 'nosuch'" ||
	bad schemes_unknown "exit $rc"

# Markdown and csv.
run md --format=markdown "$tmp/A" "$tmp/B"
$tools check-md "$tmp/md.out" >"$tmp/w" && ok markdown_table || bad markdown_table "$(cat "$tmp/w")"
has markdown_only "$tmp/md.out" '^- `get/pincount/'
run csv --format=csv "$tmp/A" "$tmp/B"
$tools check-csv "$tmp/csv.out" significant "not significant" "only in A" "only in B" >"$tmp/w" &&
	ok csv_parses || bad csv_parses "$(cat "$tmp/w")"
run csv3 --format=csv "$tmp/A3" "$tmp/B3"
$tools check-csv "$tmp/csv3.out" "no verdict" >"$tmp/w" && ok csv_too_few ||
	bad csv_too_few "$(cat "$tmp/w")"

# --filter
run filter --filter='^pin/pincount/' "$tmp/A" "$tmp/B"
if grep -q '^pin/bias' "$tmp/filter.out" || ! grep -q '^pin/pincount$' "$tmp/filter.out"; then
	bad filter "$(head -20 "$tmp/filter.out")"
else
	ok filter
fi

# A folder with launch-*.json only is merged in memory.
$tools make "$tmp/L" --launches=2 --no-summary >/dev/null
run launches_only "$tmp/L" "$tmp/L"
[ $rc -eq 0 ] && flat launches_only "$tmp/launches_only.out" 'merged [0-9]+ launch-\*\.json in memory' ||
	bad launches_only "exit $rc: $(cat "$tmp/launches_only.err")"

# Pinners waiting for a CPU for much of the window: the table says which
# side and how bad; pinners asleep (mmap_lock behind fork) are the
# model's and say nothing; results without runq_pct fall back on
# offcpu_pct and say they cannot tell the two apart.
$tools make "$tmp/O" --launches=3 --seed=5 --runq=pincount=40 >/dev/null &&
$tools make "$tmp/S40" --launches=3 --seed=6 --offcpu=pincount=40 >/dev/null &&
$tools make "$tmp/N40" --launches=3 --seed=7 --offcpu=pincount=40 --no-runq >/dev/null ||
	bad make_offcpu "plottools make failed"
run offcpu "$tmp/A3" "$tmp/O"
[ $rc -eq 0 ] && flat offcpu "$tmp/offcpu.out" 'note: B: 3 configurations have pinners waiting for a CPU for more than 10% of the window in a launch or more \(runq_pct; worst 40%, [a-z]+/pincount/' ||
	bad offcpu "exit $rc: $(cat "$tmp/offcpu.err")"
run asleep "$tmp/A3" "$tmp/S40"
[ $rc -eq 0 ] && ! grep -q 'CPU for more than' "$tmp/asleep.out" && ok asleep ||
	bad asleep "exit $rc, or a note for pinners asleep"
run no_runq "$tmp/A3" "$tmp/N40"
[ $rc -eq 0 ] && flat no_runq "$tmp/no_runq.out" 'B: 3 configurations have pinners off CPU \(waiting for a CPU or asleep: these results have no runq_pct' ||
	bad no_runq "exit $rc: $(cat "$tmp/no_runq.err")"
grep -q 'CPU for more than' "$tmp/ab.out" && bad offcpu_quiet "note on a quiet run" ||
	ok offcpu_quiet

# Pinners whose PUs the hypervisor took (steal_pct): a note of its own,
# whatever runq_pct says; none on a run without steal.
$tools make "$tmp/ST" --launches=3 --seed=8 --steal=bias=30 >/dev/null 2>&1 ||
	bad make_steal "plottools make failed"
run steal "$tmp/ST" "$tmp/A3"
[ $rc -eq 0 ] && flat steal "$tmp/steal.out" 'note: A: [0-9]+ configurations? ha(s|ve) pinners on PUs the hypervisor took for more than 10% of the window in a launch or more \(steal_pct; worst 30%, [a-z_]+/bias/' ||
	bad steal "exit $rc: $(cat "$tmp/steal.err")"
grep -q 'B: .*hypervisor' "$tmp/steal.out.flat" || grep -q hypervisor "$tmp/ab.out" &&
	bad steal_quiet "a steal note on a side without steal" || ok steal_quiet

# Such rows carry '!' after their verdict, with a note; others do not.
has steal_flag_row "$tmp/steal.out" '^  .* +[0-9]+% +[0-9.]+ +\?!$'
flat steal_flag_note "$tmp/steal.out" "'!': [0-9]+ configurations? ha(s|ve) a launch whose pinners waited for a CPU \(runq_pct\) or ran on PUs the hypervisor took"
grep -qE '!$' "$tmp/ab.out" && bad steal_flag_quiet "a '!' on a quiet run" ||
	ok steal_flag_quiet

# A change the test sees but smaller than --min-change (1%) is '=', not
# '*'; with --min-change=0 it is '*'. The counts say which is which.
$tools make "$tmp/T1" --launches=5 --seed=10 --noise=0.0001 >/dev/null &&
$tools make "$tmp/T2" --launches=5 --seed=11 --noise=0.0001 --scale=pincount=1.005 >/dev/null ||
	bad make_tight "plottools make failed"
run small "$tmp/T1" "$tmp/T2"
has small_marked "$tmp/small.out" '^  .* +\+0\.5% +[0-9]% +0\.0[0-9]+ +=$'
flat small_counts "$tmp/small.out" '0 significantly slower in B, 0 significantly faster, [0-9]+ significant but under 1%'
run small0 --min-change=0 "$tmp/T1" "$tmp/T2"
has small_sig_at_0 "$tmp/small0.out" '^  .* +\+0\.5% +[0-9]% +0\.0[0-9]+ +\*$'
run small_bad --min-change=-1 "$tmp/T1" "$tmp/T2"
[ $rc -eq 2 ] && ok min_change_bad || bad min_change_bad "exit $rc"

# Too few launches on one side (2 vs 5): the note says so, and does not
# advise an --alpha that could not help.
$tools make "$tmp/A2" --launches=2 --seed=12 >/dev/null
run two_v_five "$tmp/A2" "$tmp/A"
flat few_launches_note "$tmp/two_v_five.out" "'\?': fewer than 3 launches on a side \(2 vs 5, A vs B\)"
grep -q -- '--alpha=' "$tmp/two_v_five.out.flat" &&
	bad few_launches_no_alpha "advises --alpha" || ok few_launches_no_alpha

# A configuration whose every launch failed on one side is listed as
# failed there, with its error, not as missing; its error rows are one
# note per message.
$tools make "$tmp/EF" --launches=3 --seed=13 --scale=pincount=2 \
	--error=pincount/pages:1/share:same/place:compact/threads:2 \
	--error-msg="no PU left" >/dev/null
run failed_b "$tmp/A3" "$tmp/EF"
has failed_in_b "$tmp/failed_b.out" '^failed in B \(every launch; ran on the other side\):$'
has failed_in_b_row "$tmp/failed_b.out" '^  pin/pincount t2: no PU left$'
grep -q '^only in A' "$tmp/failed_b.out" && bad failed_not_only "listed as only in A" ||
	ok failed_not_only
flat failed_grouped "$tmp/failed_b.out" 'note: 3 error rows \(1 configuration\) in [^ ]*EF[^ ]*: error: no PU left \(first: pin/pincount/'
run failed_csv --format=csv "$tmp/A3" "$tmp/EF"
$tools check-csv "$tmp/failed_csv.out" "failed in B" >"$tmp/w" && ok failed_csv ||
	bad failed_csv "$(cat "$tmp/w")"

# Two machines (or one host) at different speeds: the reference atomic
# says so; none where they match.
$tools make "$tmp/RF" --launches=3 --seed=9 --ref=2.6 >/dev/null 2>&1 ||
	bad make_ref "plottools make failed"
run ref "$tmp/A3" "$tmp/RF"
[ $rc -eq 0 ] && flat ref "$tmp/ref.out" 'an uncontended atomic cost 2.00 ns on A.s machine and 2.60 ns on B.s \(ref_atomic_ns' ||
	bad ref "exit $rc: $(cat "$tmp/ref.err")"
grep -q 'uncontended atomic' "$tmp/ab.out" && bad ref_quiet "a speed note on one machine" ||
	ok ref_quiet

# Runs with a different writeback setting: said when a compared row has a
# mkclean competitor (the setting changes what it measures), not otherwise;
# a different --mem always.
$tools make "$tmp/W1" --launches=2 --with="mkclean:1" --context="writeback=mkclean: 0 us" >/dev/null &&
$tools make "$tmp/W2" --launches=2 --with="mkclean:1" --context="writeback=mkclean: 20 us" >/dev/null &&
$tools make "$tmp/W3" --launches=2 --context="writeback=mkclean: 20 us" --context="mem_policy=remote" >/dev/null ||
	bad make_settings "plottools make failed"
run writeback_differs "$tmp/W1" "$tmp/W2"
[ $rc -eq 0 ] && flat writeback_differs "$tmp/writeback_differs.out" "A and B ran with a different writeback \(--writeback-us, --stable-writes\): A 'mkclean: 0 us', B 'mkclean: 20 us'" ||
	bad writeback_differs "exit $rc: $(cat "$tmp/writeback_differs.err")"
run settings_nomkclean "$tmp/A3" "$tmp/W3"
[ $rc -eq 0 ] && ! grep -q 'different writeback' "$tmp/settings_nomkclean.out" &&
	flat settings_nomkclean "$tmp/settings_nomkclean.out" "A and B ran with a different memory placement of the struct pages \(--mem\): A 'local', B 'remote'" ||
	bad settings_nomkclean "exit $rc, or a writeback note without mkclean rows: $(cat "$tmp/settings_nomkclean.out" | tail -5)"

# Runs by different gupbench versions: the table says so (the model may
# have changed between them) and names the git range; same version: not.
$tools make "$tmp/V1" --launches=2 --version=6607eb0 >/dev/null &&
$tools make "$tmp/V2" --launches=2 --version=b6c7963-dirty >/dev/null ||
	bad make_versions "plottools make failed"
run versions "$tmp/V1" "$tmp/V2"
[ $rc -eq 0 ] && flat versions "$tmp/versions.out" 'different gupbench versions \(6607eb0 and b6c7963-dirty\).*git log 6607eb0\.\.b6c7963 -- schemes/' ||
	bad versions "exit $rc: $(cat "$tmp/versions.err")"
if grep -q 'different gupbench versions' "$tmp/ab.out"; then
	bad same_version "version note on two runs of one version"
else
	ok same_version
fi

# Bad input: exit 2 and exactly one line on stderr.
bad_inputs $cmp {} "$tmp/A"
run usage "$tmp/A"
[ $rc -eq 2 ] && ok usage_one_run || bad usage_one_run "exit $rc"

summary
