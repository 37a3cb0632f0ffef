#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make walkcost: what one 1-page pin (the whole GUP-fast walk + unpin)
# and one raw grab + put cost each scheme, alone on one thread, on a
# private anon page: wall ns per op (build/obj/walkcost) and, where
# valgrind is installed, the instructions one op executes (callgrind at
# LOOPS and 2*LOOPS ops; the difference divided by LOOPS, so the set-up
# cancels out). The wall times are ROUNDS rounds (default 5) of a pin
# run then a raw run (NS_LOOPS ops each, default 2*10^7), one scheme
# after the other, so each round's pin and raw see the same host: the
# table prints the medians, the median of the rounds' pin/raw ratios and
# their range. This is the figure behind the README's note on the
# pin/raw target; on a machine with a PMU the `instructions` counter of
# gupbench's rows gives the same.
# Last, `walkcost floor`: bias's grab + put alone, after a bare
# five-load table walk (does the walk's latency show?), and with the
# walk's folio_set_referenced() between them (the RMWs a pin must make).
#
# Usage: scripts/instr-per-op.sh [SCHEME...]    (default: every scheme)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
wc="$here/build/obj/walkcost"
loops=${LOOPS:-1000000}
rounds=${ROUNDS:-5}
nsloops=${NS_LOOPS:-20000000}
for v in LOOPS:$loops ROUNDS:$rounds NS_LOOPS:$nsloops; do
	case ${v#*:} in
	'' | *[!0-9]* | 0*)
		echo "walkcost: ${v%%:*} must be a positive integer, not '${v#*:}'" >&2
		exit 2 ;;
	esac
done
if [ ! -x "$wc" ]; then
	echo "walkcost: $wc missing: run make walkcost" >&2
	exit 2
fi
schemes=("$@")
if [ ${#schemes[@]} -eq 0 ]; then
	mapfile -t schemes < <("$here/build/gupbench" --list |
		sed -n '/^Schemes:/,/^Workloads:/s/^  \([a-z0-9_]*\) .*/\1/p')
fi
if [ ${#schemes[@]} -eq 0 ]; then
	echo "walkcost: no schemes listed by gupbench --list" >&2
	exit 2
fi
have_vg=0
command -v valgrind >/dev/null 2>&1 && have_vg=1
[ $have_vg = 1 ] ||
	echo "walkcost: valgrind not installed: wall time only (apt install valgrind for instructions/op)" >&2

instr() {	# SCHEME MODE LOOPS -> instructions executed in all
	valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$wc" "$1" "$2" "$3" 2>&1 >/dev/null |
		sed -n 's/.*refs: *//p' | tr -d ,
}

# median [VALUES...]: the middle value (the mean of the two middle ones)
median() {
	printf '%s\n' "$@" | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ns() {		# SCHEME MODE -> ns/op of one run
	local out
	out=$("$wc" "$1" "$2" "$nsloops") || return 1
	out=${out#* }
	echo "${out% ns/op}"
}

printf '%-20s %10s %10s %12s %12s %8s %14s\n' scheme 'pin ns' 'raw ns' \
	'pin instr' 'raw instr' 'pin/raw' 'range'
for s in "${schemes[@]}"; do
	pins=() raws=() ratios=()
	for ((r = 0; r < rounds; r++)); do
		p=$(ns "$s" pin) || exit 1
		q=$(ns "$s" raw) || exit 1
		pins+=("$p") raws+=("$q")
		ratios+=("$(awk -v p="$p" -v r="$q" 'BEGIN { printf "%.4f", p / r }')")
	done
	ip=- ir=-
	if [ $have_vg = 1 ]; then
		a=$(instr "$s" pin "$loops"); b=$(instr "$s" pin $((2 * loops)))
		ip=$(( (b - a) / loops ))
		a=$(instr "$s" raw "$loops"); b=$(instr "$s" raw $((2 * loops)))
		ir=$(( (b - a) / loops ))
	fi
	lo=$(printf '%s\n' "${ratios[@]}" | sort -g | head -1)
	hi=$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1)
	printf '%-20s %10.2f %10.2f %12s %12s %7.2fx %14s\n' "$s" \
		"$(median "${pins[@]}")" "$(median "${raws[@]}")" "$ip" "$ir" \
		"$(median "${ratios[@]}")" \
		"$(printf '%.2f-%.2fx' "$lo" "$hi")"
done
echo
"$wc" floor "$nsloops" || exit 1
