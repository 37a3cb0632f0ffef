#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make plot: draw a results folder with plot/gupbench-plot into
# RESULTS/plots/ (SVG, PNG, index.html). Without an argument: the newest
# results/*/ folder that has a summary.json.
#
# Usage: scripts/plot.sh [RESULTS]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-}
if [ -z "$dir" ]; then
	# newest summary.json by modification time
	newest=$(ls -1t "$here"/results/*/summary.json 2>/dev/null | head -n 1)
	if [ -z "$newest" ]; then
		echo "plot: no results/*/summary.json; run make bench, or give RESULTS=dir" >&2
		exit 2
	fi
	dir=$(dirname "$newest")
	dir=${dir#"$PWD"/}
fi
dir=${dir%/}
"$here/plot/gupbench-plot" "$dir" || exit $?
echo "plot: open $dir/plots/index.html" >&2
