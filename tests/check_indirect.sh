#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guards the "no indirect call per page" rule (DESIGN §2): every scheme's
# instantiation of the walk (SCHEME_gup_fast, _pin_section, _raw_section,
# _release_pages) in the optimised build must contain no indirect call or
# jump and no out-of-line call to a scheme hook (the hooks are inlined);
# the timed loops call no debug point (gup_debug_point), gup_fast does.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0
objs=$(ls build/obj/schemes/*.o 2>/dev/null)
if [ -z "$objs" ]; then
	echo "FAIL no objects in build/obj/schemes: run make first"
	echo "0 passed, 1 failed"
	exit 1
fi
for o in $objs; do
	dis=$(objdump -dr --no-show-raw-insn "$o")
	for scheme in $(nm "$o" | sed -nE 's/.* T (.*)_gup_fast$/\1/p'); do
		for fn in gup_fast pin_section raw_section release_pages; do
			sym="${scheme}_$fn"
			body=$(echo "$dis" | awk -v s="<$sym>:" '
				$2 == s { on = 1; next }
				on && /^[0-9a-f]+ <.*>:$/ { on = 0 }
				on { print }')
			if [ -z "$body" ]; then
				echo "FAIL $sym: not found in $o"
				fail=$((fail + 1))
				continue
			fi
			bad=$(echo "$body" | grep -E '(call|jmp)[a-z]* +\*|call.*<[a-z0-9_]+_(try_grab_fast|try_grab_slow|put_folio|maybe_pinned)(\.[a-z_]+\.[0-9]+)*>')
			if [ -n "$bad" ]; then
				echo "FAIL $sym: indirect or hook call:"
				echo "$bad" | head -5 | sed 's/^/    /'
				fail=$((fail + 1))
			else
				echo "ok   $sym"
				pass=$((pass + 1))
			fi
			# The debug points are for tests: the timed loop
			# has none, the tested entry point keeps them.
			calls=$(echo "$body" | grep -cE "R_X86_64_(PLT32|PC32)[[:space:]]+gup_debug_point")
			case $fn:$calls in
			pin_section:0 | raw_section:0 | release_pages:0) ;;
			gup_fast:0)
				echo "FAIL $sym: no debug point (tests rely on them)"
				fail=$((fail + 1)) ;;
			gup_fast:*) ;;
			*)
				echo "FAIL $sym: $calls debug point call(s) in the timed path"
				fail=$((fail + 1)) ;;
			esac
		done
	done
done
# Every registered scheme must have been checked.
n=$(ls schemes/*.c | xargs grep -l '^#include "gup_template.h"\|#include "pincount_common.h"\|#include "bias_common.h"' | wc -l)
if [ $((pass + fail)) -lt $((n * 4)) ]; then
	echo "FAIL only $((pass + fail)) functions checked for $n scheme files"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
