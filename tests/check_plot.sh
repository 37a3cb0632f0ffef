#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# plot/gupbench-plot (make plot): on synthetic results with one thread
# count and with several (two placements, competitors, perf events), SVG,
# PNG and an index.html that shows every figure; a launch-only folder;
# bad input exits 2 with one line on stderr. Synthetic results in a
# temporary folder; matplotlib's Agg backend, nothing fetched.
. "$(dirname "$0")/plotlib.sh"
plot=plot/gupbench-plot
need matplotlib scipy

# check_out NAME DIR FIG...: DIR/plots holds FIG.svg and FIG.png for each
# FIG, non-empty, and index.html shows every PNG there
check_out() {
	local name=$1 dir=$2/plots; shift 2
	local f missing=""
	for f in "$@"; do
		for e in svg png; do
			[ -s "$dir/$f.$e" ] || missing="$missing $f.$e"
		done
	done
	[ -s "$dir/index.html" ] || missing="$missing index.html"
	if [ -n "$missing" ]; then
		bad "$name" "missing:$missing (have: $(ls "$dir" 2>/dev/null | tr '\n' ' '))"
		return
	fi
	for f in "$dir"/*.png; do
		grep -q "src='$(basename "$f")'" "$dir/index.html" ||
			missing="$missing $(basename "$f")"
	done
	if [ -n "$missing" ]; then
		bad "$name" "index.html does not show:$missing"
	elif ! head -c 4 "$dir/$1.png" | grep -q PNG ||
		! grep -q '<svg' "$dir/$1.svg"; then
		bad "$name" "$1.png or $1.svg holds no PNG or SVG data"
	else
		ok "$name"
	fi
}

# One thread count (QUICK=1 on a 1-PU box), no summary.json.
$tools make "$tmp/one" --threads=1 --launches=2 --no-summary >/dev/null
if $plot "$tmp/one" >"$tmp/out" 2>"$tmp/err"; then
	check_out one_thread "$tmp/one" scaling-pin-1p-same-compact slowpath-pin \
		retries-pin perf-pin limit
	grep -qE 'merged [0-9]+ launch-\*\.json in memory' "$tmp/err" && ok launches_only_note ||
		bad launches_only_note "$(cat "$tmp/err")"
else
	bad one_thread "exit $?: $(cat "$tmp/err")"
fi

# Several thread counts, two placements, competitors, a perf event.
$tools make "$tmp/many" --threads=1,2,4 --place=compact,scatter \
	--with=";fork:1;migrate:1" --events=cycles,context-switches >/dev/null
if scripts/plot.sh "$tmp/many" >"$tmp/out" 2>"$tmp/err"; then
	check_out several_threads "$tmp/many" scaling-pin-1p-same-compact \
		scaling-pin-1p-same-scatter slowpath-pin retries-pin perf-pin \
		placement-pin competitors-pin limit
	idx="$tmp/many/plots/index.html"
	grep -q 'testhost (Test CPU), Linux 6.1.0-test' "$idx" && ok index_machine ||
		bad index_machine "no host, CPU, kernel in index.html"
	grep -q 'median and min-max of 3 launches' "$idx" && ok index_error_bars ||
		bad index_error_bars "no launch count in index.html"
	grep -q '<figcaption>' "$idx" && ok index_captions || bad index_captions "no captions"
	# axis labels and units in the SVG text (svg.fonttype none)
	svg="$tmp/many/plots/scaling-pin-1p-same-compact.svg"
	for t in 'ns per op' 'ops/s' 'pinner threads' 'testhost (Test CPU)' \
		'linear scaling' 'c2c'; do
		grep -q "$t" "$svg" || { bad scaling_labels "no '$t' in $svg"; t=; break; }
	done
	[ -n "$t" ] && ok scaling_labels
	grep -q 'cycles' "$tmp/many/plots/perf-pin.svg" && ok perf_events ||
		bad perf_events "no cycles panel"
	grep -q 'forks_per_s' "$tmp/many/plots/competitors-pin.svg" && ok competitor_rates ||
		bad competitor_rates "no forks_per_s panel"
	# a rerun replaces the figures, leaving no stale ones
	touch "$tmp/many/plots/stale.png"
	$plot "$tmp/many" >/dev/null 2>"$tmp/rerun.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		bad rerun_replaces "exit $rc: $(tail -2 "$tmp/rerun.err")"
	elif [ -e "$tmp/many/plots/stale.png" ]; then
		bad rerun_replaces "stale.png kept"
	else
		check_out rerun_replaces "$tmp/many" \
			scaling-pin-1p-same-compact placement-pin limit
	fi
else
	bad several_threads "exit $?: $(cat "$tmp/err")"
fi
# one placement: figures, but no placement figure
if [ ! -s "$tmp/one/plots/index.html" ]; then
	bad no_placement_figure "the one-thread plot made no figures"
elif [ -e "$tmp/one/plots/placement-pin.png" ] ||
	[ -e "$tmp/one/plots/placement-pin.svg" ]; then
	bad no_placement_figure "placement figure with one placement"
else
	ok no_placement_figure
fi

# Rows in another --benchmark_time_unit are read in ns (1 row: 0.02 us)
cat >"$tmp/us.json" <<'JSON'
{"context": {"gupbench_version": "t"}, "benchmarks": [
 {"name": "pin/bias/pages:1/share:same/place:compact/threads:1",
  "real_time": 0.02, "cpu_time": 0.019, "time_unit": "us"},
 {"name": "pin/bias/pages:1/share:same/place:compact/threads:2",
  "real_time": 30.0, "cpu_time": 29.0, "time_unit": "ns"}]}
JSON
if out=$(PYTHONPATH=plot $py -c 'import sys, gbstats
r = gbstats.Run(sys.argv[1])
print(*(r.samples(n)[0] for n in sorted(r.configs)), *(r.samples(n, "cpu_time")[0] for n in sorted(r.configs)))' "$tmp/us.json" 2>&1) &&
	[ "$out" = "20.0 30.0 19.0 29.0" ]; then
	ok time_unit_to_ns
else
	bad time_unit_to_ns "$out"
fi

# The harness's own counters are neither perf events (one plot each)
# nor competitor rates.
$py tests/plottools.py make "$tmp/keys" --launches=1 >/dev/null 2>&1
if out=$(PYTHONPATH=plot $py -c 'import sys, gbstats
r = gbstats.Run(sys.argv[1])
own = {"steal_pct", "timing_overhead_ns", "ref_atomic_ns", "runq_pct",
       "offcpu_pct", "overlap_pct", "p50_ns", "tsc_per_op"}
assert own <= r.keys(), own - r.keys()
print(sorted(own & (set(r.event_keys()) | set(r.competitor_keys()))))' "$tmp/keys" 2>&1) &&
	[ "$out" = "[]" ]; then
	ok own_counters_not_events
else
	bad own_counters_not_events "$out"
fi

# Bad input: exit 2, one line on stderr.
bad_inputs $plot {}

summary
