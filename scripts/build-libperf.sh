#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build and install libperf (the kernel's tools/lib/perf) for gupbench.
#
# Debian/Ubuntu ship no libperf package, so it is built from the
# distribution's linux-source package: only tools/{lib,build,scripts,include}
# and tools/arch/*/include are extracted (no top-level include/ or scripts/
# file is needed), into a temporary directory that is removed on exit.
# Installed under $PREFIX (/usr/local):
#   $PREFIX/include/perf/*.h
#   $PREFIX/lib/libperf.a            static only; libapi's objects are folded
#                                    in, so plain -lperf links
#   $PREFIX/lib/pkgconfig/libperf.pc
# No shared library is installed, so -lperf cannot pick up a stale .so.
# Fedora: installs libperf-devel with dnf instead.
#
# Idempotent: does nothing when `pkg-config --exists libperf`.
# Needs root (or sudo) and the package registry; nothing else is fetched.
#
# Usage: scripts/build-libperf.sh [--force]
#   --force   rebuild even if pkg-config already finds libperf
# Environment: PREFIX (default /usr/local), CC (default cc).
set -euo pipefail

prefix=${PREFIX:-/usr/local}
force=0
[ "${1:-}" = "--force" ] && force=1

say() { echo "build-libperf: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ $force = 0 ] && pkg-config --exists libperf 2>/dev/null; then
	say "libperf $(pkg-config --modversion libperf) already installed," \
	    "nothing to do"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "not root and no sudo"
	sudo="sudo"
fi

if ! command -v apt-get >/dev/null 2>&1; then
	if command -v dnf >/dev/null 2>&1; then
		say "installing libperf-devel with dnf"
		$sudo dnf install -y -q libperf-devel
		pkg-config --exists libperf ||
			die "pkg-config cannot find libperf after dnf"
		exit 0
	fi
	die "neither apt-get nor dnf found; build tools/lib/perf by hand"
fi

# Debian/Ubuntu: tools needed to unpack and build.
need=()
command -v make >/dev/null 2>&1 || need+=(make)
command -v "${CC:-cc}" >/dev/null 2>&1 || need+=(gcc)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v bzip2 >/dev/null 2>&1 || need+=(bzip2)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

find_source() {
	# Debian: /usr/src/linux-source-6.1.tar.xz
	# Ubuntu: /usr/src/linux-source-X.Y.Z/linux-source-X.Y.Z.tar.bz2
	find /usr/src -maxdepth 2 -name 'linux-source-*.tar.*' 2>/dev/null |
		sort -V | tail -n 1
}

tarball=$(find_source)
[ -z "$tarball" ] && need+=(linux-source)

if [ ${#need[@]} -gt 0 ]; then
	say "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null
	$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" \
		>/dev/null
	tarball=$(find_source)
	[ -n "$tarball" ] ||
		die "linux-source installed but no tarball in /usr/src"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/build-libperf.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

say "extracting tools/ from $tarball into $tmp"
# The top-level directory name varies between distributions: strip it.
tar -xf "$tarball" -C "$tmp" --strip-components=1 \
	--wildcards --no-wildcards-match-slash \
	'*/tools/lib' '*/tools/build' '*/tools/scripts' '*/tools/include' \
	'*/tools/arch/*/include'
[ -f "$tmp/tools/lib/perf/Makefile" ] ||
	die "$tarball has no tools/lib/perf"

out="$tmp/out"
mkdir -p "$out"
say "building libperf and libapi"
# A clean environment: the caller's make flags and CFLAGS are not
# libperf's. -Wno-error: a newer compiler than the kernel's may warn.
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u CFLAGS -u O -u OUTPUT -u V \
	make -C "$tmp/tools/lib/perf" -j"$(nproc)" O="$out/" \
	EXTRA_CFLAGS="-Wno-error -O2" "$out/libperf.a" "$out/libapi.a" \
	>"$tmp/build.log" 2>&1 || {
	tail -n 30 "$tmp/build.log" >&2
	die "libperf build failed"
}

# libperf.a alone leaves fdarray__* (libapi) undefined: fold libapi in.
ar rcs "$out/libperf-full.a" "$out/libperf-in.o" "$out/libapi-in.o"

version=$(sed -n 's/^LIBPERF_\(VERSION\|PATCHLEVEL\|EXTRAVERSION\) = //p' \
	"$tmp/tools/lib/perf/Makefile" | paste -sd.)
kver=$(basename "$tarball" | sed 's/^linux-source-//; s/\.tar\..*$//')
cat >"$out/libperf.pc" <<EOF
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Built by gupbench scripts/build-libperf.sh from linux-source $kver;
# static only, libapi folded into libperf.a.

prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: libperf
Description: perf library (kernel tools/lib/perf, linux $kver)
Version: ${version:-0.0.1}
Libs: -L\${libdir} -lperf
Cflags: -I\${includedir}
EOF

say "installing into $prefix (include/perf, lib/libperf.a," \
    "lib/pkgconfig/libperf.pc)"
$sudo install -d -m 755 "$prefix/include/perf" "$prefix/lib/pkgconfig"
$sudo install -m 644 "$tmp"/tools/lib/perf/include/perf/*.h \
	"$prefix/include/perf/"
$sudo install -m 644 "$out/libperf-full.a" "$prefix/lib/libperf.a"
$sudo install -m 644 "$out/libperf.pc" "$prefix/lib/pkgconfig/libperf.pc"

if ! pkg-config --exists libperf; then
	say "warning: pkg-config does not search $prefix/lib/pkgconfig;" \
	    "set PKG_CONFIG_PATH=$prefix/lib/pkgconfig"
fi
say "done: libperf from linux $kver: -L$prefix/lib -lperf"
