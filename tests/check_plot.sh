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
	# no summary.json: the sweep may have been cut short; the title says so
	grep -q 'no summary.json: a sweep interrupted before its merge' \
		"$tmp/one/plots/index.html" && ok launches_only_maybe_partial ||
		bad launches_only_maybe_partial "no word of it in index.html"
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
	# the reference rows are the figure's placement's: c2c and raw ran
	# at compact only, so the scatter figure draws neither
	sc="$tmp/many/plots/scaling-pin-1p-same-scatter.svg"
	if grep -q 'c2c' "$sc" || grep -q 'raw atomics' "$sc"; then
		bad references_by_placement "scatter figure draws compact's c2c or raw"
	elif grep -q 'raw atomics' "$svg"; then
		ok references_by_placement
	else
		bad references_by_placement "compact figure lacks its raw lines"
	fi
	# the limit figure writes each scheme's pin/raw ratio (synthetic: 1x)
	grep -qE '>1\.0[0-9]x<' "$tmp/many/plots/limit.svg" && ok limit_ratio ||
		bad limit_ratio "no pin/raw ratio in limit.svg"
	grep -q 'a launch with runq/steal' "$svg" &&
		bad flagged_quiet "rings on a run without busy or stolen launches" ||
		ok flagged_quiet
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

# Launches over the runq/steal limits are ringed and listed; error rows
# and failed launches are in index.html's notes.
$tools make "$tmp/st" --threads=1,2 --launches=3 --steal=bias=30 \
	--error=pincount/pages:1/share:same/place:compact/threads:2 >/dev/null 2>&1
if $plot "$tmp/st" >/dev/null 2>"$tmp/st.err"; then
	idx="$tmp/st/plots/index.html"
	grep -q 'a launch with runq/steal over 10%' \
		"$tmp/st/plots/scaling-pin-1p-same-compact.svg" && ok flagged_rings ||
		bad flagged_rings "no ring legend"
	grep -qE '[0-9]+ configurations have a launch whose pinners waited .*pin/bias/' "$idx" &&
		ok flagged_listed || bad flagged_listed "not in index.html"
	grep -q '<h2>Notes</h2>' "$idx" && grep -q 'injected failure' "$idx" &&
		ok index_error_notes || bad index_error_notes "no error note in index.html"
else
	bad flagged_rings "exit $?: $(cat "$tmp/st.err")"
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
