#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what gupbench needs to build, test, benchmark and plot.
# Idempotent: checks each dependency first and installs only what is
# missing, saying what it installs. Debian/Ubuntu (apt-get) and Fedora (dnf).
# libperf (the kernel's tools/lib/perf) has no Debian package: it is built
# from the distribution's linux-source package by scripts/build-libperf.sh.
#
# Usage: scripts/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
check_only=0
case "${1:-}" in
"") ;;
--check) check_only=1 ;;
*)	echo "usage: scripts/install-deps.sh [--check]" >&2
	exit 2 ;;
esac

say() { echo "install-deps: $*" >&2; }

# The interpreter plot/* and merge.py run under (their #! line), not
# whichever python3 comes first on PATH (a virtualenv or pyenv).
py=/usr/bin/python3
[ -x $py ] || py=python3

# name:debian-package:fedora-package:test-command
deps=(
	"gcc:gcc:gcc:command -v gcc"
	"g++:g++:gcc-c++:command -v g++"
	"make:make:make:command -v make"
	"pkg-config:pkg-config:pkgconf-pkg-config:command -v pkg-config"
	"hwloc:libhwloc-dev:hwloc-devel:test -f /usr/include/hwloc.h"
	"libpfm4:libpfm4-dev:libpfm-devel:test -f /usr/include/perfmon/pfmlib_perf_event.h"
	"libbenchmark:libbenchmark-dev:google-benchmark-devel:test -f /usr/include/benchmark/benchmark.h"
	"compare.py:libbenchmark-tools:google-benchmark-devel:test -f /usr/share/benchmark/compare.py"
	"python3:python3:python3:command -v python3"
	"scipy:python3-scipy:python3-scipy:$py -c 'import scipy' 2>/dev/null"
	"numpy:python3-numpy:python3-numpy:$py -c 'import numpy' 2>/dev/null"
	"matplotlib:python3-matplotlib:python3-matplotlib:$py -c 'import matplotlib' 2>/dev/null"
	"bc:bc:bc:command -v bc"
	"flex:flex:flex:command -v flex"
	"bison:bison:bison:command -v bison"
	"xz:xz-utils:xz:command -v xz"
	"objdump:binutils:binutils:command -v objdump"
	"libtsan:libtsan2:libtsan:ls /usr/lib/*/libtsan.so.2 || ls /usr/lib64/libtsan.so.2"
)

if command -v apt-get >/dev/null 2>&1; then
	pm=apt
elif command -v dnf >/dev/null 2>&1; then
	pm=dnf
else
	say "error: neither apt-get nor dnf found; install by hand:"
	for d in "${deps[@]}"; do IFS=: read -r n deb _ _ <<<"$d"; echo "  $n ($deb)" >&2; done
	exit 1
fi

missing=()
for d in "${deps[@]}"; do
	IFS=: read -r name deb fed test <<<"$d"
	if ! bash -c "$test" >/dev/null 2>&1; then
		if [ $pm = apt ]; then missing+=("$deb"); else missing+=("$fed"); fi
		say "missing: $name"
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ $check_only = 1 ]; then
		exit 1
	fi
	# Deduplicate package names.
	mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	say "installing: ${pkgs[*]}"
	if [ $pm = apt ]; then
		export DEBIAN_FRONTEND=noninteractive
		$sudo apt-get update -qq >/dev/null
		$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	else
		$sudo dnf install -y -q "${pkgs[@]}"
	fi
fi

if ! pkg-config --exists libperf 2>/dev/null; then
	if [ $check_only = 1 ]; then
		say "missing: libperf"
		exit 1
	fi
	"$here/build-libperf.sh"
fi
exit 0
