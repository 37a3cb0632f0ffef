#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Helpers of tests/check_compare.sh and tests/check_plot.sh.

  plottools.py make DIR [options]  write a synthetic results folder
  plottools.py stats               unit cases of plot/gbstats.py: one
                                   line per case (ok / FAIL NAME: why)
                                   and "N passed, N failed"
  plottools.py check-text FILE     every line at most 72 columns
  plottools.py check-md FILE       a markdown table with equal cells
  plottools.py check-csv FILE [VERDICT...]  parses; verdicts present"""
import argparse
import csv
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "plot"))


def row(name, launch, rt, threads, events=(), comp=None):
    ops = 1e9 / rt * threads
    b = {"name": name, "run_name": name, "run_type": "iteration",
         "repetitions": 1, "repetition_index": 0, "threads": threads,
         "iterations": int(ops / 4), "real_time": rt, "cpu_time": rt * 0.98,
         "time_unit": "ns", "ops": ops / 4, "ops_per_s": ops,
         "pages_per_s": ops, "slowpath_pct": 0.5 * threads,
         "retries_per_op": 0.01 * threads, "fairness_cov": 0.01,
         "overlap_pct": 99.9, "p50_ns": rt * 0.9, "p99_ns": rt * 3,
         "tsc_per_op": rt * 2.6, "offcpu_pct": 1.0, "runq_pct": 0.5,
         "steal_pct": 0.0, "timing_overhead_ns": 28.0,
         "ref_atomic_ns": 2.0}
    for e in events:
        b[e] = rt * 3 if e == "cycles" else 0.001
    if comp:
        for k in comp:
            b[k] = 1000.0 / threads
    if launch:
        b["launch"] = launch
    return b


def make(a):
    """A results folder: every (scheme, workload, thread count, competitor,
    placement) configuration in LAUNCHES launch files, real_time = BASE *
    scale of the scheme * threads, with a little noise."""
    os.makedirs(a.dir, exist_ok=True)
    rnd = random.Random(a.seed)
    schemes = a.schemes.split(",")
    threads = [int(t) for t in a.threads.split(",")]
    comps = a.with_.split(";") if a.with_ else [""]
    places = a.place.split(",")
    scale = {}
    for kv in (a.scale or "").split(","):
        if kv:
            k, v = kv.split("=")
            scale[k] = float(v)
    events = [e for e in a.events.split(",") if e]
    offcpu = {k: float(v) for k, v in
              (kv.split("=") for kv in (a.offcpu or "").split(",") if kv)}
    runq = {k: float(v) for k, v in
            (kv.split("=") for kv in (a.runq or "").split(",") if kv)}
    steal = {k: float(v) for k, v in
             (kv.split("=") for kv in (a.steal or "").split(",") if kv)}
    configs = []
    for s in schemes:
        configs.append((f"raw/{s}/pages:1/share:same/place:compact/"
                        "threads:1", 1, s, ""))
        for w in a.workloads.split(","):
            for pl in places:
                for c in comps:
                    for t in threads:
                        # gupbench joins a competitor set with '+'
                        wc = f"/with:{c.replace(',', '+')}" if c else ""
                        configs.append((f"{w}/{s}/pages:{a.pages}/share:"
                                        f"{a.share}{wc}/place:{pl}/threads:"
                                        f"{t}", t, s, c))
    for t in threads:
        configs.append((f"c2c/empty/pages:1/share:same/place:compact/"
                        f"threads:{t}", t, "empty", ""))
    if a.drop:
        configs = [c for c in configs if a.drop not in c[0]]
    n = 0
    ctx = {"date": "2026-11-21T09:00:00+00:00", "host_name": "testhost",
           "executable": "build/gupbench", "num_cpus": 4,
           "cpu_model": "Test CPU", "kernel": "Linux 6.1.0-test x86_64",
           "gupbench_version": a.version, "topology": "1 package, 4 PUs",
           "pmu": "test", "mem_policy": "local"}
    for kv in a.context or []:
        k, v = kv.split("=", 1)
        ctx[k] = v
    for rep in range(a.launches):
        for name, t, s, c in configs:
            rt = a.base * scale.get(s, 1.0) * t * \
                (1 + a.noise * rnd.random())
            comp = {"fork": ["forks_per_s"],
                    "migrate": ["migrate_ok_per_s", "migrate_fail_per_s"]}
            ck = [k for x in c.split(",") if x
                  for k in comp.get(x.split(":")[0], [])]
            b = row(name, None, rt, t, events, ck)
            if s in offcpu:
                b["offcpu_pct"] = offcpu[s]
            if s in runq:
                b["runq_pct"] = b["offcpu_pct"] = runq[s]
            if a.no_runq:
                del b["runq_pct"]
            if s in steal:
                b["steal_pct"] = steal[s]
            b["ref_atomic_ns"] = a.ref
            if a.error and a.error in name:
                b = {"name": name, "run_name": name, "run_type": "iteration",
                     "error_occurred": True, "error_message": a.error_msg,
                     "real_time": 0, "time_unit": "ns"}
            d = {"context": dict(ctx, command_line=name),
                 "benchmarks": [b]}
            with open(os.path.join(a.dir, f"launch-{n:04d}.json"), "w") as f:
                json.dump(d, f)
            n += 1
    if not a.no_summary:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "plot",
                                                     "merge.py"), a.dir],
                       check=True)
    return 0


# ---- stats unit cases ---------------------------------------------------

class T:
    passed = failed = 0

    @classmethod
    def check(cls, name, cond, why=""):
        if cond:
            print(f"ok   {name}")
            cls.passed += 1
        else:
            print(f"FAIL {name}: {why}")
            cls.failed += 1


def stats():
    import gbstats
    from scipy.stats import mannwhitneyu
    v = gbstats.verdict
    fast = [10.0, 10.2, 9.9, 10.1, 10.05]
    slow = [20.0, 20.3, 19.8, 20.1, 20.2]
    m, p = v(fast, slow)
    T.check("clear_difference_significant", m == gbstats.SIG and p < 0.05,
            f"{m} {p}")
    m, p = v(fast, list(fast))
    T.check("identical_not_significant", m == gbstats.NOT_SIG and p > 0.9,
            f"{m} {p}")
    mixed = [10.0, 10.3, 9.8, 10.15, 9.95]
    m, p = v(fast, mixed)
    T.check("overlapping_not_significant", m == gbstats.NOT_SIG, f"{m} {p}")
    m, p = v(fast[:3], slow[:3])
    T.check("three_vs_three_too_few", m == gbstats.FEW
            and abs(p - 0.1) < 1e-9, f"{m} {p}")
    m, p = v(fast[:3], slow[:3], alpha=0.1)
    T.check("three_vs_three_alpha_0.1", m == gbstats.SIG, f"{m} {p}")
    m, p = v(fast[:2], slow[:2], alpha=0.5)
    T.check("two_launches_too_few_whatever_alpha", m == gbstats.FEW,
            f"{m} {p}")
    m, p = v(fast[:4], slow[:4])
    T.check("four_vs_four_separated_significant",
            m == gbstats.SIG and abs(p - 2 / 70) < 1e-9, f"{m} {p}")
    m, p = v(fast[:1], slow[:1])
    T.check("one_launch_too_few", m == gbstats.FEW, f"{m} {p}")
    # Significant but small: below --min-change it is SMALL, not SIG.
    tight = [10.0, 10.001, 10.002, 10.003, 10.004]
    near = [x * 1.005 for x in tight]
    m, p = v(tight, near, min_change=1.0)
    T.check("small_change_not_sig", m == gbstats.SMALL and p < 0.05,
            f"{m} {p}")
    m, p = v(tight, near, min_change=0.0)
    T.check("small_change_sig_without_min", m == gbstats.SIG, f"{m} {p}")
    m, p = v(fast, slow, min_change=50.0)
    T.check("large_change_sig", m == gbstats.SIG, f"{m} {p}")
    q = gbstats.bh_adjust([0.01, 0.04, 0.03, 0.005, float("nan")])
    T.check("bh_adjust", [round(x, 9) for x in q[:4]] ==
            [0.02, 0.04, 0.04, 0.02] and q[4] != q[4], q)
    T.check("few_reason", (gbstats.few_reason(2, 20, 0.05),
                           gbstats.few_reason(3, 3, 0.05),
                           gbstats.few_reason(4, 4, 0.05)) ==
            ("launches", "alpha", None))
    T.check("min_p_3v3", abs(gbstats.min_p(3, 3) - 0.1) < 1e-12,
            gbstats.min_p(3, 3))
    T.check("launches_needed_0.05", gbstats.launches_needed(0.05) == 4,
            gbstats.launches_needed(0.05))
    T.check("launches_needed_0.01", gbstats.launches_needed(0.01) == 5,
            gbstats.launches_needed(0.01))
    # Ties: exact permutation p, not scipy's normal approximation
    # (0.013, below the exact minimum of 4 vs 4).
    p = gbstats.utest([1.0] * 4, [2.0] * 4)
    T.check("tied_exact", abs(p - 2 / 70) < 1e-9, p)
    p = gbstats.utest([5.0] * 3, [5.0] * 3)
    T.check("all_tied_p1", abs(p - 1) < 1e-9, p)
    a, b = [1.0, 4.0, 6.0, 9.0], [2.0, 3.0, 5.0, 7.0, 8.0]
    T.check("untied_matches_scipy_exact",
            abs(gbstats.utest(a, b) - mannwhitneyu(
                a, b, alternative="two-sided", method="exact").pvalue)
            < 1e-12)
    a, b = [1.0, 2.0, 2.0, 5.0], [2.0, 3.0, 4.0, 6.0]
    T.check("tied_exact_two_sided_symmetric",
            abs(gbstats.utest(a, b) - gbstats.utest(b, a)) < 1e-12)
    c = gbstats.Config("pin_ro/pincount_sameline/pages:16/share:pool:64/"
                       "with:fork:1,migrate:1/place:scatter/threads:128")
    T.check("name_parse", (c.workload, c.scheme, c.pages, c.share, c.with_,
                           c.place, c.threads) ==
            ("pin_ro", "pincount_sameline", 16, "pool:64",
             "fork:1,migrate:1", "scatter", 128))
    T.check("name_pair_key", c.without("scheme") ==
            "pin_ro/*/pages:16/share:pool:64/with:fork:1,migrate:1/"
            "place:scatter/threads:128", c.without("scheme"))
    try:
        gbstats.Config("BM_memcpy/8")
        T.check("name_foreign_rejected", False, "parsed")
    except ValueError:
        T.check("name_foreign_rejected", True)
    print(f"{T.passed} passed, {T.failed} failed")
    return 1 if T.failed else 0


def check_text(path):
    bad = [(i + 1, len(ln)) for i, ln in
           enumerate(open(path).read().splitlines()) if len(ln) > 72]
    if bad:
        print(f"lines over 72 columns (line, width): {bad[:5]}")
        return 1
    return 0


def check_md(path):
    lines = [ln for ln in open(path).read().splitlines()
             if ln.startswith("|")]
    if len(lines) < 3:
        print("no markdown table")
        return 1
    cells = {ln.count("|") - ln.count("\\|") for ln in lines}
    if len(cells) != 1 or not set(lines[1]) <= set("|-: "):
        print(f"ragged table or no separator row: {lines[:3]}")
        return 1
    return 0


def check_csv(path, verdicts):
    rows = list(csv.DictReader(open(path)))
    if not rows or "p_value" not in rows[0] or "verdict" not in rows[0]:
        print("no csv header with p_value, verdict")
        return 1
    if any(len(r) != len(rows[0]) or None in r for r in rows):
        print("ragged csv")
        return 1
    have = {r["verdict"] for r in rows}
    missing = [v for v in verdicts if v not in have]
    if missing:
        print(f"verdicts {missing} not in {sorted(have)}")
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--schemes", default="bias,pincount")
    m.add_argument("--workloads", default="pin")
    m.add_argument("--threads", default="1,2")
    m.add_argument("--with", dest="with_", default="",
                   help="competitor sets, ';' between sets")
    m.add_argument("--place", default="compact")
    m.add_argument("--pages", default="1")
    m.add_argument("--share", default="same")
    m.add_argument("--launches", type=int, default=3)
    m.add_argument("--base", type=float, default=10.0)
    m.add_argument("--scale", help="SCHEME=FACTOR,...")
    m.add_argument("--offcpu", help="SCHEME=PCT,...: offcpu_pct (else 1)")
    m.add_argument("--runq", help="SCHEME=PCT,...: runq_pct and offcpu_pct "
                   "(else 0.5 and 1)")
    m.add_argument("--steal", help="SCHEME=PCT,...: steal_pct")
    m.add_argument("--ref", type=float, default=2.0,
                   help="ref_atomic_ns of every row")
    m.add_argument("--no-runq", action="store_true",
                   help="rows without runq_pct (older results)")
    m.add_argument("--events", default="")
    m.add_argument("--drop", help="leave out configurations containing this")
    m.add_argument("--error", help="configurations containing this are "
                   "error rows in every launch")
    m.add_argument("--error-msg", default="injected failure")
    m.add_argument("--noise", type=float, default=0.01,
                   help="relative noise of real_time (uniform, one-sided)")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--version", default="test")
    m.add_argument("--context", action="append",
                   help="KEY=VALUE: a context entry (repeatable)")
    m.add_argument("--no-summary", action="store_true")
    sub.add_parser("stats")
    for c in ("check-text", "check-md"):
        sub.add_parser(c).add_argument("file")
    c = sub.add_parser("check-csv")
    c.add_argument("file")
    c.add_argument("verdicts", nargs="*")
    a = ap.parse_args()
    if a.cmd == "make":
        return make(a)
    if a.cmd == "stats":
        return stats()
    if a.cmd == "check-text":
        return check_text(a.file)
    if a.cmd == "check-md":
        return check_md(a.file)
    return check_csv(a.file, a.verdicts)


if __name__ == "__main__":
    sys.exit(main())
