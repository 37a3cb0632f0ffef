#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the default sweep sized to this machine. Every configuration
# runs in REPS separate process launches (default 3), all launches in one
# shuffled order (repetitions inside one process are not independent
# samples). Results: results/HOST-DATE/launch-NNNN.json, summary.json
# (merged, Google Benchmark JSON), topology.xml. Ctrl-C keeps every finished
# launch and marks summary.json partial.
#
# Environment: QUICK=1 (small matrix; 0 or unset: the full one), REPS=N
# (3; 2 with QUICK=1), DURATION=SEC, WARMUP=SEC,
# GUPBENCH=path (default build/gupbench), RESULTS_DIR=dir.
set -u
cd "$(dirname "$0")/.."
bin=${GUPBENCH:-build/gupbench}
[ -x "$bin" ] || { echo "bench: $bin not built (run make)" >&2; exit 1; }
py=/usr/bin/python3
[ -x $py ] || py=python3

# the PUs gupbench places threads on (hwloc's, as --threads=max counts
# them; nproc follows OMP_NUM_THREADS and the affinity mask)
pus=$("$bin" --plan --threads=max 2>/dev/null | grep -c '^thread ')
[ "$pus" -gt 0 ] 2>/dev/null ||
	{ echo "bench: $bin --plan --threads=max placed no thread" >&2; exit 1; }
case ${QUICK:-} in
''|0) quick= sweep=full ;;
1) quick=1 sweep=quick ;;
*) echo "bench: QUICK must be 1 (the small matrix) or 0, not '$QUICK'" >&2
	exit 2 ;;
esac
reps=${REPS:-3}
if [ -n "$quick" ]; then
	dur=${DURATION:-0.1}
	reps=${REPS:-2}
else
	dur=${DURATION:-0.25}
fi
warm=${WARMUP:-0.05}
case $reps in
''|*[!0-9]*|0*) echo "bench: REPS must be a positive integer, not '$reps'" >&2
	exit 2 ;;
esac
# gupbench checks the window itself (and names the bad value)
"$bin" --plan --threads=1 --duration="$dur" --warmup="$warm" >/dev/null ||
	{ echo "bench: bad DURATION or WARMUP (see above)" >&2; exit 2; }
if [ -n "${RESULTS_DIR:-}" ]; then
	out=$RESULTS_DIR
	# one sweep per folder: merge would take an older sweep's files in
	if [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
		echo "bench: RESULTS_DIR $out is not empty; give a new folder" >&2
		exit 2
	fi
	mkdir -p "$out" || exit 1
else	# never two sweeps in one folder, even in the same second
	mkdir -p results || exit 1
	out=results/$(hostname -s)-$(date +%Y%m%d-%H%M%S)
	k=2 base=$out
	until mkdir "$out" 2>/dev/null; do
		[ -d results ] || exit 1
		out=$base-$k; k=$((k + 1))
	done
fi

# thread counts 1, 2, 4, ... below the PU count, then max
threads_up_to() {	# $1 = PUs available to pinners
	local t=1 list=""
	while [ $t -lt "$1" ]; do list="$list $t"; t=$((t * 2)); done
	echo "$list $1"
}

# placements that differ on this machine
placements="compact"
plan() { "$bin" --plan --threads=max --placement="$1" 2>/dev/null | grep '^thread'; }
[ "$(plan compact)" != "$(plan scatter)" ] && placements="$placements scatter"
plan smt >/dev/null 2>&1 && [ -n "$(plan smt)" ] && [ "$(plan smt)" != "$(plan compact)" ] &&
	placements="$placements smt"
# numa differs from both where a package holds several nodes (SNC)
[ "$(plan numa)" != "$(plan compact)" ] && [ "$(plan numa)" != "$(plan scatter)" ] &&
	placements="$placements numa"

configs=()
add() { configs+=("$*"); }
if [ -n "$quick" ]; then
	schemes="get bias pincount pagelock anonexcl"
	for s in $schemes empty; do
		add --workload=raw --scheme=$s --threads=1
	done
	for s in $schemes; do
		for t in 1 $pus; do
			add --workload=pin --scheme=$s --pages=1 --share=same --threads=$t
		done
		add --workload=pin --scheme=$s --pages=1 --share=same --with=fork:1 \
			--threads=$(( pus > 1 ? pus - 1 : 1 )) --oversubscribe
	done
	add --workload=c2c --scheme=empty --threads=$pus
else
	schemes=$("$bin" --list | awk '/^Schemes:/{f=1;next} /^[A-Z]/{f=0} f{print $1}')
	for s in $schemes; do
		add --workload=raw --scheme=$s --threads=1
	done
	for t in $(threads_up_to "$pus"); do
		add --workload=c2c --scheme=empty --threads=$t
	done
	for s in $schemes; do
	for w in pin pin_ro; do
	for p in 1 16; do
	for sh in same private; do
	for pl in $placements; do
		for t in $(threads_up_to "$pus"); do
			add --workload=$w --scheme=$s --pages=$p --share=$sh \
				--placement=$pl --threads=$t
		done
		for c in fork:1 migrate:1; do
			for t in $(threads_up_to $(( pus > 1 ? pus - 1 : 1 ))); do
				add --workload=$w --scheme=$s --pages=$p --share=$sh \
					--placement=$pl --with=$c --threads=$t \
					$([ $pus -le 1 ] && echo --oversubscribe)
			done
		done
	done; done; done; done; done
fi

# every configuration REPS times, one shuffled order
runs=()
for ((r = 0; r < reps; r++)); do
	for ((i = 0; i < ${#configs[@]}; i++)); do runs+=("$i"); done
done
mapfile -t runs < <(printf '%s\n' "${runs[@]}" | shuf)
total=${#runs[@]}
"$bin" --export-topology="$out/topology.xml" || exit 1

interrupted=0
trap 'interrupted=1' INT TERM
start=$SECONDS
n=0 failed=0
for i in "${runs[@]}"; do
	[ $interrupted = 1 ] && break
	f=$(printf '%s/launch-%04d.json' "$out" "$n")
	# shellcheck disable=SC2086
	"$bin" ${configs[$i]} --duration="$dur" --warmup="$warm" \
		--benchmark_format=json --benchmark_out="$f.tmp" \
		>/dev/null 2>"$out/launch.err"
	rc=$?
	cat "$out/launch.err" >>"$out/stderr.log"
	# exit 1: some row is an error row; the file has it, keep it
	if [ $interrupted = 0 ] && { [ $rc = 0 ] || [ $rc = 1 ]; } &&
		$py -c 'import json,sys; json.load(open(sys.argv[1]))' "$f.tmp" \
			2>/dev/null; then
		mv "$f.tmp" "$f"
	else
		rm -f "$f.tmp"
		[ $interrupted = 0 ] && [ $rc = 0 ] &&
			echo "gupbench: error: exit 0 but no valid JSON" \
				"written" >>"$out/launch.err"
	fi
	if [ $interrupted = 0 ] && { [ $rc != 0 ] || [ ! -e "$f" ]; }; then
		failed=$((failed + 1))
		msg=
		if [ $rc -gt 128 ]; then
			msg="killed by signal $((rc - 128))"
		elif [ -e "$f" ]; then	# exit 1: the first error row's reason
			msg=$($py -c 'import json,sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("error_occurred"):
        print(b.get("name", "?") + ": " + b.get("error_message", "?"))
        break' "$f" 2>/dev/null)
		fi
		if [ -z "$msg" ]; then
			msg=$(grep -m1 -e 'error:' "$out/launch.err" ||
			      tail -n 1 "$out/launch.err")
		fi
		[ -e "$f" ] || f="-"
		# summary.json lists them (gupbench_failed_launches)
		printf '%s\t%s\t%s\t%s\n' "${configs[$i]}" "$rc" "${f##*/}" \
			"$msg" >>"$out/failed.tsv"
		printf '\nbench: failed (exit %s): %s: %s (all of it in %s/stderr.log)\n' \
			"$rc" "${configs[$i]}" "$msg" "$out" >&2
	fi
	n=$((n + 1))
	el=$((SECONDS - start))
	printf '\rbench: %d/%d launches, %ds elapsed, ETA %ds   ' "$n" "$total" \
		"$el" $(( n ? el * (total - n) / n : 0 )) >&2
done
echo >&2
trap - INT TERM
rm -f "$out/launch.err"
if [ $n -gt 0 ] && [ $failed = $n ] && ! ls "$out"/launch-*.json >/dev/null 2>&1; then
	echo "bench: all $n launches failed; nothing to merge in $out" >&2
	exit 1
fi
partial=0
[ $n -lt "$total" ] && partial=1
$py plot/merge.py "$out" --partial=$partial --expected=$total \
	--elapsed=$((SECONDS - start)) --sweep=$sweep || exit 1
if [ $partial = 1 ]; then
	echo "bench: interrupted: $n of $total launches kept in $out (summary.json says partial)" >&2
	exit 130
fi
echo "bench: $n launches ($failed failed) in $((SECONDS - start))s: $out/summary.json" >&2
[ $failed = 0 ]
