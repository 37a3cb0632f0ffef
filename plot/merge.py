#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Merge a results folder's launch-*.json (one gupbench process each) into
summary.json: the context of the first launch, every launch's "placement
CONFIG" keys, the values that differ between launches (tsc_hz, load_avg,
date, ...) under gupbench_launch_context by launch file, and
gupbench_partial, gupbench_launches and gupbench_failed_launches (from
bench.sh's failed.tsv); every benchmark row, each tagged
with its launch. A gupbench_version or pmu that differs between launches
is warned about. Written to a temporary name and renamed, never left
half-written."""
import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import gbstats  # noqa: E402


# the first pinner's PU in a launch's "placement CONFIG" context line
PU0_RE = re.compile(r"thread 0: pu (-?[0-9]+)")


def read_failed(folder):
    """bench.sh's failed.tsv: one {config, exit, launch, message} per
    launch that failed; launch is the file kept (exit 1: its error rows)
    or None."""
    failed = []
    try:
        with open(os.path.join(folder, "failed.tsv")) as fh:
            for line in fh:
                f = line.rstrip("\n").split("\t", 3)
                if len(f) == 4 and f[1].lstrip("-").isdigit():
                    failed.append({"config": f[0], "exit": int(f[1]),
                                   "launch": None if f[2] == "-" else f[2],
                                   "message": f[3]})
    except FileNotFoundError:
        pass
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir")
    ap.add_argument("--partial", type=int, default=0)
    ap.add_argument("--expected", type=int, default=0)
    ap.add_argument("--elapsed", type=int, default=-1,
                    help="wall seconds the sweep took (bench.sh)")
    ap.add_argument("--sweep", choices=("full", "quick"),
                    help="which make bench matrix ran (bench.sh)")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.dir, "launch-*.json")))
    if not files:
        print(f"merge: no launch-*.json in {a.dir}", file=sys.stderr)
        return 2
    ctxs, rows = {}, []
    for f in files:
        with open(f) as fh:
            d = json.load(fh)
        ctxs[os.path.basename(f)] = dict(d.get("context", {}))
        for b in d.get("benchmarks", []):
            b["launch"] = os.path.basename(f)
            rows.append(b)
    ctx = dict(next(iter(ctxs.values())))
    ctx.pop("command_line", None)
    varying = set()
    for c in ctxs.values():
        for k, v in c.items():
            if k.startswith("placement "):
                ctx[k] = v
            elif k != "command_line" and ctx.get(k) != v:
                varying.add(k)
    for k in sorted(varying & {"gupbench_version", "pmu"}):
        vals = sorted({str(c.get(k)) for c in ctxs.values()})
        print(f"merge: warning: launches differ in {k}: "
              f"{'; '.join(vals)}", file=sys.stderr)
    if varying:
        ctx["gupbench_launch_context"] = {
            f: {k: c.get(k) for k in sorted(varying)}
            for f, c in ctxs.items()}
    ctx["gupbench_failed_launches"] = read_failed(a.dir)
    ctx["gupbench_launches"] = len(files)
    ctx["gupbench_expected_launches"] = a.expected
    ctx["gupbench_partial"] = bool(a.partial)
    if a.elapsed >= 0:
        ctx["gupbench_elapsed_s"] = a.elapsed
    if a.sweep:
        ctx["gupbench_sweep"] = a.sweep
    # rows a busy or oversubscribed machine, or its host, took time from
    for key, limit, what in (
            ("runq_pct", gbstats.BUSY_RUNQ_PCT, "waiting for a CPU for more "
             "than {:g}% of their window ({}; worst {:.0f}%, {}): the "
             "machine was busy or oversubscribed; their real_time includes "
             "that wait"),
            ("steal_pct", gbstats.STOLEN_PCT, "on PUs the hypervisor took "
             "for more than {:g}% of their window ({}; worst {:.0f}%, {}): "
             "the host ran something else on this guest's CPUs; their "
             "real_time includes that time")):
        over = sorted(((b[key], b.get("name", "?")) for b in rows
                       if isinstance(b.get(key), (int, float))
                       and b[key] > limit), reverse=True)
        if over:
            print(f"merge: warning: {len(over)} of {len(rows)} rows had "
                  "pinners " + what.format(limit, key, *over[0]),
                  file=sys.stderr)
    # rows that ran while the machine itself was slower (a reference
    # atomic timed around each row on its first pinner's PU), against the
    # rows timed on the same PU: cores of two kinds differ by design
    by_pu = {}
    for b in rows:
        v = b.get("ref_atomic_ns")
        if not isinstance(v, (int, float)) or v <= 0:
            continue
        m = PU0_RE.search(str(ctxs.get(b["launch"], {}).get(
            "placement " + str(b.get("name")), "")))
        by_pu.setdefault(m.group(1) if m else None, []).append(
            (v, b.get("name", "?")))
    slow, mids = [], []
    for pu, ref in by_pu.items():
        mid = statistics.median(v for v, _ in ref)
        mids.append(mid)
        slow += [(v, n) for v, n in ref if v > gbstats.SLOW_REF * mid]
    if slow:
        slow.sort(reverse=True)
        what = (f"the sweep's median of {mids[0]:.2f} ns" if len(mids) == 1
                else f"the median of the rows timed on the same PU "
                f"({min(mids):.2f}-{max(mids):.2f} ns)")
        print(f"merge: warning: {len(slow)} of {len(rows)} rows ran "
              "while an uncontended atomic cost more than "
              f"{gbstats.SLOW_REF:g}x {what} (ref_atomic_ns; worst "
              f"{slow[0][0]:.2f} ns, {slow[0][1]}): the machine was "
              "slower then (on a VM: the host); compare those rows with "
              "care", file=sys.stderr)
    out = os.path.join(a.dir, "summary.json")
    with open(out + ".tmp", "w") as fh:
        json.dump({"context": ctx, "benchmarks": rows}, fh, indent=1)
    os.replace(out + ".tmp", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
