#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark engine (bench/run.c) under AddressSanitizer and
# UndefinedBehaviorSanitizer (build/san/gupbench): every workload, page
# count, share mode and competitor runs a short window, exits 0 with no
# sanitizer report and no error row (a leaked page, a WARN of the model
# or a lost page-lock wake-up is one), and each competitor's rate shows
# that it ran. Short windows on an oversubscribed machine: rates are
# only checked to be above zero.
. "$(dirname "$0")/checklib.sh"
bin=build/san/gupbench
py=/usr/bin/python3
[ -x $py ] || py=python3
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ ! -x "$bin" ]; then
	echo "SKIP check_engine: no $bin (make build/san/gupbench)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

# run NAME CHECK ARGS...: gupbench ARGS (short window, JSON) exits 0
# with a clean stderr; CHECK is a python expression over every row b
# (and the list rows) that must hold; ran(KEY...) says a competitor's
# rates are above zero; placement() is the row's "placement NAME" context
# value, one_node whether the context's topology has one NUMA node
run() {
	local name=$1 check=$2; shift 2
	"$bin" --events=none --duration=0.03 --warmup=0.01 --oversubscribe \
		--benchmark_format=json "$@" >"$tmp/$name.json" \
		2>"$tmp/$name.err"
	local rc=$?
	if [ $rc -ne 0 ]; then
		bad "$name" "exit $rc: $(grep -m3 -E 'error|ERROR|runtime' "$tmp/$name.err")"
	elif grep -qE 'Sanitizer|runtime error|WARN_ON|warning: .*(leak|lost|not returned)' "$tmp/$name.err"; then
		bad "$name" "$(grep -m3 -E 'Sanitizer|runtime error|WARN_ON|warning' "$tmp/$name.err")"
	elif ! out=$($py -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows, ctx = d["benchmarks"], d["context"]
assert rows, "no rows"
one_node = " 1 NUMA node," in ctx["topology"]
def placement():
    return ctx["placement " + b["name"]]
def rate(r, keys):
    return sum(r[k] for k in keys)
def ran(*keys):
    # a competitor descheduled through a short window (busy machine:
    # overlap_pct low) may not run in it; then some other row must show it
    return rate(b, keys) > 0 or (b["overlap_pct"] < 50 and
                                 any(rate(r, keys) > 0 for r in rows))
for b in rows:
    assert not b.get("error_occurred"), b["name"] + ": " + b.get("error_message", "")
    assert b["ops"] > 0, b["name"] + ": no ops"
    assert eval(sys.argv[2]), b["name"] + ": " + sys.argv[2] + ": " + str(
        {k: v for k, v in b.items() if k.endswith(("_per_s", "_pct", "splits"))})
print(len(rows))' "$tmp/$name.json" "$check" 2>&1); then
		bad "$name" "$(echo "$out" | tail -1)"
	else
		ok "$name ($out rows)"
	fi
}

real=bias,bias1,pincount,pincount_sameline,pagelock,anonexcl
dev=devmap_walk,devmap_single,devmap_perget
run workloads 'True' --scheme=all --workload=pin,pin_ro,pin_dirty,get,raw,c2c \
	--threads=1,2
run pages_shares 'True' --scheme=$real,$dev,get --pages=16,512 \
	--share=same,private,pool:1024 --threads=2
# no competitor: every pinned address stays PMD-mapped, nothing splits
run thp_rows 'b["pmd_mapped_pct"] == 100 and b["thp_splits"] == 0' \
	--scheme=$real --pages=512 --threads=1
run with_getput 'ran("getput_per_s")' --scheme=$real,$dev --with=getput:1
run with_query 'ran("query_per_s") and 0 <= b["query_pinned_pct"] <= 100' \
	--scheme=$real,$dev --with=query:2
run with_mkclean 'ran("mkclean_per_s") and 0 <= b.get("sampled_slowpath_pct", 0) <= 100' --scheme=$real,$dev \
	--pages=1,16 --with=mkclean:1 --workload=pin,pin_dirty
# writebacks in flight (pagelock's pinners sleep on them, stable-page write
# faults too): every one ended, no page left under writeback or leaked
run with_writeback 'ran("mkclean_per_s") and "20 us of I/O" in ctx["writeback"] and "wait for writeback (stable" in ctx["writeback"]' \
	--scheme=$real,$dev --pages=1,16 --with=mkclean:1 --writeback-us=20 \
	--stable-writes --threads=1,2
run with_fork 'ran("forks_per_s")' --scheme=$real,$dev --with=fork:1 \
	--workload=pin,pin_ro
# a fork that finds the THP pinned splits it (test_schemes checks that);
# whether one does in a short window is chance
run fork_thp 'ran("forks_per_s") and 0 <= b["pmd_mapped_pct"] <= 100' \
	--scheme=$real --pages=512 --with=fork:1
run with_migrate 'ran("migrate_ok_per_s", "migrate_fail_per_s")' \
	--scheme=$real,$dev --with=migrate:1 --share=same,private
# one pinned page leaves gaps for collapses, 16 seldom do; in a row's
# short window the pinner can hold the page at nearly every scan (one
# collapse in 0.1 s in about one run in eight here under ASan, none in
# one CI run), so successes and splits are asserted over all the rows
run with_collapse '(ran("collapse_ok_per_s", "collapse_fail_per_s") and
    sum(r["collapse_ok_per_s"] for r in rows) > 0 and
    sum(r["thp_splits"] for r in rows) > 0)' \
	--scheme=$real,get --with=collapse:1 --workload=pin,get --duration=0.1
run collapse_16 'ran("collapse_ok_per_s", "collapse_fail_per_s")' \
	--scheme=$real --pages=16,512 --share=same,private --with=collapse:1
run with_all 'True' --scheme=$real --pages=1,512 \
	--with=getput:1,query:1,fork:1,migrate:1,collapse:1
# the placement context says "degraded" only where the plan is: not for
# interleave (on one node the same as local), local or node:0
nodeg='"degraded" not in placement()'
run placements "$nodeg" --scheme=bias --threads=2 \
	--placement=compact,scatter,numa,list:1,0 --mem=interleave
# on one node remote degrades to local, and the context says so
run mem_policies '("(degraded: no other NUMA node with memory: remote is local)"
    in placement()) if one_node else "degraded" not in placement()' \
	--scheme=bias --mem=remote
run mem_local "$nodeg" --scheme=bias --mem=local
run mem_node "$nodeg" --scheme=bias --mem=node:0

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
