#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The gupbench command line: bad input exits 2 naming the bad token (and
# the valid names), --plan output, the JSON output contract on a short
# real run (names, fields, counters, context, the no-PMU path), and a
# sweep cut short by SIGINT keeping valid, partial results.
. "$(dirname "$0")/checklib.sh"
bin=build/gupbench
py=/usr/bin/python3
[ -x $py ] || py=python3

# expect_usage NAME PATTERN ARGS...: gupbench ARGS exits 2, stderr ~ PATTERN
expect_usage() {
	local name=$1 pat=$2; shift 2
	expect_exit2 "$name" "$pat" "$bin" "$@"
}

# Bad input: each table row names what it guards.
expect_usage unknown_scheme "error: unknown scheme 'nope'" --scheme=nope
grep -qE "^valid schemes: (.* )?bias .* pincount_sameline( |$)" "$tmp/err" &&
	ok unknown_scheme_lists || bad unknown_scheme_lists "no list"
expect_usage unknown_workload "unknown workload 'pinn'" --workload=pinn
expect_usage unknown_placement "unknown placement 'diagonal' \(valid: .*compact" --placement=diagonal --plan
expect_usage bad_list_token "bad --threads value 'x'" --threads=1,x
expect_usage bad_pages "bad --pages value '0'" --pages=0
expect_usage bad_share "bad pool size ''" --share=pool:
expect_usage unknown_share "unknown share mode 'shared'" --share=shared
expect_usage bad_duration "bad --duration '-1'" --duration=-1
expect_usage unknown_competitor "unknown competitor 'forks'" --with=forks:1
expect_usage unknown_event "unknown event 'bogus_event'" --events=bogus_event
nt=$(( $(nproc --all) + 1 ))
expect_usage too_many_threads "pin/bias/pages:1/share:same/place:compact/threads:$nt: .*only [0-9]+ PUs.*--oversubscribe" --threads=$nt --events=none
expect_usage empty_list_value "empty value in --scheme list 'bias,,get'" --scheme=bias,,get --plan
expect_usage trailing_comma "empty value in --pages list '1,'" --pages=1, --plan
expect_usage empty_event "empty value in --events list ',cycles'" --events=,cycles
expect_usage threads_over_slots "2400 threads.*at most 2047" --plan --threads=max --topology=synthetic:"pack:4 core:300 pu:2"
expect_usage missing_topology "cannot read topology file" --plan --topology=/nonexistent.xml
expect_usage mkclean_thp "mkclean of a PMD-mapped THP is not modelled" --pages=512 --with=mkclean:1 --plan
expect_usage writeback_negative "bad --writeback-us '-1' \(microseconds, 0 <= US <= 100000\)" --writeback-us=-1 --with=mkclean:1 --plan
expect_usage writeback_word "bad --writeback-us '20us'" --writeback-us=20us --with=mkclean:1 --plan
expect_usage writeback_huge "bad --writeback-us '200000'" --writeback-us=200000 --with=mkclean:1 --plan
# an I/O time with no mkclean row would do nothing: it says so, and runs
if "$bin" --writeback-us=5 --plan >/dev/null 2>"$tmp/wbnote.err" &&
	grep -q "note: --writeback-us and --stable-writes apply to rows with a mkclean competitor" "$tmp/wbnote.err"; then
	ok writeback_without_mkclean
else
	bad writeback_without_mkclean "$(head -2 "$tmp/wbnote.err")"
fi
expect_usage collapse_devmap "with:collapse:1/.*collapse needs a private writable anon mapping; it would always fail on ZONE_DEVICE pages" --scheme=devmap_walk --with=collapse:1 --plan
expect_usage collapse_mkclean "always fail on mkclean's shared mapping" --with=mkclean:1,collapse:1 --plan
expect_usage collapse_pin_ro "always fail on pin_ro's read-only PTEs" --workload=pin_ro --with=collapse:1 --plan
expect_usage unknown_option "unknown option '--frobnicate' \(gupbench --help lists them\)" --frobnicate
expect_usage value_for_flag "\-\-plan takes no value" --plan=1
expect_usage missing_value "\-\-duration needs a value \(--duration=VALUE\)" --plan --duration
expect_usage swallowed_option "\-\-scheme needs a value; '--duration=0.01' is the next option" --plan --scheme --duration=0.01
expect_usage min_time_no_effect "--benchmark_min_time has no effect on gupbench.*use --duration" --benchmark_min_time=5 --plan
expect_usage plan_checks_events "unknown event 'bogus'" --plan --events=bogus
expect_usage duplicate_event "event 'task-clock' is listed twice" --events=task-clock,task-clock --plan
expect_usage competitors_over_64 "more than 64 fork competitors in --with 'fork:64,fork:1'" --with=fork:64,fork:1 --plan
expect_usage pool_below_pages "share:pool:4/.*a pool of 4 pages is smaller than one call's 16 pages" --share=pool:4 --pages=16 --plan
expect_usage short_duration "bad --duration '0.0001' \(seconds, 0.001 <= SEC" --duration=0.0001 --plan
expect_usage raw_nothing_to_run "error: nothing to run" --workload=raw --pages=16 --plan
grep -q "note: raw grabs one page.*: 1 raw configuration with --pages other" \
	"$tmp/err" && ok raw_skipped_note || bad raw_skipped_note "no note"
expect_usage with_on_raw "--with does not apply to the raw workload" --workload=raw --with=fork:1 --plan
expect_usage no_pu_left "no PU left for pinners after fork:[0-9]+ competitors" --threads=max --with=fork:$(nproc --all) --plan
expect_usage bad_mem "unknown memory placement 'bogus' \(valid: local" --mem=bogus --plan
expect_usage bad_competitor_count "bad competitor count '65'" --with=fork:65 --plan
expect_usage bad_pages_4097 "bad --pages value '4097'" --pages=4097 --plan
expect_usage bad_filter_regex "--benchmark_filter='\(': " --benchmark_filter='(' --duration=0.01 --events=none
expect_usage filter_matches_nothing "--benchmark_filter='nosuch' matches no benchmark" --benchmark_filter=nosuch --duration=0.01 --events=none
expect_usage bad_out_file "--benchmark_out=/nonexistent/x.json: No such file" --benchmark_out=/nonexistent/x.json --duration=0.01 --events=none
expect_usage bad_benchmark_flag "benchmark_foo" --benchmark_foo=1
expect_usage other_machine_needs_plan "use it with --plan" --topology=synthetic:"pack:2 core:2 pu:1"

# A list that names one configuration twice (2 and max on 2 PUs) runs it once.
n=$("$bin" --plan --topology=synthetic:"pack:1 core:2 pu:1" --threads=2,max \
	2>&1 | grep -c '^pin/')
[ "$n" = 1 ] && ok duplicate_config_once || bad duplicate_config_once "$n plans"

# A long list: placement keeps every CPU (its name too) up to 255
# characters and refuses a longer one before anything runs.
big=synthetic:"pack:2 [numa] l3:2 core:16 pu:2"
cpus=$(seq -s, 100 115)
if "$bin" --plan --topology="$big" --threads=16 --placement=list:$cpus \
	>"$tmp/plan" 2>&1 && grep -q "/place:list:$cpus/threads:16\$" "$tmp/plan" &&
	grep -q '^thread 15: pu 115 ' "$tmp/plan"; then
	ok plan_long_cpu_list
else
	bad plan_long_cpu_list "$(head -3 "$tmp/plan")"
fi
expect_usage placement_too_long "--placement value 'list:0,1,2,.*' is longer than 255 characters" \
	--plan --topology="$big" --placement=compact,list:$(seq -s, 0 127)
[ ! -s "$tmp/out" ] && ok placement_too_long_first ||
	bad placement_too_long_first "planned before the error: $(head -1 "$tmp/out")"
# A command line longer than the context's copy of it is cut, not a
# crash (under ASan where that tree is built: it sees a few bytes over).
san=build/san/gupbench
[ -x "$san" ] || san=$bin
expect_exit2 long_command_line "bad --pages value" "$san" \
	--pages="$(printf '1%.0s' $(seq 20000))" --plan --threads=1 --scheme=bias

# Each pinner opens a perf file per event: gupbench takes the hard limit
# on open files, and when even that is short the warning says why.
sw=context-switches,task-clock,page-faults,cpu-migrations
fd_run() {	# SOFT HARD -> perf_failed_threads of 20 pinners, 4 events
	(ulimit -Sn "$1" && ulimit -Hn "$2" &&
	 "$bin" --threads=20 --oversubscribe --events=$sw --duration=0.02 \
		--warmup=0.01 --benchmark_format=json 2>"$tmp/fd.err") |
		$py -c 'import json,sys; print(int(json.load(sys.stdin)["benchmarks"][0]["perf_failed_threads"]))'
}
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 256 ]; then
	n=$(fd_run 64 "$hard")
	[ "$n" = 0 ] && ok perf_fd_limit_raised ||
		bad perf_fd_limit_raised "perf_failed_threads '$n': $(cat "$tmp/fd.err")"
else
	skipped perf_fd_limit_raised "hard limit on open files is $hard"
fi
n=$(fd_run 64 64)
[ "${n:-0}" -gt 0 ] && grep -q "perf counters failed on $n of 20 pinner threads (the first: Too many open files)" "$tmp/fd.err" &&
	ok perf_fd_limit_reason || bad perf_fd_limit_reason "'$n': $(cat "$tmp/fd.err")"

# --plan on a synthetic 2-package machine: scatter alternates packages.
if "$bin" --plan --topology=synthetic:"pack:2 [numa] l3:2 core:4 pu:2" \
	--placement=scatter --threads=2 >"$tmp/plan" 2>&1 &&
	grep -q '^thread 0: .* package 0 role pin$' "$tmp/plan" &&
	grep -q '^thread 1: .* package 1 role pin$' "$tmp/plan" &&
	grep -q '^memory: struct pages on node' "$tmp/plan"; then
	ok plan_scatter
else
	bad plan_scatter "$(cat "$tmp/plan")"
fi

# The JSON contract on a real (short) run with the default events: on a
# machine without a PMU this is the no-PMU path.
if "$bin" --scheme=bias --workload=pin,raw --threads=1 --with=none \
	--duration=0.05 --warmup=0.01 --benchmark_format=json \
	--benchmark_out="$tmp/run.json" >/dev/null 2>"$tmp/err"; then
	if $py - "$tmp/run.json" <<'PYEOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
ctx = d["context"]
for k in ("gupbench_version", "command_line", "time_semantics", "kernel",
          "cpu_model", "topology", "pmu", "unsupported_events", "mem_policy",
          "tsc_hz", "tsc_step_ns", "latency_method", "vmstat_threshold",
          "writeback", "tsc_invariant"):
    assert k in ctx, k
assert ctx["tsc_invariant"] in ("yes", "no", "no TSC (clock reads)",
    "constant rate (constant_tsc), not said to run on in deep C-states"), ctx
hz, step = float(ctx["tsc_hz"]), float(ctx["tsc_step_ns"])
assert 1 <= int(ctx["vmstat_threshold"].split()[0]) <= 125, ctx["vmstat_threshold"]
assert 1e8 < hz < 1e11 and 1e9 / hz * 0.99 <= step < 1000, (hz, step)
assert any(k.startswith("placement pin/bias/") for k in ctx)
names = [b["name"] for b in d["benchmarks"]]
assert names == ["pin/bias/pages:1/share:same/place:compact/threads:1",
                 "raw/bias/pages:1/share:same/place:compact/threads:1"], names
for b in d["benchmarks"]:
    assert b["time_unit"] == "ns" and b["threads"] == 1
    assert b["iterations"] == b["ops"] > 0
    assert 0 < b["real_time"] < 1e6 and 0 < b["cpu_time"] < 1e6
    for c in ("ops_per_s", "pages_per_s", "slowpath_pct", "retries_per_op",
              "fairness_cov", "overlap_pct", "p50_ns", "p99_ns", "tsc_per_op",
              "fail_pct", "offcpu_pct", "perf_failed_threads",
              "perf_multiplexed_threads", "bind_failed_threads",
              "membind_failed"):
        assert c in b, c
    assert b["overlap_pct"] > 50
    # what timing one op costs beside it: the fenced reads and a call
    assert 0 < b["timing_overhead_ns"] < 1e4, b
    assert 0 <= b["p50_ns"] <= b["p99_ns"], b
    assert 0 <= b["offcpu_pct"] <= 100
    if os.path.exists("/proc/thread-self/schedstat"):
        assert 0 <= b["runq_pct"] <= b["offcpu_pct"], b
    assert 0 <= b["steal_pct"] <= 100, b   # /proc/stat has steal since 2.6.11
    assert 0 < b["ref_atomic_ns"] < 1000, b  # the machine's speed, per row
    assert b["fail_pct"] == 0          # one bias pinner: every grab works
    # the timed ops' slow-path share: pin rows only (raw has no slow path)
    assert ("sampled_slowpath_pct" in b) == b["name"].startswith("pin/"), b
    if b["name"].startswith("pin/"):
        assert b["sampled_slowpath_pct"] == 0, b   # nothing beside it
    if "not available" in ctx["pmu"]:   # no PMU: software events only
        assert "context-switches" in b and "cycles" not in b
        assert "cycles" in ctx["unsupported_events"]
PYEOF
	then ok json_contract; else bad json_contract "see above"; fi
else
	bad json_contract "run failed: $(tail -3 "$tmp/err")"
fi

# raw counts a failed grab in fail_pct and leaves it out of pages_per_s:
# two pagelock pinners' trylocks on one page fail while the other holds it
# (about 30% of grabs here, some even at 30% overlap). Up to 3 runs, as a
# busy machine can keep a pinner off its CPU; they stop at one with failed
# grabs and 90% overlap. No failed grab in any fails the check if one run
# overlapped by half, else it skips. pages_per_s is below ops_per_s when
# grabs failed, and within 5% of ops_per_s less fail_pct at 90% overlap
# (unequal windows weigh the threads' rates unequally).
passed="" overlapped="" overlaps=""
for _ in 1 2 3; do
	if ! "$bin" --scheme=pagelock --workload=raw --threads=2 --events=none \
		--duration=0.2 --warmup=0.01 --benchmark_format=json \
		>"$tmp/rawfail.json" 2>/dev/null; then
		res="bad run failed"
		break
	fi
	res=$($py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]
ops, pages, fail, ov = (b[k] for k in ("ops_per_s", "pages_per_s", "fail_pct", "overlap_pct"))
good = ops * (1 - fail / 100)  # pages_per_s: grabs that worked
print("bad fail_pct %r" % fail if not 0 <= fail < 100 else
      "bad pages_per_s %r, ops_per_s %r, fail_pct %r" % (pages, ops, fail)
      if not 0 < pages <= ops or (fail > 0 and pages >= ops) or
      (ov >= 90 and abs(pages - good) > 0.05 * ops) else
      "%s %d" % ("ok" if fail > 0 else "none" if ov >= 50 else "skip", ov))' \
		"$tmp/rawfail.json" 2>&1)
	case $res in
	ok\ *) passed=1 ;;
	none\ *) overlapped=1 ;;
	skip\ *) ;;
	*) break ;;
	esac
	overlaps="$overlaps ${res#* }%"
	[ -n "$passed" ] && [ "${res#* }" -ge 90 ] && break
done
case $res in
ok\ *|none\ *|skip\ *)
	if [ -n "$passed" ]; then
		ok raw_fail_pct
	elif [ -n "$overlapped" ]; then
		bad raw_fail_pct "fail_pct 0 in 3 runs, overlap_pct$overlaps"
	else
		skipped raw_fail_pct "overlap_pct under 50 in 3 runs:$overlaps"
	fi ;;
*) bad raw_fail_pct "${res#bad }" ;;
esac

# A configuration that fails (here: no memory for a pool's address list
# under a 300 MB address-space limit) is an error row with its reason
# beside the rows that ran, and the exit status is 1.
( ulimit -v 300000; "$bin" --scheme=bias --share=same,pool:1048576 \
	--threads=1 --events=none --duration=0.05 --warmup=0.01 \
	--benchmark_format=json >"$tmp/errrow.json" 2>"$tmp/errrow.err" )
rc=$?
if [ $rc -eq 1 ] && grep -q "1 run ended in an error row" "$tmp/errrow.err" &&
	$py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"]
assert not b[0].get("error_occurred") and b[0]["ops"] > 0, b[0]
assert b[1]["error_occurred"] and b[1]["error_message"], b[1]  # which allocation fails first varies
assert b[1]["threads"] == 1, b[1]' "$tmp/errrow.json"; then
	ok error_row_exit_1
else
	bad error_row_exit_1 "rc $rc: $(tail -2 "$tmp/errrow.err")"
fi

# share:private gives each pinner its own VMA: more pinners than the old
# 8-entry VMA table (an error row on any machine with 9+ PUs) run.
if "$bin" --scheme=bias --share=private --threads=12 --oversubscribe \
	--events=none --duration=0.05 --warmup=0.01 --benchmark_format=json \
	>"$tmp/priv.json" 2>"$tmp/priv.err" &&
	$py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]
assert not b.get("error_occurred") and b["threads"] == 12 and b["ops"] > 0, b' \
	"$tmp/priv.json"; then
	ok private_many_threads
else
	bad private_many_threads "$(tail -2 "$tmp/priv.err")"
fi

# Latency samples come ~100 us of ops apart per pinner (jittered): about 2000
# in a 0.2 s window of one thread, not one per batch (tens of thousands).
if "$bin" --scheme=bias --threads=1 --events=none --duration=0.2 \
	--warmup=0.01 --benchmark_format=json >"$tmp/samples.json" 2>/dev/null &&
	res=$($py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]
print(b["latency_samples"])' "$tmp/samples.json") &&
	$py -c 'import sys; n=float(sys.argv[1]); sys.exit(not 600 < n < 4000)' "$res"; then
	ok latency_sample_rate
else
	bad latency_sample_rate "latency_samples ${res:-missing}"
fi

# A pinner whose perf counters cannot open (no file descriptors left)
# is named in a warning and left out of the per-op events, which are over
# the other pinners' ops. At most 5 of 8 threads get a descriptor under
# a limit of 8, whatever the process had open before.
if "$bin" --scheme=bias --threads=1 --events=context-switches \
	--duration=0.02 --warmup=0.01 --benchmark_format=json 2>/dev/null |
	grep -q '"context-switches"'; then
	if (ulimit -n 8; "$bin" --scheme=bias --threads=8 --oversubscribe \
		--events=context-switches --duration=0.05 --warmup=0.01 \
		--benchmark_format=json >"$tmp/nofd.json" 2>"$tmp/nofd.err") &&
		grep -qE 'perf counters failed on [3-8] of 8 pinner threads' "$tmp/nofd.err" &&
		$py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; assert b["ops"] > 0 and 3 <= b["perf_failed_threads"] <= 8' "$tmp/nofd.json"; then
		ok perf_counters_missing
	else
		bad perf_counters_missing "$(cat "$tmp/nofd.err")"
	fi
else
	skipped perf_counters_missing "no perf software events here"
fi

# Competitor rates appear when competitors ran.
if "$bin" --scheme=bias --threads=1 --with=fork:1 --oversubscribe \
	--events=none --duration=0.05 --warmup=0.01 --benchmark_format=json \
	>"$tmp/fork.json" 2>/dev/null &&
	$py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; assert "/with:fork:1/" in b["name"] and b["forks_per_s"] > 0' "$tmp/fork.json"; then
	ok competitor_rates
else
	bad competitor_rates "no forks_per_s"
fi

# --benchmark_time_unit converts the ns gupbench measured (real_time of
# one thread is 1/ops_per_s), in the JSON and on the console.
if "$bin" --scheme=bias --threads=1 --events=none --duration=0.05 \
	--warmup=0.01 --benchmark_time_unit=us --benchmark_format=json \
	>"$tmp/us.json" 2>/dev/null &&
	$py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; assert b["time_unit"] == "us"; ns = 1e9 / b["ops_per_s"]; assert abs(b["real_time"] * 1e3 - ns) < 1e-6 * ns, (b["real_time"], ns)' "$tmp/us.json" 2>"$tmp/us.err"; then
	ok time_unit_us
else
	bad time_unit_us "$(tail -2 "$tmp/us.err")"
fi

# The collapse competitor collapses the pinner's small pages into THPs
# and splits them again (the pinner pins between collapses, so some
# succeed), and says so in its counters.
if "$bin" --scheme=bias --threads=1 --with=collapse:1 --oversubscribe \
	--events=none --duration=0.2 --warmup=0.05 --benchmark_format=json \
	>"$tmp/coll.json" 2>"$tmp/coll.err" &&
	$py -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; assert "/with:collapse:1/" in b["name"], b["name"]; assert b["collapse_ok_per_s"] > 0 and b["collapse_fail_per_s"] >= 0 and b["thp_splits"] > 0 and 0 <= b["pmd_mapped_pct"] <= 100, b' "$tmp/coll.json" 2>>"$tmp/coll.err"; then
	ok competitor_collapse
else
	bad competitor_collapse "$(tail -3 "$tmp/coll.err")"
fi

# merge.py keeps every launch's placement keys and the context values
# that differ by launch, and warns when the launches' versions differ.
mkdir -p "$tmp/merge"
for i in 1 2; do
	cat >"$tmp/merge/launch-000$i.json" <<JSON
{"context": {"gupbench_version": "v$i", "tsc_hz": 100$i, "host_name": "h",
  "command_line": "c$i", "placement pin/x/threads:$i": "thread 0: pu $i"},
 "benchmarks": [{"name": "pin/x/threads:$i", "real_time": $i}]}
JSON
done
if $py plot/merge.py "$tmp/merge" 2>"$tmp/merge.err" &&
	grep -q "launches differ in gupbench_version: v1; v2" "$tmp/merge.err" &&
	$py -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["context"]
assert c["placement pin/x/threads:1"] == "thread 0: pu 1" and c["placement pin/x/threads:2"] == "thread 0: pu 2", c
assert c["gupbench_launch_context"] == {"launch-0001.json": {"gupbench_version": "v1", "tsc_hz": 1001}, "launch-0002.json": {"gupbench_version": "v2", "tsc_hz": 1002}}, c
assert "command_line" not in c and c["host_name"] == "h" and c["gupbench_launches"] == 2
assert [b["launch"] for b in d["benchmarks"]] == ["launch-0001.json", "launch-0002.json"]' "$tmp/merge/summary.json" 2>>"$tmp/merge.err"; then
	ok merge_contexts
else
	bad merge_contexts "$(tail -3 "$tmp/merge.err")"
fi

# merged NAME: merge.py over $tmp/NAME, one launch file whose JSON is on
# stdin; its warnings in $tmp/NAME.err.
merged() {
	mkdir -p "$tmp/$1"
	cat >"$tmp/$1/launch-0000.json"
	$py plot/merge.py "$tmp/$1" 2>"$tmp/$1.err"
}

# merge.py warns about rows a busy machine took CPU time from.
if merged busy <<JSON &&
{"context": {"host_name": "h"}, "benchmarks": [
 {"name": "pin/x/threads:4", "real_time": 9, "runq_pct": 41.5},
 {"name": "pin/x/threads:1", "real_time": 3, "runq_pct": 0.2}]}
JSON
	grep -q "1 of 2 rows had pinners waiting for a CPU for more than 10% of their window (runq_pct; worst 42%, pin/x/threads:4)" "$tmp/busy.err" &&
	! $py plot/merge.py "$tmp/merge" 2>&1 | grep -q "waiting for a CPU"; then
	ok merge_busy
else
	bad merge_busy "$(cat "$tmp/busy.err")"
fi

# ... and about rows whose PUs the hypervisor took (steal_pct).
if merged stolen <<JSON &&
{"context": {"host_name": "h"}, "benchmarks": [
 {"name": "pin/x/threads:2", "real_time": 9, "runq_pct": 0, "steal_pct": 12.4},
 {"name": "pin/x/threads:4", "real_time": 9, "runq_pct": 0, "steal_pct": 33.3},
 {"name": "pin/x/threads:1", "real_time": 3, "runq_pct": 0, "steal_pct": 4}]}
JSON
	grep -q "2 of 3 rows had pinners on PUs the hypervisor took for more than 10% of their window (steal_pct; worst 33%, pin/x/threads:4)" "$tmp/stolen.err" &&
	! grep -q "waiting for a CPU" "$tmp/stolen.err" &&
	! grep -q "hypervisor" "$tmp/busy.err"; then
	ok merge_steal
else
	bad merge_steal "$(cat "$tmp/stolen.err")"
fi

# ... and about rows that ran while the machine was slower than for the
# others (ref_atomic_ns against the sweep's median; none in a steady one).
if merged slowref <<JSON &&
{"context": {"host_name": "h"}, "benchmarks": [
 {"name": "raw/a/threads:1", "real_time": 9, "ref_atomic_ns": 2.0},
 {"name": "raw/b/threads:1", "real_time": 9, "ref_atomic_ns": 2.2},
 {"name": "raw/c/threads:1", "real_time": 9, "ref_atomic_ns": 2.1},
 {"name": "raw/d/threads:1", "real_time": 9, "ref_atomic_ns": 2.8},
 {"name": "raw/e/threads:1", "real_time": 9, "ref_atomic_ns": 3.1}]}
JSON
	grep -q "2 of 5 rows ran while an uncontended atomic cost more than 1.2x the sweep's median of 2.20 ns (ref_atomic_ns; worst 3.10 ns, raw/e/threads:1)" "$tmp/slowref.err" &&
	! grep -q "uncontended atomic" "$tmp/stolen.err"; then
	ok merge_slow_reference
else
	bad merge_slow_reference "$(cat "$tmp/slowref.err")"
fi
# Rows timed on a slower kind of core are measured against their own PU's.
mkdir -p "$tmp/hybrid"
$py - "$tmp/hybrid" <<'PY'
import json, os, sys
for i, (pu, ref) in enumerate([(0, 2.0), (0, 2.1), (0, 2.0), (4, 3.0),
                               (4, 3.1), (4, 3.0), (4, 4.0)]):
    name = f"raw/s{i}/pages:1/share:same/place:list:{pu}/threads:1"
    json.dump({"context": {"host_name": "h",
                           "placement " + name: f"thread 0: pu {pu} (pin)"},
               "benchmarks": [{"name": name, "real_time": 9,
                               "ref_atomic_ns": ref}]},
              open(os.path.join(sys.argv[1], f"launch-{i:04d}.json"), "w"))
PY
if $py plot/merge.py "$tmp/hybrid" 2>"$tmp/hybrid.err" &&
	grep -q "1 of 7 rows ran while an uncontended atomic cost more than 1.2x the median of the rows timed on the same PU (2.00-3.05 ns) (ref_atomic_ns; worst 4.00 ns, raw/s6/" "$tmp/hybrid.err"; then
	ok merge_slow_reference_per_pu
else
	bad merge_slow_reference_per_pu "$(cat "$tmp/hybrid.err")"
fi

# A sweep interrupted (SIGTERM; Ctrl-C takes the same path) keeps finished launches in valid JSON.
RESULTS_DIR="$tmp/sweep" QUICK=1 DURATION=0.05 scripts/bench.sh \
	>/dev/null 2>"$tmp/sweep.err" &
pid=$!
for _ in $(seq 100); do
	[ -n "$(ls "$tmp/sweep"/launch-0002.json 2>/dev/null)" ] && break
	sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
if [ $rc -eq 130 ] && $py -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["context"]["gupbench_partial"] is True and d["context"]["gupbench_sweep"] == "quick" and len(d["benchmarks"]) >= 3' "$tmp/sweep/summary.json" &&
	! ls "$tmp/sweep"/*.tmp >/dev/null 2>&1 && grep -q partial "$tmp/sweep.err"; then
	ok partial_sweep
else
	bad partial_sweep "rc $rc: $(tail -2 "$tmp/sweep.err")"
fi

# make bench's variables are checked before the first launch.
RESULTS_DIR="$tmp/badreps" expect_exit2 bench_bad_reps \
	"REPS must be a positive integer, not '0'" env QUICK=1 REPS=0 scripts/bench.sh
RESULTS_DIR="$tmp/baddur" expect_exit2 bench_bad_duration \
	"bad --duration 'abc'" env QUICK=1 DURATION=abc scripts/bench.sh
RESULTS_DIR="$tmp/badquick" expect_exit2 bench_bad_quick \
	"QUICK must be 1 \\(the small matrix\\) or 0, not 'yes'" env QUICK=yes scripts/bench.sh
[ ! -e "$tmp/badreps" ] && [ ! -e "$tmp/baddur" ] && [ ! -e "$tmp/badquick" ] &&
	ok bench_bad_no_folder ||
	bad bench_bad_no_folder "a results folder was made"
# A launch that fails says why on the console; a sweep where all fail exits 1.
printf '#!/bin/sh\ncase "$*" in *--workload=*) echo "gupbench: error: injected" >&2; exit 1;; esac\nexec %s "$@"\n' \
	"$PWD/$bin" >"$tmp/failbin"
chmod +x "$tmp/failbin"
GUPBENCH="$tmp/failbin" RESULTS_DIR="$tmp/allfail" QUICK=1 REPS=1 \
	OMP_NUM_THREADS=7 scripts/bench.sh >/dev/null 2>"$tmp/allfail.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "failed (exit 1): --workload=raw --scheme=get --threads=1: gupbench: error: injected" "$tmp/allfail.err" &&
	grep -q "all [0-9]* launches failed" "$tmp/allfail.err"; then
	ok bench_all_failed
else
	bad bench_all_failed "rc $rc: $(tail -2 "$tmp/allfail.err")"
fi
# The sweep is sized by the PUs gupbench places on, whatever nproc says
# (OMP_NUM_THREADS=7 above): c2c runs on all of them.
pus=$("$bin" --plan --threads=max | grep -c '^thread ')
grep -q -- "--workload=c2c --scheme=empty --threads=$pus:" "$tmp/allfail.err" &&
	! grep -q -- "--threads=7" "$tmp/allfail.err" && ok bench_sized_by_hwloc ||
	bad bench_sized_by_hwloc "$(grep -m1 -- --workload=c2c "$tmp/allfail.err")"
# A launch that fails is listed in summary.json and noted by the tools.
printf '#!/bin/sh\ncase "$*" in *--scheme=get\\ *) echo "gupbench: error: injected" >&2; exit 2;; esac\nexec %s "$@"\n' \
	"$PWD/$bin" >"$tmp/failget"
chmod +x "$tmp/failget"
GUPBENCH="$tmp/failget" RESULTS_DIR="$tmp/somefail" QUICK=1 REPS=1 DURATION=0.02 \
	scripts/bench.sh >/dev/null 2>"$tmp/somefail.err"
rc=$?
if [ $rc -eq 1 ] && $py -c 'import json,sys; c=json.load(open(sys.argv[1]))["context"]; f=c["gupbench_failed_launches"]
assert len(f) == 4 and {x["exit"] for x in f} == {2} and all(x["launch"] is None and "--scheme=get " in x["config"] + " " and x["message"] == "gupbench: error: injected" for x in f), f
assert c["gupbench_launches"] == c["gupbench_expected_launches"] - 4, c' "$tmp/somefail/summary.json" 2>>"$tmp/somefail.err" &&
	plot/gupbench-compare "$tmp/somefail" "$tmp/somefail" 2>&1 | tr '\n' ' ' |
		grep -q "a launch of --workload=raw --scheme=get --threads=1 failed (exit 2) and has no rows"; then
	ok bench_failed_listed
else
	bad bench_failed_listed "rc $rc: $(tail -2 "$tmp/somefail.err")"
fi
# ... and when the launches are merged in memory (no summary.json)
rm -f "$tmp/somefail/summary.json"
plot/gupbench-compare "$tmp/somefail" "$tmp/somefail" 2>&1 | tr '\n' ' ' |
	grep -q "a launch of --workload=raw --scheme=get --threads=1 failed (exit 2)" &&
	ok bench_failed_in_memory || bad bench_failed_in_memory "no note"

# A launch that exits 1 with an error row is kept (the row says why).
cat >"$tmp/failrow" <<SH
#!/bin/sh
case "\$*" in *--scheme=get\ *)
	for a; do case "\$a" in --benchmark_out=*) o=\${a#--benchmark_out=};; esac; done
	echo '{"context": {"gupbench_version": "$(cat build/version.stamp 2>/dev/null || echo test)"}, "benchmarks": [{"name": "raw/get/pages:1/share:same/place:compact/threads:1", "error_occurred": true, "error_message": "injected row"}]}' >"\$o"
	echo "gupbench: error: 1 run ended in an error row" >&2
	exit 1;;
esac
exec $PWD/$bin "\$@"
SH
chmod +x "$tmp/failrow"
GUPBENCH="$tmp/failrow" RESULTS_DIR="$tmp/rowfail" QUICK=1 REPS=1 DURATION=0.02 \
	scripts/bench.sh >/dev/null 2>"$tmp/rowfail.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "failed (exit 1): --workload=raw --scheme=get --threads=1: raw/get/pages:1/share:same/place:compact/threads:1: injected row" "$tmp/rowfail.err" &&
	$py -c 'import json,sys; d=json.load(open(sys.argv[1])); f=d["context"]["gupbench_failed_launches"]
assert len(f) == 4 and all(x["exit"] == 1 and x["launch"].startswith("launch-") for x in f), f
assert sum(1 for b in d["benchmarks"] if b.get("error_occurred")) == 4' "$tmp/rowfail/summary.json" 2>>"$tmp/rowfail.err" &&
	plot/gupbench-compare "$tmp/rowfail" "$tmp/rowfail" 2>&1 | tr '\n' ' ' | grep -q "error: injected row"; then
	ok bench_error_row_kept
else
	bad bench_error_row_kept "rc $rc: $(tail -2 "$tmp/rowfail.err"; plot/gupbench-compare "$tmp/rowfail" "$tmp/rowfail" 2>&1 | tail -2)"
fi
# One sweep per folder.
RESULTS_DIR="$tmp/rowfail" expect_exit2 bench_dir_not_empty "RESULTS_DIR .*rowfail is not empty" \
	env QUICK=1 scripts/bench.sh

# make walkcost's driver: every scheme's pin and raw loops run and report
# a time; the floor control prints both lines; bad input exits 2. The
# schemes are those --list shows, which must be those bad input lists.
wc=build/obj/walkcost
schemes=$("$bin" --list |
	sed -n '/^Schemes:/,/^Workloads:/s/^  \([a-z0-9_]*\) .*/\1/p' | paste -sd' ')
valid=$("$bin" --scheme=nope 2>&1 | sed -n 's/^valid schemes: //p')
if [ -n "$schemes" ] && [ "$schemes" = "$valid" ]; then
	ok walkcost_schemes
else
	bad walkcost_schemes "--list: '$schemes', valid: '$valid'"
fi
for s in $schemes; do
	for m in pin raw; do
		if out=$("$wc" "$s" $m 20000 2>&1) &&
			echo "$out" | grep -qE "^$m/$s [0-9.]+ ns/op$"; then
			ok "walkcost_${m}_$s"
		else
			bad "walkcost_${m}_$s" "$out"
		fi
	done
done
out=$("$wc" floor 20000 2>&1)
if [ $? -eq 0 ] && [ "$(echo "$out" | grep -cE ': [0-9.]+ ns/op$')" -eq 3 ]; then
	ok walkcost_floor
else
	bad walkcost_floor "$out"
fi
expect_exit2 walkcost_bad_scheme "unknown scheme 'nope'" "$wc" nope pin 10
expect_exit2 walkcost_bad_mode "usage" "$wc" bias walk 10
expect_exit2 walkcost_bad_loops "usage" "$wc" bias pin 10x
# scripts/instr-per-op.sh (make walkcost): ROUNDS paired pin and raw
# runs per scheme; a row prints the medians, instructions (or - without
# valgrind) and the median pin/raw ratio inside its rounds' range.
out=$(ROUNDS=3 NS_LOOPS=20000 LOOPS=200 scripts/instr-per-op.sh bias 2>&1)
row=$(echo "$out" | grep -E '^bias ')
if [ $? -eq 0 ] &&
	echo "$row" | grep -qE '^bias +[0-9.]+ +[0-9.]+ +([0-9]+|-) +([0-9]+|-) +[0-9.]+x +[0-9.]+-[0-9.]+x$' &&
	echo "$row" | awk '{ split($7, r, "-"); sub(/x$/, "", $6); sub(/x$/, "", r[2]);
		m = $6 + 0; lo = r[1] + 0; hi = r[2] + 0
		exit !(lo <= m && m <= hi && lo > 0) }' &&
	[ "$(echo "$out" | grep -cE ': [0-9.]+ ns/op$')" -eq 3 ]; then
	ok walkcost_script_rounds
else
	bad walkcost_script_rounds "$out"
fi
expect_exit2 walkcost_script_bad_rounds "ROUNDS must be a positive integer, not 'x'" \
	env ROUNDS=x scripts/instr-per-op.sh bias
expect_exit2 walkcost_script_bad_loops "NS_LOOPS must be a positive integer, not '0'" \
	env NS_LOOPS=0 scripts/instr-per-op.sh bias

# scripts/figures.py: issue #3's table from a summary, each ratio with the
# spread of its launches, and a verdict that counts the near misses.
mkdir -p "$tmp/fig" "$tmp/figq"
$py - "$tmp/fig/summary.json" <<'PY'
import json, sys
one = "/pages:1/share:same/place:compact/threads:1"
rt = {"raw/empty": [0.4, 0.5, 0.6], "pin/empty": [9, 10, 11],
      "raw/bias": [8, 10, 12], "pin/bias": [14, 16, 20],
      "raw/get": [5, 5, 5], "pin/get": [10, 12, 13]}
rows = [{"name": k + one, "real_time": v, "threads": 1,
         "overlap_pct": 99.5, "run_type": "iteration"}
        for k, vs in rt.items() for v in vs]
rows.append({"name": "raw/get" + one, "real_time": 0,
             "error_occurred": True})
rows[10].update(overlap_pct=90.0, steal_pct=12.5)
json.dump({"context": {"gupbench_elapsed_s": 75, "gupbench_launches": 18,
                       "gupbench_sweep": "full"},
           "benchmarks": rows}, open(sys.argv[1], "w"))
quick = sys.argv[1].replace("fig/", "figq/")
json.dump({"context": {"gupbench_elapsed_s": 75, "gupbench_launches": 18,
                       "gupbench_sweep": "quick"},
           "benchmarks": rows}, open(quick, "w"))
PY
out=$($py scripts/figures.py "$tmp/fig" 2>&1)
if echo "$out" | grep -qF '| 0.50 ns (launches 0.40-0.60) | met |' &&
	echo "$out" | grep -qF 'bias 16.0/10.0 = 1.60x (1.17-2.50), get 12.0/5.0 = 2.40x (2.00-2.60)' &&
	echo "$out" | grep -qF 'NOT met (0 of 2; 1 more within the launches'"'"' spread)' &&
	echo "$out" | grep -qF '| 10.0 ns |' &&
	echo "$out" | grep -qF 'min 90.00%, median of multi-thread rows 99.50% (1 launch of 18 under 95%: `pin/bias/pages:1/share:same/place:compact/threads:1` 90.00%, `steal_pct` 12.5%) | NOT met |' &&
	echo "$out" | grep -qF '| `make bench` wall time (18 launches) | <= 10 min | 1 min 15 s | met |'; then
	ok figures_table
else
	bad figures_table "$out"
fi
out=$($py scripts/figures.py "$tmp/figq" 2>&1)
if echo "$out" | grep -qF '| `make bench QUICK=1` wall time (18 launches) | <= 1 min | 1 min 15 s | NOT met |'; then
	ok figures_quick_wall
else
	bad figures_quick_wall "$out"
fi
expect_exit2 figures_no_summary "not a make bench summary" $py scripts/figures.py "$tmp"

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
