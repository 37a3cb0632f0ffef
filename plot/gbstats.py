# SPDX-License-Identifier: GPL-2.0
"""What gupbench-plot and gupbench-compare share: reading a results folder
(summary.json, or its launch-*.json merged in memory) or one JSON file,
parsing benchmark names, per-launch samples, and the significance test.

A sample is one process launch: rows of one name inside one launch
(--benchmark_repetitions) are not independent samples, so they are folded
into one value (their median) and count as one launch."""
import glob
import itertools
import json
import math
import os
import re
import statistics
import subprocess
from math import comb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# runq_pct above which a row's pinners waited for a CPU long enough that
# its ns/op says more about the machine than the model (merge, compare)
BUSY_RUNQ_PCT = 10.0
# steal_pct above which the hypervisor took the pinners' PUs for long
# enough that the row measures the host as much as the model (one
# USER_HZ tick on one PU is 4% of a 0.25 s window, so not lower)
STOLEN_PCT = 10.0
# ref_atomic_ns above this multiple of the sweep's median: the row ran
# while the machine was slower than for the others
SLOW_REF = 1.2

NAME_RE = re.compile(
    r"^(?P<workload>[A-Za-z0-9_]+)/(?P<scheme>[A-Za-z0-9_]+)"
    r"/pages:(?P<pages>[0-9]+)/share:(?P<share>[^/]+)"
    r"(?:/with:(?P<with>[^/]+))?/place:(?P<place>[^/]+)"
    r"/threads:(?P<threads>[0-9]+)$")
NAME_FORM = "WORKLOAD/SCHEME/pages:N/share:MODE[/with:C]/place:P/threads:T"

# Row keys that are neither perf events nor competitor rates.
STD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name",
    "run_type", "repetitions", "repetition_index", "threads", "iterations",
    "real_time", "cpu_time", "time_unit", "launch", "label",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
    "ops", "ops_per_s", "pages_per_s", "slowpath_pct", "retries_per_op",
    "fairness_cov", "overlap_pct", "p50_ns", "p99_ns", "tsc_per_op",
    "timing_overhead_ns", "ref_atomic_ns",
    "fail_pct", "latency_samples", "thp_splits", "pmd_mapped_pct",
    "membind_failed", "bind_failed_threads", "perf_failed_threads",
    "perf_multiplexed_threads", "offcpu_pct", "runq_pct", "steal_pct",
    "sampled_slowpath_pct",
}


class InputError(Exception):
    """A path that is not gupbench results: one line for stderr, exit 2."""


class Config:
    """One configuration: the fields of a benchmark name."""
    __slots__ = ("name", "workload", "scheme", "pages", "share", "with_",
                 "place", "threads")

    def __init__(self, name):
        m = NAME_RE.match(name)
        if not m:
            raise ValueError(name)
        self.name = name
        self.workload = m["workload"]
        self.scheme = m["scheme"]
        self.pages = int(m["pages"])
        self.share = m["share"]
        self.with_ = m["with"] or ""
        self.place = m["place"]
        self.threads = int(m["threads"])

    def without(self, *fields):
        """The name with the given fields replaced by '*' (a pairing key)."""
        parts = [self.workload, self.scheme, f"pages:{self.pages}",
                 f"share:{self.share}"]
        if self.with_:
            parts.append(f"with:{self.with_}")
        parts += [f"place:{self.place}", f"threads:{self.threads}"]
        idx = {"workload": 0, "scheme": 1, "pages": 2, "share": 3}
        for f in fields:
            if f in idx:
                parts[idx[f]] = "*"
            elif f == "threads":
                parts[-1] = "*"
            elif f == "place":
                parts[-2] = "*"
            elif f == "with" and self.with_:
                parts[4] = "*"
        return "/".join(parts)


def _gupbench_list():
    """Sections of `build/gupbench --list`, for the registry's order of
    schemes, workloads and placements; {} when there is no binary."""
    exe = os.path.join(ROOT, "build", "gupbench")
    try:
        out = subprocess.run([exe, "--list"], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    sec, lists = None, {}
    for line in out.splitlines():
        if line and not line[0].isspace():
            sec = line.split()[0].rstrip(":").lower()
            lists[sec] = []
        elif sec and line.strip():
            lists[sec].append(line.split()[0].split(":")[0])
    return lists


_ORDER = None


def order_key(kind, value):
    """Sort key in the registry's order (`gupbench --list`); names the
    binary does not list (or no binary) sort after, alphabetically."""
    global _ORDER
    if _ORDER is None:
        _ORDER = _gupbench_list()
    known = _ORDER.get(kind, [])
    base = value.split(":")[0]
    if base in known:
        return (known.index(base), value)
    return (len(known), value)


def share_key(share):
    """same, pool:M (by M), private, then anything else."""
    if share == "same":
        return (0, 0, share)
    if share.startswith("pool:"):
        try:
            return (1, int(share[5:]), share)
        except ValueError:
            return (1, 0, share)
    if share == "private":
        return (2, 0, share)
    return (3, 0, share)


def config_key(c):
    """Sort key of a configuration: workload, scheme, pages, share,
    competitors (none first), placement, threads."""
    return (order_key("workloads", c.workload),
            order_key("schemes", c.scheme), c.pages, share_key(c.share),
            (c.with_ != "", c.with_), order_key("placements", c.place),
            c.threads)


TIME_UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def _load_json(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not JSON ({e})")


def _check_doc(path, d):
    if not isinstance(d, dict) or not isinstance(d.get("benchmarks"), list):
        raise InputError(f"{path}: no \"benchmarks\" list: not Google "
                         "Benchmark JSON")
    ctx = d.get("context")
    if not isinstance(ctx, dict) or "gupbench_version" not in ctx:
        raise InputError(f"{path}: context has no gupbench_version: not "
                         "gupbench output")


class Run:
    """One results folder or JSON file: context, rows with their parsed
    configuration and launch, and per-launch samples."""

    def __init__(self, path):
        self.path = path
        self.notes = []
        if not os.path.exists(path):
            raise InputError(f"{path}: no such file or directory")
        if os.path.isdir(path):
            summary = os.path.join(path, "summary.json")
            launches = sorted(glob.glob(os.path.join(path, "launch-*.json")))
            if os.path.isfile(summary):
                docs = [(summary, _load_json(summary))]
                self.source = summary
            elif launches:
                # No summary.json (a sweep killed before its merge): merge
                # the launches in memory, as plot/merge.py would.
                docs = [(f, _load_json(f)) for f in launches]
                self.source = os.path.join(path, "launch-*.json")
                self.notes.append(f"{path}: no summary.json; merged "
                                  f"{len(launches)} launch-*.json in memory")
            else:
                raise InputError(f"{path}: no summary.json or launch-*.json: "
                                 "not a gupbench results folder")
        else:
            docs = [(path, _load_json(path))]
            self.source = path
        self.context = {}
        self.errors = {}        # configuration name: its error messages
        rows, foreign, errs = [], 0, {}
        for f, d in docs:
            _check_doc(f, d)
            if not self.context:
                self.context = dict(d["context"])
            for b in d["benchmarks"]:
                if not isinstance(b, dict) or b.get("run_type") == "aggregate":
                    continue
                if b.get("error_occurred"):
                    msg = str(b.get("error_message", "?"))
                    self.errors.setdefault(str(b.get("name")), []) \
                        .append(msg)
                    errs.setdefault(msg, []).append((f, b.get("name")))
                    continue
                try:
                    c = Config(str(b.get("name", "")))
                    float(b["real_time"])
                except (ValueError, KeyError, TypeError):
                    foreign += 1
                    continue
                b = dict(b)
                # gupbench --benchmark_time_unit=us|ms|s: times in ns here
                scale = TIME_UNIT_NS.get(b.get("time_unit", "ns"))
                if scale is None:
                    foreign += 1
                    continue
                if scale != 1:
                    for k in ("real_time", "cpu_time"):
                        if isinstance(b.get(k), (int, float)):
                            b[k] = b[k] * scale
                    b["time_unit"] = "ns"
                # Rows of a summary carry their launch; rows of one launch
                # file (or one plain gupbench run) are one launch.
                b.setdefault("launch", os.path.basename(f))
                b["_config"] = c
                rows.append(b)
        for msg, where in errs.items():
            f, name = where[0]
            nc = len({n for _, n in where})
            self.notes.append(
                f"{f}: {name}: error: {msg}" if len(where) == 1 else
                f"{len(where)} error rows ({nc} configuration"
                f"{'' if nc == 1 else 's'}) in {self.source}: error: "
                f"{msg} (first: {name})")
        if not self.context.get("gupbench_failed_launches") and \
                self.source.endswith("launch-*.json"):
            # merged in memory: bench.sh's list of failures is beside them
            import merge
            self.context["gupbench_failed_launches"] = \
                merge.read_failed(path)
        for fl in self.context.get("gupbench_failed_launches") or []:
            if isinstance(fl, dict) and not fl.get("launch"):
                # exit 1 launches are kept: their error rows noted above
                self.notes.append(
                    f"{self.source}: a launch of {fl.get('config', '?')} "
                    f"failed (exit {fl.get('exit', '?')}) and has no rows: "
                    f"{fl.get('message', '?')}")
        if not rows:
            raise InputError(f"{self.source}: no benchmark named like "
                             f"{NAME_FORM}: not gupbench results")
        if foreign:
            self.notes.append(f"{self.source}: ignored {foreign} rows not "
                              "named like gupbench rows")
        self.rows = rows
        self.configs = {}
        self._by = {}
        for b in rows:
            c = b["_config"]
            self.configs.setdefault(c.name, c)
            self._by.setdefault(c.name, {}).setdefault(b["launch"], []) \
                .append(b)
        self.launches = len({b["launch"] for b in rows})

    def describe(self):
        """host, CPU, kernel, version: the machine line of titles."""
        c = self.context
        return (f"{c.get('host_name', '?')} ({c.get('cpu_model', '?')}), "
                f"{c.get('kernel', '?')}")

    def partial(self):
        return bool(self.context.get("gupbench_partial"))

    def samples(self, name, key="real_time"):
        """One value per launch of configuration NAME (the median of its
        rows in that launch); launches without KEY are left out."""
        out = []
        for launch, bs in sorted(self._by.get(name, {}).items()):
            vals = []
            for b in bs:
                v = b.get(key)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    vals.append(float(v))
            if vals:
                out.append(statistics.median(vals))
        return out

    def flagged(self, name, key="real_time"):
        """@key of each launch of NAME whose pinners waited for a CPU
        (runq_pct) or ran on PUs the hypervisor took (steal_pct) for more
        than the limits: launches whose time is partly not the model's."""
        out = []
        for launch, bs in sorted(self._by.get(name, {}).items()):
            hit = any(isinstance(b.get(k), (int, float)) and b[k] > lim
                      for b in bs for k, lim in (
                          ("runq_pct", BUSY_RUNQ_PCT),
                          ("steal_pct", STOLEN_PCT)))
            vals = [float(b[key]) for b in bs
                    if isinstance(b.get(key), (int, float))]
            if hit and vals:
                out.append(statistics.median(vals))
        return out

    def keys(self):
        """Numeric row keys present in any row."""
        ks = set()
        for b in self.rows:
            for k, v in b.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    ks.add(k)
        return ks

    def competitor_keys(self):
        """Competitors' own rates: *_per_s other than ops and pages, and
        their *_pct shares (query_pinned_pct)."""
        return sorted(k for k in self.keys() - STD_KEYS
                      if k.endswith("_per_s") or k.endswith("_pct"))

    def event_keys(self):
        """Perf events counted per op: the numeric keys that are neither
        standard counters nor competitor rates."""
        return sorted(self.keys() - STD_KEYS - set(self.competitor_keys()))


def spread(vals):
    """(median, min, max) of a list, or None for an empty one."""
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


# ---- significance -------------------------------------------------------

MIN_LAUNCHES = 3


def min_p(n1, n2):
    """Smallest two-sided p the exact Mann-Whitney U test can give with n1
    and n2 samples and no ties: both arrangements with the sides fully
    separated, out of C(n1+n2, n1)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, 2.0 / comb(n1 + n2, n1))


def launches_needed(alpha):
    """Launches per side (equal sides, at least MIN_LAUNCHES) at which the
    exact U test can reach p <= alpha at all."""
    n = MIN_LAUNCHES
    while min_p(n, n) > alpha + 1e-12 and n < 1000:
        n += 1
    return n


def _exact_tied_p(a, b):
    """Exact two-sided permutation p of the U statistic with midranks, for
    small samples with ties (scipy's exact method assumes no ties and its
    normal approximation is wrong at a handful of samples)."""
    pooled = a + b
    n1, n = len(a), len(a) + len(b)
    order = sorted(range(n), key=lambda i: pooled[i])
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[order[j + 1]] == pooled[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    mean = n1 * (n + 1) / 2
    obs = abs(sum(ranks[:n1]) - mean)
    hit = total = 0
    for idx in itertools.combinations(range(n), n1):
        total += 1
        if abs(sum(ranks[k] for k in idx) - mean) >= obs - 1e-9:
            hit += 1
    return hit / total


def utest(a, b):
    """Two-sided Mann-Whitney U p-value of samples a and b (scipy), exact
    where the samples are small."""
    from scipy.stats import mannwhitneyu
    a, b = list(a), list(b)
    if len(a) < 1 or len(b) < 1:
        return float("nan")
    tied = len(set(a + b)) < len(a) + len(b)
    if tied and comb(len(a) + len(b), len(a)) <= 20000:
        return _exact_tied_p(a, b)
    p = mannwhitneyu(a, b, alternative="two-sided").pvalue
    return float(p)


SIG, NOT_SIG, FEW, SMALL = "*", "~", "?", "="
MIN_CHANGE_PCT = 1.0


def change_pct(a, b):
    """B's median against A's, in per cent (nan when A's is 0)."""
    ma, mb = statistics.median(a), statistics.median(b)
    return (mb - ma) / ma * 100 if ma else float("nan")


def few_reason(n1, n2, alpha):
    """Why n1 vs n2 launches give no verdict: 'launches' (a side has
    fewer than MIN_LAUNCHES), 'alpha' (the exact test cannot reach alpha)
    or None (they can)."""
    if min(n1, n2) < MIN_LAUNCHES:
        return "launches"
    if min_p(n1, n2) > alpha + 1e-12:
        return "alpha"
    return None


def mark(p, chg, alpha, min_change):
    """The mark of a testable row from its p (or q) and change in per
    cent: NOT_SIG above alpha (or nan), SMALL for a change under
    min_change or none, else SIG."""
    if math.isnan(p) or p > alpha + 1e-12:
        return NOT_SIG
    if chg == chg and (abs(chg) < min_change or chg == 0):
        return SMALL
    return SIG


def verdict(a, b, alpha=0.05, min_change=0.0):
    """(mark, p): SIG when p <= alpha and the medians differ by at least
    min_change per cent, SMALL when p <= alpha but they differ by less, or
    not at all (a difference the test sees, too small to call a change),
    NOT_SIG when
    p > alpha, FEW when either side has fewer than MIN_LAUNCHES launches
    or the exact test cannot reach alpha with these sample sizes (3 vs 3:
    min p = 0.1)."""
    n1, n2 = len(a), len(b)
    p = utest(a, b) if n1 >= 2 and n2 >= 2 else float("nan")
    if few_reason(n1, n2, alpha):
        return FEW, p
    return mark(p, change_pct(a, b), alpha, min_change), p


def bh_adjust(ps):
    """Benjamini-Hochberg q-values of the p-values ps (nan left as is):
    q_i = min over j at or after i in ascending order of p_j * m / j,
    m the number of p-values. A row is a discovery at FDR alpha when
    q <= alpha."""
    idx = sorted((i for i, p in enumerate(ps) if p == p), key=lambda i: ps[i])
    m = len(idx)
    q = list(ps)
    run = 1.0
    for rank in range(m, 0, -1):
        i = idx[rank - 1]
        run = min(run, ps[i] * m / rank)
        q[i] = run
    return q


def fmt_num(v):
    """A value in at most 8 characters, 3 significant digits or more."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    if a == 0:
        return "0"
    if a < 0.01 or a >= 1e7:
        return f"{v:.2e}"
    if a < 10:
        return f"{v:.2f}"
    if a < 100:
        return f"{v:.1f}"
    return f"{v:.0f}"
