"""Why it cost that: explain_change's exactness, planted-cause attribution and speed.

Run ``python benchmarks/bench_explain.py`` (``--quick`` for fewer runs, ``--skip-dask`` without the
10,000,000-session store, which takes minutes to build). Figures printed, beside their targets:

(a) exactness: in every row of every split, |volume + mix + tokens + price - change| over the row's
    amounts (target <= 1e-9), and the groups against "(all)", on the sample (sessions by project, tag,
    day; spans by model) and on synthetic cohorts with groups that appear and vanish, zero tokens and
    missing projects
(b) planted single causes, each over seeded runs, "all" meaning >= 99% of the change: doubling the
    sessions is all volume; tripling one project's prices is all price in that project; longer
    conversations at the same price per token are all tokens; 10,000 sessions a cohort with a dear
    project's share going from 20% to 50% at the same count: mix >= 90% of the change in >= 95% of runs
(c) speed: 1,000,000 sessions by project <= 1.5 s (by tag shown beside it); on bench_store's
    10,000,000-session store on two Dask workers <= 2x daily_summary's time there
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from bench_spend import best_of

EFFECTS = ["volume", "mix", "tokens", "price"]
PRICES = {"cheap": 1e-6, "mid": 3e-6, "dear": 15e-6}
SHARES = {"cheap": 0.5, "mid": 0.3, "dear": 0.2}


def cohort(rng: np.random.Generator, n: int, shares: dict, prices: dict, scale: float = 1.0) -> pd.DataFrame:
    """``n`` sessions: a project each, heavy-tailed tokens, costs at the project's price with noise, a
    fifth of them with cost beyond input and output."""
    names = list(shares)
    project = rng.choice(names, size=n, p=np.array(list(shares.values())) / sum(shares.values()))
    prompt = np.round(rng.lognormal(7, 1, n) * scale).astype(np.int64)
    completion = np.round(prompt * rng.lognormal(-1.2, 0.5, n)).astype(np.int64)
    price = np.array([prices[p] for p in project])
    input_cost = prompt * price * rng.lognormal(0, 0.1, n)
    output_cost = completion * price * 4 * rng.lognormal(0, 0.1, n)
    extra = np.where(rng.random(n) < 0.2, input_cost * 0.05, 0.0)
    return pd.DataFrame({"project_id": pd.array(project, dtype="str"), "prompt_tokens": prompt,
                         "completion_tokens": completion, "input_cost": input_cost,
                         "output_cost": output_cost, "total_cost": input_cost + output_cost + extra})


def split(before: pd.DataFrame, after: pd.DataFrame, by: str | None = "project_id") -> pd.DataFrame:
    import orq_nb

    df = pd.concat([before, after], ignore_index=True)
    first = np.arange(len(df)) < len(before)
    return orq_nb.explain_change(df, first, ~first, by=by)


def inexactness(result: pd.DataFrame) -> float:
    """The largest gap, over the amounts, between a row's effects and its change, or groups and all."""
    scale = max(float(result[["before", "after"]].abs().to_numpy().max()), 1e-12)
    rows = float((result[EFFECTS].sum(axis=1) - result["change"]).abs().max())
    groups = result.drop(index="(all)")
    total = float((groups.sum() - result.loc["(all)"]).abs().max()) if len(groups) else 0.0
    return max(rows, total) / scale


def bench_exactness(runs: int) -> list[bool]:
    import orq_nb

    before, after = {"start": "2026-10-06", "end": "2026-10-20"}, {"start": "2026-10-20", "end": "2026-11-03"}
    sessions, spans = orq_nb.load_sample(), orq_nb.load_sample("spans")
    worst = {}
    for name, frame, by in (("sample sessions by project", sessions, "project_id"),
                            ("sample sessions by tag", sessions, "tag"),
                            ("sample sessions by day", sessions, "day"),
                            ("sample spans by model", spans, "model")):
        worst[name] = inexactness(orq_nb.explain_change(frame, before, after, by=by))
    odd = 0.0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        a = cohort(rng, 2000, {"a": 0.5, "gone": 0.3, "mid": 0.2}, {"a": 1e-6, "gone": 5e-6, "mid": 3e-6})
        b = cohort(rng, 2500, {"a": 0.4, "new": 0.4, "mid": 0.2}, {"a": 1e-6, "new": 5e-6, "mid": 4e-6})
        b.loc[: 100, ["prompt_tokens", "completion_tokens"]] = 0
        b.loc[200:260, "project_id"] = None
        odd = max(odd, inexactness(split(a, b)))
    worst[f"synthetic, groups appear and vanish, zero tokens, no project ({runs} runs)"] = odd
    ok = max(worst.values()) <= 1e-9
    print("(a) exactness: largest |effects - change| over the amounts (target <= 1e-9)")
    for name, value in worst.items():
        print(f"    {name:<72} {value:.1e}")
    print(f"    {'ok' if ok else 'MISSED'}", flush=True)
    return [ok]


def bench_causes(runs: int, mix_runs: int) -> list[bool]:
    shares = {"volume": [], "price": [], "tokens": []}
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        base = cohort(rng, 5000, SHARES, PRICES)
        doubled = split(base, pd.concat([base, base], ignore_index=True))
        shares["volume"].append(doubled.loc["(all)", "volume"] / doubled.loc["(all)", "change"])
        pricier = base.copy()
        pricier.loc[pricier["project_id"] == "mid", ["input_cost", "output_cost", "total_cost"]] *= 3
        priced = split(base, pricier)
        shares["price"].append(priced.loc["mid", "price"] / priced.loc["(all)", "change"])
        longer = base.copy()
        longer[["prompt_tokens", "completion_tokens"]] *= 2
        longer[["input_cost", "output_cost", "total_cost"]] *= 2
        tokened = split(base, longer)
        shares["tokens"].append(tokened.loc["(all)", "tokens"] / tokened.loc["(all)", "change"])
    mix = []
    for seed in range(mix_runs):
        rng = np.random.default_rng(10_000 + seed)
        result = split(cohort(rng, 10_000, {"cheap": 0.5, "mid": 0.3, "dear": 0.2}, PRICES),
                       cohort(rng, 10_000, {"cheap": 0.3, "mid": 0.2, "dear": 0.5}, PRICES))
        mix.append(result.loc["(all)", "mix"] / result.loc["(all)", "change"])
    mix = np.array(mix)
    oks = []
    print(f"(b) planted single causes ({runs} seeded runs each; mix {mix_runs})")
    for cause, where in (("volume", "doubling the sessions"), ("price", "tripling one project's prices (that "
                                                                        "project's price)"),
                         ("tokens", "twice the tokens at the same price per token")):
        values = np.array(shares[cause])
        ok = values.min() >= 0.99
        oks.append(ok)
        print(f"    {where:<60} {cause} share of the change: min {values.min():.4f} (target >= 0.99) "
              f"{'ok' if ok else 'MISSED'}")
    rate = float((mix >= 0.9).mean())
    ok = rate >= 0.95
    oks.append(ok)
    print(f"    {'a dear project 20% -> 50% of 10,000 sessions':<60} mix >= 90% of the change in "
          f"{rate:.1%} of runs (target >= 95%; median share {np.median(mix):.3f}, lowest {mix.min():.3f}) "
          f"{'ok' if ok else 'MISSED'}", flush=True)
    return oks


def sessions(n: int, seed: int = 3) -> pd.DataFrame:
    """``n`` sessions over 120 days: five projects (a few without), 1-3 of 20 tags, tokens and costs."""
    rng = np.random.default_rng(seed)
    names = np.array([f"tag-{i:02d}" for i in range(20)], dtype=object)
    pick = np.argsort(rng.random((n, 20)), axis=1)[:, :3]
    size = rng.integers(1, 4, n)
    tags = np.empty(n, dtype=object)
    tags[:] = [names[p[:k]].tolist() for p, k in zip(pick, size.tolist(), strict=True)]
    projects = np.array(["p1", "p2", "p3", "p4", "p5"], dtype=object)[rng.integers(0, 5, n)]
    projects[rng.random(n) < 0.02] = None
    start = pd.Timestamp("2026-01-01", tz="UTC").value // 1000
    stamps = np.sort(start + rng.integers(0, 120 * 86_400_000_000, n))
    prompt = rng.integers(50, 5000, n)
    completion = rng.integers(10, 1000, n)
    input_cost, output_cost = prompt * 2e-6, completion * 8e-6
    return pd.DataFrame({
        "started_at": pd.to_datetime(stamps, unit="us", utc=True), "tags": tags,
        "project_id": pd.array(projects, dtype="str"), "prompt_tokens": pd.array(prompt, dtype="Int64"),
        "completion_tokens": pd.array(completion, dtype="Int64"), "input_cost": input_cost,
        "output_cost": output_cost, "total_cost": input_cost + output_cost})


def bench_speed(n: int, repeat: int) -> list[bool]:
    import orq_nb

    df = sessions(n)
    before, after = {"end": "2026-03-01"}, {"start": "2026-03-01"}
    orq_nb.explain_change(df.head(1000), before, after, by="project_id")  # imports, not measured
    seconds = best_of(repeat, lambda: orq_nb.explain_change(df, before, after, by="project_id"))
    tags = best_of(repeat, lambda: orq_nb.explain_change(df, before, after, by="tag"))
    ok = seconds <= 1.5
    print(f"(c) explain_change of {n:,} sessions by project: {seconds:.2f} s (target <= 1.5 s) "
          f"{'ok' if ok else 'MISSED'}   [by tag {tags:.2f} s; best of {repeat}]", flush=True)
    return [ok]


def bench_dask(n: int) -> list[bool]:
    import orq_nb

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_store import against_daily_summary, big_store_on_cluster

    with tempfile.TemporaryDirectory() as tmp, big_store_on_cluster(Path(tmp), n) as (store, client):
        mid = "2026-03-01"
        seconds, daily, got = against_daily_summary(
            store, lambda ddf: orq_nb.explain_change(ddf, {"end": mid}, {"start": mid}, by="project_id"))
        partitions = store.to_dask().npartitions
    ratio = seconds / daily
    ok = ratio <= 2
    exact = inexactness(got)
    print(f"    on Dask, {n:,} sessions in {partitions} partitions: explain_change(by='project_id') "
          f"{seconds:.1f} s, daily_summary {daily:.1f} s: {ratio:.2f}x (target <= 2x) "
          f"{'ok' if ok else 'MISSED'}   [exact to {exact:.1e}]", flush=True)
    return [ok]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    parser.add_argument("--skip-dask", action="store_true", help="without the Dask store (minutes to build)")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dask-n", type=int, default=10_000_000)
    args = parser.parse_args()
    oks = bench_exactness(5 if args.quick else 50)
    oks += bench_causes(5 if args.quick else 50, 40 if args.quick else 400)
    oks += bench_speed(args.n, 3)
    if not args.skip_dask:
        oks += bench_dask(args.dask_n)
    print("targets met" if all(oks) else "targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
