"""Cohort comparison: validity of the intervals and p-values, and speed.

Run ``python benchmarks/bench_compare.py`` (``--quick`` for a small run). Costs are simulated
as real ones look: lognormal with sigma 1.5 and Pareto with alpha 2.5 or 1.5, scaled to mean
1, cohort a's multiplied by a known true ratio of means (1.2). Figures, not timed tests:

(a) coverage of the 95% ratio interval (miss rate below / above the truth) among the rows not
    flagged (``reliable``), and the share flagged; targets 93-97% for Welch at n >= 500 and the
    bootstrap at n = 5,000 on lognormal 1.5 and Pareto 2.5; reported without target: n = 50, the
    bootstrap at 500, unequal cohorts 500 vs 5,000, Pareto 1.5, winsorize=0.999. The validity of the
    flags over many more shapes is benchmarks/bench_validity.py's
(b) A/A: random halvings of fresh lognormal 1.5 samples; share of p < 0.05 in 4-6% at 10,000
(c) null tags: share of runs with any Benjamini-Hochberg discovery among tags with no effect
(d) clustered data: coverage of the clustered interval 93-97%, the plain one shown to undercover
(e) agreement: Welch = scipy.stats.ttest_ind, the ratio's ends = where Welch's t of a - rho b is
    its quantile (Fieller), BCa = scipy's
(f) speed on this machine: bootstrap of 10,000 sessions x 5 metrics x 2,000 resamples <= 2 s;
    the default at 100,000 <= 0.5 s; compare_tags of 20 tags at 100,000 (Welch) <= 1 s; Dask
    Welch over bench_store's 10,000,000-session store <= 2x daily_summary's time
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_RATIO = 1.2
DISTS = {"lognormal s1.5": ("lognormal", 1.5), "pareto a2.5": ("pareto", 2.5), "pareto a1.5": ("pareto", 1.5)}


def draw(rng: np.random.Generator, dist: str, n: int) -> np.ndarray:
    """Per-session costs with mean 1."""
    kind, shape = DISTS[dist]
    if kind == "lognormal":
        return rng.lognormal(-shape**2 / 2, shape, n)
    return (rng.pareto(shape, n) + 1) * (shape - 1) / shape


def two_cohorts(rng, dist: str, n_a: int, n_b: int) -> tuple[pd.DataFrame, np.ndarray]:
    cost = np.r_[TRUE_RATIO * draw(rng, dist, n_a), draw(rng, dist, n_b)]
    return pd.DataFrame({"total_cost": cost}), np.r_[np.ones(n_a, bool), np.zeros(n_b, bool)]


# -- (a) coverage ------------------------------------------------------------------------


def coverage_task(args) -> np.ndarray:
    """Replications ``start..stop`` of one setting: (ratio, low, high) of each."""
    dist, n_a, n_b, method, winsorize, start, stop = args
    from orq_nb.analysis.compare.comparison import compare_cohorts

    out = np.empty((stop - start, 4))
    for i, r in enumerate(range(start, stop)):
        df, mask = two_cohorts(np.random.default_rng([n_a, n_b, r, len(dist)]), dist, n_a, n_b)
        row = compare_cohorts(df, mask, metrics=["total_cost"], method=method, winsorize=winsorize,
                              random_state=r).loc["total_cost"]
        out[i] = row["ratio"], row["ratio_low"], row["ratio_high"], row["reliable"]
    return out


def run_tasks(pool, fn, settings: list, reps: int, jobs: int) -> list:
    """Split each setting's replications over the pool; results in settings' order."""
    chunk = max(1, -(-reps // (4 * jobs)))
    futures = [[pool.submit(fn, (*s, start, min(start + chunk, reps))) for start in range(0, reps, chunk)]
               for s in settings]
    return [np.concatenate([f.result() for f in group]) for group in futures]


def misses(found: np.ndarray, truth: float) -> tuple[float, float, float, float]:
    """Among the rows not flagged: coverage, share of intervals entirely below the truth, entirely above
    it (an unbounded end covers); and the share of rows flagged."""
    kept = found[found[:, 3] > 0] if found.shape[1] > 3 else found
    low, high = kept[:, 1], kept[:, 2]
    if not len(kept):
        return np.nan, np.nan, np.nan, 1.0
    below, above = (high < truth).mean(), (low > truth).mean()
    return 1 - below - above, below, above, 1 - len(kept) / len(found)


def bench_coverage(pool, jobs: int, reps_welch: int, reps_boot: int) -> list[bool]:
    settings = []
    for dist in DISTS:
        for n_a, n_b in ((50, 50), (500, 500), (5000, 5000), (500, 5000)):
            settings.append((dist, n_a, n_b, "welch", None))
            settings.append((dist, n_a, n_b, "welch", 0.999))
            settings.append((dist, n_a, n_b, "bootstrap", None))
    welch = [s for s in settings if s[3] == "welch"]
    boot = [s for s in settings if s[3] == "bootstrap"]
    start = time.perf_counter()
    results = dict(zip(welch, run_tasks(pool, coverage_task, welch, reps_welch, jobs), strict=True))
    results |= dict(zip(boot, run_tasks(pool, coverage_task, boot, reps_boot, jobs), strict=True))
    print(f"(a) coverage of the 95% ratio interval, true ratio {TRUE_RATIO} ({reps_welch:,} replications for "
          f"Welch, {reps_boot:,} for the bootstrap; {time.perf_counter() - start:.0f} s)")
    print(f"    {'costs':15} {'n_a':>5} {'n_b':>5}  {'method':22} {'coverage':>8} {'below':>6} "
          f"{'above':>6} {'flagged':>8}  target")
    met = []
    for s in settings:
        dist, n_a, n_b, method, winsorize = s
        target = (n_a == n_b and dist != "pareto a1.5" and
                  ((method == "welch" and n_a >= 500) or (method == "bootstrap" and n_a >= 5000))
                  and winsorize is None)
        rows = [(method + (" winsorize 0.999" if winsorize else ""), results[s])]
        for name, found in rows:
            cov, below, above, flagged = misses(found, TRUE_RATIO)
            verdict = ""
            if target and name == method:
                ok = 0.93 <= cov <= 0.97
                met.append(ok)
                verdict = "93-97% " + ("ok" if ok else "MISSED")
            print(f"    {dist:15} {n_a:>5,} {n_b:>5,}  {name:22} {cov:8.1%} {below:6.1%} {above:6.1%} "
                  f"{flagged:8.1%}  {verdict}")
    return met


# -- (b) A/A -----------------------------------------------------------------------------


def aa_task(args) -> np.ndarray:
    """p-values of random halvings of samples ``start..stop`` (one fresh lognormal 1.5 sample each)."""
    n, halvings, method, start, stop = args
    from orq_nb.analysis.compare.comparison import compare_cohorts

    out = np.empty((stop - start, halvings))
    for i, s in enumerate(range(start, stop)):
        rng = np.random.default_rng([n, s, 99])
        df = pd.DataFrame({"total_cost": rng.lognormal(-1.125, 1.5, n)})
        for h in range(halvings):
            mask = np.zeros(n, bool)
            mask[rng.permutation(n)[: n // 2]] = True
            # The bootstrap reports Welch's p-value for a mean: its own p-value (which inverts its interval)
            # is a median's, so that is what its A/A measures.
            statistic = "median" if method == "bootstrap" else "mean"
            out[i, h] = compare_cohorts(df, mask, metrics=["total_cost"], method=method, statistic=statistic,
                                        random_state=h).loc["total_cost", "p_value"]
    return out


def bench_aa(pool, samples: int, halvings: int, boot_halvings: int) -> list[bool]:
    print(f"(b) A/A: random halvings of {samples} fresh lognormal s1.5 samples; share of p < 0.05 "
          "(pooled; min-max across samples)")
    met = []
    for n in (10_000, 1_000):
        for method, h in (("welch", halvings), ("bootstrap", boot_halvings)):
            if not h:
                continue
            futures = [pool.submit(aa_task, (n, h, method, s, s + 1)) for s in range(samples)]
            ps = np.concatenate([f.result() for f in futures])
            per = (ps < 0.05).mean(axis=1)
            share = (ps < 0.05).mean()
            verdict = ""
            if n == 10_000 and method == "welch":
                met.append(0.04 <= share <= 0.06)
                verdict = "target 4-6% " + ("ok" if met[-1] else "MISSED")
            label = "welch" if method == "welch" else "bootstrap, medians (inverted interval)"
            print(f"    n={n:>6,} {label:38} {h:>5,} halvings each: {share:5.2%}  "
                  f"(samples {per.min():.1%}-{per.max():.1%})  {verdict}", flush=True)
    return met


# -- (c) null tags -----------------------------------------------------------------------


def null_task(args) -> np.ndarray:
    """For runs ``start..stop``: whether any null tag was a BH discovery."""
    n_tags, sigma, winsorize, method, start, stop = args
    from orq_nb.analysis.compare.comparison import compare_tags

    n = 10_000
    out = np.empty(stop - start, bool)
    tags = [f"t{i:03d}" for i in range(n_tags)]
    for i, r in enumerate(range(start, stop)):
        rng = np.random.default_rng([n_tags, int(sigma * 10), r])
        has = rng.random((n, n_tags)) < 0.1
        df = pd.DataFrame({"total_cost": rng.lognormal(-sigma**2 / 2, sigma, n),
                           "tags": [[tags[j] for j in np.flatnonzero(row)] for row in has]})
        got = compare_tags(df, tags, method=method, winsorize=winsorize, random_state=r)
        out[i] = (got["p_adjusted"] < 0.05).any()
    return out


def bench_null_tags(pool, jobs: int, runs: int, boot_runs: int) -> None:
    print("(c) null tags: 10,000 sessions, each tag on a random 10% of them, no effect; share of runs with "
          "any BH discovery at 5% (reported: BH promises 5% or less)")
    settings = [(t, s, w, "welch") for t in (30, 100) for s in (1.0, 1.5) for w in (None, 0.999)]
    found = run_tasks(pool, null_task, settings, runs, jobs)
    boot = [(30, 1.5, None, "bootstrap"), (30, 1.5, 0.999, "bootstrap")] if boot_runs else []
    found += run_tasks(pool, null_task, boot, boot_runs, jobs) if boot else []
    for (tags, sigma, win, method), hits in zip(settings + boot, found, strict=True):
        print(f"    {tags:>3} tags  sigma {sigma}  {method:9} {'winsorize 0.999' if win else 'raw':15} "
              f"{hits.mean():6.1%} of {len(hits):,} runs", flush=True)


# -- (d) clustered -----------------------------------------------------------------------


def cluster_task(args) -> np.ndarray:
    """Replications: ratio intervals, clustered and plain, with contacts of their own mean cost."""
    method, contacts, start, stop = args
    from orq_nb.analysis.compare.comparison import compare_cohorts

    out = np.empty((stop - start, 2, 4))
    for i, r in enumerate(range(start, stop)):
        rng = np.random.default_rng([contacts, r, 7])
        sizes = rng.integers(5, 51, 2 * contacts)
        level = rng.lognormal(-0.5, 1.0, 2 * contacts)  # a contact's own mean, mean 1 over contacts
        level[:contacts] *= TRUE_RATIO
        cost = np.repeat(level, sizes) * rng.lognormal(-0.125, 0.5, sizes.sum())
        ids = np.repeat([f"c{c}" for c in range(2 * contacts)], sizes)
        n_a = int(sizes[:contacts].sum())
        df = pd.DataFrame({"id": [f"s{k}" for k in range(len(cost))], "total_cost": cost,
                           "contact_ids": [[c] for c in ids]})
        mask = np.r_[np.ones(n_a, bool), np.zeros(len(cost) - n_a, bool)]
        for j, cluster in enumerate(("contact_ids", None)):
            row = compare_cohorts(df, mask, metrics=["total_cost"], method=method, cluster=cluster,
                                  random_state=r).loc["total_cost"]
            out[i, j] = row["ratio"], row["ratio_low"], row["ratio_high"], row["reliable"]
    return out


def bench_clustered(pool, jobs: int, reps_welch: int, reps_boot: int) -> list[bool]:
    contacts = 60
    print(f"(d) clustered: {contacts} contacts per cohort, 5-50 sessions each, contact means lognormal s1.0, "
          f"sessions lognormal s0.5 about them; true ratio {TRUE_RATIO}")
    met = []
    settings = [("welch", contacts), ("bootstrap", contacts)]
    found_all = (run_tasks(pool, cluster_task, settings[:1], reps_welch, jobs)
                 + run_tasks(pool, cluster_task, settings[1:], reps_boot, jobs))
    for (method, _), found, reps in zip(settings, found_all, [reps_welch, reps_boot], strict=True):
        for j, name in enumerate(("clustered", "plain")):
            cov, below, above, flagged = misses(found[:, j], TRUE_RATIO)
            verdict = ""
            if name == "clustered":
                met.append(0.93 <= cov <= 0.97)
                verdict = "target 93-97% " + ("ok" if met[-1] else "MISSED")
            print(f"    {method:9} {name:9} {reps:>5,} replications: {cov:6.1%} (below {below:.1%}, "
                  f"above {above:.1%}; flagged {flagged:.1%})  {verdict}", flush=True)
    return met


# -- (e) agreement -----------------------------------------------------------------------


def bench_agreement() -> list[bool]:
    from scipy import stats

    from orq_nb.analysis.compare.comparison import compare_cohorts

    worst = {"welch vs ttest_ind": 0.0, "Fieller vs roots": 0.0, "BCa vs scipy BCa": 0.0}
    for r in range(100):
        rng = np.random.default_rng([r, 5])
        n_a, n_b = rng.integers(10, 400, 2)
        df, mask = two_cohorts(rng, "lognormal s1.5", n_a, n_b)
        got = compare_cohorts(df, mask, metrics=["total_cost"], method="welch").loc["total_cost"]
        a, b = df["total_cost"].to_numpy()[mask], df["total_cost"].to_numpy()[~mask]
        ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval()
        worst["welch vs ttest_ind"] = max(worst["welch vs ttest_ind"], *_rel(
            [got["difference_low"], got["difference_high"]], [ci.low, ci.high]))
        va, vb = a.var(ddof=1) / n_a, b.var(ddof=1) / n_b
        q = stats.t.ppf(0.975, (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1)))
        ma, mb = a.mean(), b.mean()
        for end in (got["ratio_low"], got["ratio_high"]):  # where finite and not clipped at 0: Welch's t
            if np.isfinite(end) and end > 0:               # of a - rho b equals its quantile there
                stat = (ma - end * mb) ** 2 / (va + end**2 * vb)
                worst["Fieller vs roots"] = max(worst["Fieller vs roots"], abs(stat - q**2) / q**2)
        if r < 20:
            got = compare_cohorts(df, mask, metrics=["total_cost"], method="bootstrap", n_resamples=999,
                                  random_state=r).loc["total_cost"]
            res = stats.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis) - y.mean(axis), method="BCa",
                                  n_resamples=999, rng=r)
            worst["BCa vs scipy BCa"] = max(worst["BCa vs scipy BCa"], *_rel(
                [got["difference_low"], got["difference_high"]], res.confidence_interval))
    print("(e) agreement, largest relative difference of the interval ends:")
    for name, value in worst.items():
        print(f"    {name:22} {value:.1e}  (target <= 1e-9) {'ok' if value <= 1e-9 else 'MISSED'}")
    return [value <= 1e-9 for value in worst.values()]


def _rel(got, want) -> list[float]:
    return [abs(g - w) / abs(w) for g, w in zip(got, want, strict=True)]


# -- (f) speed ---------------------------------------------------------------------------


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_speed(dask_n: int) -> list[bool]:
    from scipy import stats

    import orq_nb
    from orq_nb.analysis.compare.comparison import compare_cohorts, compare_tags
    from orq_nb.testing import generate_sessions

    big = orq_nb.sessions_frame(generate_sessions(100_000, seed=3))
    rng = np.random.default_rng(0)
    extra = [f"bench-{i}" for i in range(3)]  # the generator has 17 tags: 20 with these
    big["tags"] = [[*t, *(x for x in extra if rng.random() < 0.05)] for t in big["tags"]]
    small = big.iloc[:10_000].reset_index(drop=True)
    print(f"(f) speed on {os.cpu_count()} cores (best of 3)")
    boot = best(lambda: compare_cohorts(small, "gpt-4o", method="bootstrap", random_state=0))
    costs = small["total_cost"].to_numpy()
    in_a = np.array(["gpt-4o" in t for t in small["tags"]])
    ref = best(lambda: stats.bootstrap((costs[in_a], costs[~in_a]), lambda x, y, axis=-1: x.mean(axis)
                                       - y.mean(axis), method="BCa", n_resamples=2000, rng=0), repeat=1)
    default = best(lambda: compare_cohorts(big, "gpt-4o"))
    method = compare_cohorts(big, "gpt-4o")["method"].iloc[0]
    tags = orq_nb.tag_counts(big).index[:20]
    tagged = best(lambda: compare_tags(big, method="welch"))
    met = [boot <= 2, default <= 0.5, tagged <= 1]
    print(f"    bootstrap, 10,000 sessions x 5 metrics x 2,000 resamples: {boot:6.2f} s (target <= 2 s) "
          f"{'ok' if met[0] else 'MISSED'}   [scipy.stats.bootstrap(BCa), 1 metric: {ref:.2f} s]")
    print(f"    default at 100,000 sessions ({method}):            {default:6.2f} s (target <= 0.5 s) "
          f"{'ok' if met[1] else 'MISSED'}")
    print(f"    compare_tags, {len(tags)} tags at 100,000 sessions, welch:        {tagged:6.2f} s "
          "(target <= 1 s) "
          f"{'ok' if met[2] else 'MISSED'}", flush=True)
    if dask_n:
        met.append(bench_dask(dask_n))
    return met


def bench_dask(n: int) -> bool:
    from orq_nb.analysis.compare.comparison import compare_cohorts

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_store import against_daily_summary, big_store_on_cluster

    with tempfile.TemporaryDirectory() as tmp, big_store_on_cluster(Path(tmp), n) as (store, _):
        seconds, daily, got = against_daily_summary(store, lambda ddf: compare_cohorts(ddf, "rag"))
    ratio = seconds / daily
    print(f"    Dask welch (5 metrics, 'rag' against the rest) over {n:,} sessions: {seconds:.1f} s, "
          f"daily_summary {daily:.1f} s: {ratio:.2f}x (target <= 2x) "
          f"{'ok' if ratio <= 2 else 'MISSED'}"
          f"   [n_a + n_b = {int(got['n_a'].iloc[0] + got['n_b'].iloc[0]):,}]", flush=True)
    return ratio <= 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="abcdef", help="which of (a)-(f) to run")
    parser.add_argument("--reps-welch", type=int, default=4000, help="(a) replications per Welch setting")
    parser.add_argument("--reps-boot", type=int, default=1000, help="(a) replications per bootstrap setting")
    parser.add_argument("--aa-samples", type=int, default=20, help="(b) fresh samples")
    parser.add_argument("--aa-halvings", type=int, default=1000, help="(b) Welch halvings per sample")
    parser.add_argument("--aa-boot-halvings", type=int, default=50, help="(b) bootstrap halvings per sample")
    parser.add_argument("--null-runs", type=int, default=200, help="(c) runs per Welch setting")
    parser.add_argument("--null-boot-runs", type=int, default=40, help="(c) runs per bootstrap setting")
    parser.add_argument("--cluster-reps", type=int, default=2000, help="(d) Welch replications")
    parser.add_argument("--cluster-boot-reps", type=int, default=500, help="(d) bootstrap replications")
    parser.add_argument("--dask-n", type=int, default=10_000_000, help="(f) sessions in the Dask store")
    parser.add_argument("--skip-dask", action="store_true",
                        help="(f) without the Dask store (minutes to build)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes for (a)-(d)")
    parser.add_argument("--quick", action="store_true", help="about 1/20 of the replications, no Dask")
    args = parser.parse_args()
    if args.quick:
        for name in ("reps_welch", "reps_boot", "aa_halvings", "aa_boot_halvings", "null_runs",
                     "null_boot_runs", "cluster_reps", "cluster_boot_reps"):
            setattr(args, name, max(2, getattr(args, name) // 20))
        args.aa_samples, args.skip_dask = 4, True
    print(f"{os.cpu_count()} cores; {args.jobs} processes for the validity runs", flush=True)
    met: list[bool] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        met += bench_coverage(pool, args.jobs, args.reps_welch, args.reps_boot) if "a" in args.parts else []
        if "b" in args.parts:
            met += bench_aa(pool, args.aa_samples, args.aa_halvings, args.aa_boot_halvings)
        if "c" in args.parts:
            bench_null_tags(pool, args.jobs, args.null_runs, args.null_boot_runs)
        if "d" in args.parts:
            met += bench_clustered(pool, args.jobs, args.cluster_reps, args.cluster_boot_reps)
    met += bench_agreement() if "e" in args.parts else []
    met += bench_speed(0 if args.skip_dask else args.dask_n) if "f" in args.parts else []
    print("all targets met" if all(met) else f"{met.count(False)} target(s) missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
