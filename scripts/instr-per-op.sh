#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make walkcost: what one 1-page pin (the whole GUP-fast walk + unpin)
# and one raw grab + put cost each scheme, alone on one thread, on a
# private anon page: wall ns per op (build/obj/walkcost, 10^8 ops) and,
# where valgrind is installed, the instructions one op executes
# (callgrind at LOOPS and 2*LOOPS ops; the difference divided by LOOPS,
# so the set-up cancels out). This is
# the figure behind the README's note on the pin/raw target; on a machine
# with a PMU the `instructions` counter of gupbench's rows gives the same.
# Last, `walkcost floor`: bias's grab + put alone, after a bare
# five-load table walk (does the walk's latency show?), and with the
# walk's folio_set_referenced() between them (the RMWs a pin must make).
#
# Usage: scripts/instr-per-op.sh [SCHEME...]    (default: every scheme)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
wc="$here/build/obj/walkcost"
loops=${LOOPS:-1000000}
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

printf '%-20s %10s %10s %12s %12s %8s\n' scheme 'pin ns' 'raw ns' 'pin instr' 'raw instr' 'pin/raw'
for s in "${schemes[@]}"; do
	pin=$("$wc" "$s" pin 100000000) || exit 1
	raw=$("$wc" "$s" raw 100000000) || exit 1
	pin=${pin#* }; pin=${pin% ns/op}
	raw=${raw#* }; raw=${raw% ns/op}
	ip=- ir=-
	if [ $have_vg = 1 ]; then
		a=$(instr "$s" pin "$loops"); b=$(instr "$s" pin $((2 * loops)))
		ip=$(( (b - a) / loops ))
		a=$(instr "$s" raw "$loops"); b=$(instr "$s" raw $((2 * loops)))
		ir=$(( (b - a) / loops ))
	fi
	printf '%-20s %10s %10s %12s %12s %8s\n' "$s" "$pin" "$raw" "$ip" "$ir" \
		"$(awk -v p="$pin" -v r="$raw" 'BEGIN { printf "%.2fx", p / r }')"
done
echo
"$wc" floor 100000000 || exit 1
