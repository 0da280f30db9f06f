"""Validity on the data analysts have: empty days, rare tags, ties, small, lopsided and few-contact cohorts.

Run ``python benchmarks/bench_validity.py`` (``--quick``: 60 replications a row and 3 spend seeds,
about 2 minutes on one core; ``--jobs N`` spreads the compare replications over N processes).
The data are the seeded families of ``orq_nb.testing.families`` (their truths exact), one table
per family, the target beside each figure ("ok" / "MISSED"); the last line counts them. It is a
report: the exit code is 0 whatever is missed. Rows a function marks ``reliable=False`` (when its
result has that column) are left out of the coverage and A/A figures, and the share flagged is shown.

(a) ``compare_cohorts(df, mask_a, mask_b, metrics=[...], method=..., random_state=seed)``, the
    default method and ``method="welch"`` (the tied medians: ``statistic="median"``, the default
    only; the clustered family: ``cluster="contact_ids"``), ``n_resamples=999`` (not 2,000: a
    bootstrap interval's ends move little, and the runs take half as long). Families: lognormal
    sigma 1 and 1.5 at 10-500 a cohort; lopsided 30 and 100 vs 50,000 (lognormal sigma 1, skewness
    6.2); clustered, 5-100 contacts a cohort; 60% zero-cost sessions with a lognormal or Pareto
    tail; Pareto alpha 2.5; whole-second durations, population medians 3 s vs 4 s, 3 vs 3 and
    3.5 vs 3.5. Each as an A/A pair and (but the tied) with a true ratio of means of 1.2.
    Targets, among rows not flagged: coverage of the 95% intervals 92.5-97.5% for the difference and
    for the ratio (``ratio_high`` may be inf; a row without an interval does not cover; tied medians
    >= 92.5% only, as whole-second ends cover ~100% once the sample medians settle); A/A share
    of ``p_value`` < 0.05 <= 6% (1-6% for the tied medians); flagged <= 5% for lognormal sigma 1 at
    500 a cohort. Over all rows: the interval excludes 0 (the ratio's: 1) exactly when p < 0.05 in
    100% of Welch rows and >= 99% of bootstrap and median rows; tied medians 3 s vs 4 s: a p-value in
    >= 99% of rows (every tied row: both cohorts have >= 20 values), power >= 80% at 500 a cohort
    and >= 90% at 2,000 (a missing p-value finds nothing).
(b) ``spend_anomalies(df, by="tag")`` with its defaults on total_cost, each spend family with and
    without a weekly pattern (weekends 40% lower), 10 series of 120 days a seed. False alarms
    (flags high or low on days with a baseline that are not spikes, not in a holiday week and not
    within 28 days of a doubling) per series per 30 days <= 1.0 for steady data, growth of 5% and
    10% a week (15% shown, no target), 20% empty days and a rare tag (Poisson 0.3 sessions a day);
    spikes (2x the cost per session) caught, flagged high: >= 90% with 20% empty days, >= 85% in
    the 4 weeks after a holiday week (7 days at 40%); a permanent doubling: its first day flagged
    in >= 90% of series, a mean <= 5 of the 28 days after it flagged.
(c) ``spend_forecast(df, by="tag", as_of=...)`` of the month total, ``as_of`` midnight of the
    1st (month start), the 2nd (the run rate's first day) and the 15th (mid-month) of February to
    April, against the month's real total and ``run_rate`` (``orq_nb.analysis.spend.forecast``; undefined
    on the 1st, so the error ratio uses the 2nd and the 15th). Bias = sum(forecast - actual) /
    sum(actual); MAE in USD. Targets: 20% empty days |bias| <= 5%, the 80% interval holds 72-88%,
    MAE below the run rate's; the rare tag |bias| <= 10%, MAE <= the run rate's; tags 3 days old at
    ``as_of`` (drawn afresh for each ``as_of``): ``method`` "new" and the interval holds >= 72%
    (or there is none); within 60 days after a doubling, and within 56 days after a holiday
    week: MAE <= the run rate's. The steady family is shown as a control.

Replication counts: full runs use 2,000 a compare row (2.5 points is 5 standard errors of a 95%
coverage there) and 20 spend seeds (200 series a row); ``--quick`` uses 60 and 3, where two
standard errors of a coverage are ~6 points: its verdicts show that the benchmark runs, not
whether a method holds.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

import numpy as np
import pandas as pd

COVERAGE = (0.925, 0.975)
ALPHA = 0.05
FIELDS = {"difference_low": "dlow", "difference_high": "dhigh", "ratio_low": "rlow", "ratio_high": "rhigh",
          "p_value": "p", "method": "ran"}


class Setting(NamedTuple):
    """One row of a compare table: a family drawn at one size, A/A or with an effect, and what runs."""

    family: str
    n: int
    n_b: int | None
    ratio: float
    statistic: str
    cluster: str | None
    methods: tuple


class Tally:
    """Targets met and missed; ``check`` returns the verdict printed beside a figure."""

    def __init__(self) -> None:
        self.met = self.missed = 0

    def check(self, ok: bool | None) -> str:
        if ok is None:
            return ""
        if ok:
            self.met += 1
            return "ok"
        self.missed += 1
        return "MISSED"


# -- (a) compare ---------------------------------------------------------------------------------------


TABLES = {
    "lognormal-1": ("lognormal sigma 1", (10, 20, 30, 100, 500)),
    "lognormal-1.5": ("lognormal sigma 1.5", (10, 20, 30, 100, 500)),
    "lopsided": ("lopsided cohorts", (30, 100)),
    "clustered": ("clustered (cluster='contact_ids'; n_a, n_b: contacts)", (5, 8, 15, 30, 100)),
    "zero-inflated-lognormal": ("zero-inflated, lognormal tail", (100, 500)),
    "zero-inflated-pareto": ("zero-inflated, Pareto tail", (100, 500)),
    "pareto-2.5": ("Pareto alpha 2.5", (30, 100, 500)),
    "tied": ("tied medians (statistic='median', duration_ms)", (100, 500, 2000)),
}
TIED = ("whole-second durations (lognormal sigma 0.5, rounded): population medians 3 s vs 4 s, 3 vs 3 (A/A) "
        "and 3.5 vs 3.5 (A/A; P(<= 3 s) = 1/2)")


def settings_of(key: str) -> list[Setting]:
    from orq_nb.testing.families import EFFECT

    _, sizes = TABLES[key]
    if key == "tied":
        return [Setting(f"tied-{v}", n, None, 1.0, "median", None, (None,))
                for v in ("3v4", "3v3", "3.5v3.5") for n in sizes]
    cluster = "contact_ids" if key == "clustered" else None
    return [Setting(key, n, None, ratio, "mean", cluster, (None, "welch"))
            for n in sizes for ratio in (1.0, EFFECT)]


def compare_task(args: tuple) -> list[dict]:
    """Replications ``start..stop`` of one setting: one record per replication and method."""
    setting, start, stop, n_resamples = args
    from orq_nb.analysis.compare.comparison import compare_cohorts
    from orq_nb.testing.families import compare_family

    out = []
    for r in range(start, stop):
        draw = compare_family(setting.family, setting.n, r, ratio=setting.ratio, n_b=setting.n_b)
        df, mask_a, mask_b = draw.frame()
        for method in setting.methods:
            record: dict = {"rep": r, "asked": method or "default", "n_a": len(draw.a), "n_b": len(draw.b)}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row = compare_cohorts(df, mask_a, mask_b, metrics=[draw.metric],
                                          statistic=setting.statistic, method=method, cluster=setting.cluster,
                                          n_resamples=n_resamples, random_state=r).iloc[0]
            except Exception as error:  # a report: the error is printed and counted, the run goes on
                record["error"] = f"{type(error).__name__}: {error}"
                out.append(record)
                continue
            record.update({short: row[name] for name, short in FIELDS.items()})
            if "reliable" in row.index:
                record["reliable"] = bool(row["reliable"])
            if "note" in row.index:
                record["note"] = "" if pd.isna(row["note"]) else str(row["note"])
            out.append(record)
    return out


def run_settings(pool, settings: list[Setting], reps: int, jobs: int, n_resamples: int) -> list[pd.DataFrame]:
    chunk = max(1, -(-reps // (4 * jobs)))
    tasks = [[(s, lo, min(lo + chunk, reps), n_resamples) for lo in range(0, reps, chunk)] for s in settings]
    if pool is None:
        return [pd.DataFrame([rec for t in group for rec in compare_task(t)]) for group in tasks]
    futures = [[pool.submit(compare_task, t) for t in group] for group in tasks]
    return [pd.DataFrame([rec for f in group for rec in f.result()]) for group in futures]


def compare_figures(rows: pd.DataFrame, diff: float, ratio: float) -> dict:
    """Flagged share, coverage and p < alpha among unflagged rows; p present, agreement over all rows."""
    errors = rows["error"].notna() if "error" in rows else pd.Series(False, index=rows.index)
    first_error = rows.loc[errors, "error"].iloc[0] if errors.any() else ""
    rows = rows[~errors].copy()
    if not len(rows):
        return {"errors": int(errors.sum()), "first_error": first_error, "n": 0}
    for c in ("dlow", "dhigh", "rlow", "rhigh", "p"):
        rows[c] = pd.to_numeric(rows[c], errors="coerce").astype(float)
    has_flag = "reliable" in rows
    reliable = flags_off(rows["reliable"]) if has_flag else pd.Series(True, index=rows.index)
    use = rows[reliable]
    p = rows["p"].to_numpy()
    out = {"n": len(rows), "errors": int(errors.sum()), "first_error": first_error,
           "flagged": (1 - reliable.mean()) if has_flag else None, "unflagged": len(use),
           "no_p": float(np.isnan(p).mean()), "power": float(np.mean(p < ALPHA)),
           "ran": Counter(rows["ran"].astype(str)).most_common(1)[0][0]}
    if len(use):
        out["cover_d"] = float(((use["dlow"] <= diff) & (diff <= use["dhigh"])).mean())
        out["cover_r"] = float(((use["rlow"] <= ratio) & (ratio <= use["rhigh"])).mean())
        out["reject"] = float((use["p"] < ALPHA).mean())
    welch = rows["ran"].astype(str).str.startswith("welch").to_numpy()
    for kind, part in (("welch", rows[welch]), ("boot", rows[~welch])):
        pp = part["p"].to_numpy()
        agree = []
        for lo, hi, null in (("dlow", "dhigh", 0.0), ("rlow", "rhigh", 1.0)):
            low, high = part[lo].to_numpy(), part[hi].to_numpy()
            present = ~np.isnan(pp) & ~np.isnan(low) & ~np.isnan(high)
            excludes = (low > null) | (high < null)
            agree.append(float(np.mean((excludes == (pp < ALPHA))[present])) if present.any() else None)
        out[f"agree_{kind}"] = (agree, int(len(part)))
    if "note" in rows:
        out["notes"] = rows.loc[~reliable, "note"].tolist()
    return out


def note_counts(notes) -> tuple[Counter, dict]:
    """Notes counted by their wording, numbers left out (``12 sessions`` and ``30 sessions`` are one note);
    and one example of each."""
    counts: Counter = Counter()
    example: dict = {}
    for note in notes:
        if isinstance(note, str) and note:
            key = re.sub(r"\d[\d,.]*", "#", note)
            counts[key] += 1
            example.setdefault(key, note)
    return counts, example


def print_notes(counts: Counter, example: dict, label: str, top: int) -> None:
    for key, count in counts.most_common(top):
        print(f"      {label} {count:>5,}x, e.g.: {example[key]}")


def flags_off(column: pd.Series) -> pd.Series:
    """A ``reliable`` column as plain bools, a missing value read as reliable."""
    return column.astype("boolean").fillna(True).astype(bool)


def pct(x: float | None, width: int = 6) -> str:
    return f"{'-':>{width}}" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:{width}.1%}"


def bench_compare(pool, jobs: int, reps: int, n_resamples: int, only: list[str] | None, tally: Tally) -> None:
    from orq_nb.testing.families import COMPARE_FAMILIES, compare_family

    se = 2 * np.sqrt(0.95 * 0.05 / reps)
    print(f"(a) compare_cohorts: {reps:,} replications a row, n_resamples={n_resamples} for the bootstrap; "
          f"two standard errors of a 95% coverage: {se:.1%}. Targets: coverage {COVERAGE[0]:.1%}-"
          f"{COVERAGE[1]:.1%} (difference, ratio) and A/A p<0.05 <= 6% among unflagged rows; agreement of "
          "interval and p over all rows: Welch (W) 100%, bootstrap/median (B) >= 99%", flush=True)
    pooled: dict[str, list] = {"welch": [[], []], "boot": [[], []]}
    for index, key in enumerate(TABLES):
        if only and key not in only and not (key == "tied" and any(o.startswith("tied") for o in only)):
            continue
        settings = settings_of(key)
        start = time.perf_counter()
        found = run_settings(pool, settings, reps, jobs, n_resamples)
        title, _ = TABLES[key]
        what = TIED if key == "tied" else COMPARE_FAMILIES[key]
        print(f"\n  (a{index + 1}) {title}: {what}  [{time.perf_counter() - start:.0f} s]")
        print(f"    {'n_a':>5} {'n_b':>6} {'truth':<8} {'method':<8} {'ran':<30} {'flagged':<14} "
              f"{'no p':<13} {'cover diff':<14} {'cover ratio':<14} {'p<0.05':<20} agree diff/ratio")
        notes: list = []
        for s, rows in zip(settings, found, strict=True):
            draw = compare_family(s.family, s.n, 0, ratio=s.ratio, n_b=s.n_b)
            diff, ratio = draw.target(s.statistic)
            tied = s.family.startswith("tied")
            aa = s.family in ("tied-3v3", "tied-3.5v3.5") or (not tied and s.ratio == 1.0)
            truth = s.family.removeprefix("tied-") if tied else ("A/A" if aa else f"x{s.ratio:g}")
            n_a = s.n
            n_b = s.n_b or (50_000 if s.family == "lopsided" else s.n)
            for asked in ("default", "welch"):
                part = rows[rows["asked"] == asked] if len(rows) else rows
                if not len(part):
                    continue
                f = compare_figures(part, diff, ratio)
                line = f"    {n_a:>5,} {n_b:>6,} {truth:<8} {asked:<8} "
                if not f["n"]:
                    line += f"all {f['errors']} runs failed: {f['first_error'][:90]}  {tally.check(False)}"
                    print(line, flush=True)
                    continue
                notes += f.get("notes", [])
                flag_ok = None
                if f["flagged"] is not None and s.family == "lognormal-1" and s.n == 500:
                    flag_ok = f["flagged"] <= 0.05
                flagged = pct(f["flagged"]) + (" <=5% " + tally.check(flag_ok) if flag_ok is not None else "")
                no_p = pct(f["no_p"]) + (" " + tally.check(f["no_p"] <= 0.01) if tied else "")
                cover = []
                for k in ("cover_d", "cover_r"):
                    value = f.get(k)
                    upper = 1.0 if tied else COVERAGE[1]  # whole seconds: see the note under the table
                    ok = None if value is None else COVERAGE[0] <= value <= upper
                    cover.append(f"{pct(value)} {tally.check(ok)}")
                if aa:
                    value = f.get("reject")
                    band = (0.01, 0.06) if tied else (0.0, 0.06)
                    ok = None if value is None else band[0] <= value <= band[1]
                    reject = f"{pct(value)} A/A {tally.check(ok)}"
                else:
                    need = {500: 0.8, 2000: 0.9}.get(s.n) if s.family == "tied-3v4" else None
                    ok = None if need is None else f["power"] >= need
                    reject = f"{pct(f['power'])} power" + (f">={need:.0%} {tally.check(ok)}" if need else "")
                agree = []
                for kind, need in (("welch", 1.0), ("boot", 0.99)):
                    (d, r), count = f[f"agree_{kind}"]
                    if not count or (d is None and r is None):
                        continue
                    pooled[kind][0].append((d, count))
                    pooled[kind][1].append((r, count))
                    values = [v for v in (d, r) if v is not None]
                    agree.append(f"{kind[0].upper()} {pct(d, 5)}/{pct(r, 5)} "
                                 f"{tally.check(min(values) >= need)}")
                line += (f"{f['ran'][:30]:<30} {flagged:<14} {no_p:<13} {cover[0]:<14} {cover[1]:<14} "
                         f"{reject:<20} {'; '.join(agree)}")
                if f["errors"]:
                    line += f"   {f['errors']} errors ({f['first_error'][:60]}) {tally.check(False)}"
                print(line, flush=True)
        print_notes(*note_counts(notes), "flagged", 4)
        if key == "tied":
            print("      coverage target >= 92.5% only: an interval's ends are whole seconds and the sample "
                  "medians settle on the population's (3 and 4 s), so a correct interval covers ~100% as n "
                  "grows")
    for kind, label, need in (("welch", "Welch rows", "100%"), ("boot", "bootstrap/median rows", ">= 99%")):
        d, r = pooled[kind]
        if d:
            mean = [sum(v * c for v, c in x if v is not None) / max(sum(c for v, c in x if v is not None), 1)
                    for x in (d, r)]
            print(f"  agreement of interval and p over all {label}: difference {mean[0]:.2%}, ratio "
                  f"{mean[1]:.2%} (target {need}; counted row by row above)")


# -- (b) anomalies -------------------------------------------------------------------------------------


ANOMALY_ROWS = ("steady", "growth-5", "growth-10", "growth-15", "empty-days", "rare", "holiday", "shift")


def bench_anomalies(seeds: int, tally: Tally) -> None:
    from orq_nb.analysis.spend.anomalies import spend_anomalies
    from orq_nb.testing.families import SPEND_FAMILIES, anomaly_score, spend_family

    print(f"\n(b) spend_anomalies(by='tag'), defaults, total_cost: {seeds} seed(s) x 10 series x 120 days "
          "a row; false alarms per series per 30 days (flags high or low on days with a baseline; spikes, "
          "holiday weeks and 28 days from a doubling left out)", flush=True)
    print(f"    {'family':<11} {'weekly':<7} {'false alarms':<18} {'spikes caught':<28} "
          f"{'doubling: 1st day':<20} {'flagged of 28 after':<26} {'unreliable':<11} seconds")
    for name in ANOMALY_ROWS:
        for weekly in (False, True):
            start = time.perf_counter()
            total: dict = {"alarms": 0, "days": 0, "caught": 0, "spikes": 0, "shift_found": 0, "shifts": 0,
                           "after": []}
            unreliable, notes, caught_warnings = [], [], []
            for seed in range(seeds):
                draw = spend_family(name, seed, weekly=weekly)
                with warnings.catch_warnings(record=True) as seen:
                    warnings.simplefilter("always")
                    result = spend_anomalies(draw.df, by="tag")
                caught_warnings += [str(w.message) for w in seen]
                score = anomaly_score(result, draw)
                for k in total:
                    total[k] = total[k] + score[k]
                if "reliable" in result.columns:
                    flags = ~flags_off(result["reliable"])
                    unreliable.append(float(flags.mean()))
                    if "note" in result.columns:
                        notes += result.loc[flags, "note"].tolist()
            alarms = total["alarms"] / max(total["days"], 1) * 30
            target = name in ("steady", "growth-5", "growth-10", "empty-days", "rare")
            cells = [f"{alarms:5.2f}" + (f" <=1 {tally.check(alarms <= 1.0)}" if target else "")]
            if total["spikes"]:
                hit = total["caught"] / total["spikes"]
                need = {"empty-days": 0.9, "holiday": 0.85}.get(name)
                cells.append(f"{hit:6.1%} of {total['spikes']}" + (f" >={need:.0%} {tally.check(hit >= need)}"
                                                                     if need else ""))
            else:
                cells.append("-")
            if total["shifts"]:
                first = total["shift_found"] / total["shifts"]
                after = float(np.mean(total["after"]))
                cells.append(f"{first:6.1%} >=90% {tally.check(first >= 0.9)}")
                cells.append(f"{after:4.1f} (max {max(total['after'])}) <=5 {tally.check(after <= 5)}")
            else:
                cells += ["-", "-"]
            cells.append(pct(float(np.mean(unreliable))) if unreliable else "-")
            label = {"growth-5": "growth 5%", "growth-10": "growth 10%", "growth-15": "growth 15%",
                     "empty-days": "empty 20%", "rare": "rare 0.3/d"}.get(name, name)
            print(f"    {label:<11} {'on' if weekly else 'off':<7} {cells[0]:<18} {cells[1]:<28} "
                  f"{cells[2]:<20} {cells[3]:<26} {cells[4]:<11} {time.perf_counter() - start:5.1f}",
                  flush=True)
            print_notes(*note_counts(notes), "unreliable", 2)
            if caught_warnings:
                print(f"      {len(caught_warnings)} warning(s), e.g. {caught_warnings[0][:100]}")
    print("    families: " + "; ".join(f"{k}: {v}" for k, v in SPEND_FAMILIES.items() if k in ANOMALY_ROWS))


# -- (c) forecast --------------------------------------------------------------------------------------


FORECAST_ROWS = ("steady", "empty-days", "rare", "new", "shift", "holiday")


def as_of_dates() -> list[pd.Timestamp]:
    return [pd.Timestamp(f"2026-{m:02d}-{d:02d}", tz="UTC") for m in (2, 3, 4) for d in (1, 2, 15)]


def forecasts(draw, dates: list[pd.Timestamp]) -> tuple[pd.DataFrame, list[str]]:
    """spend_forecast(by="tag") at each date, with the month's real total and the run rate."""
    from orq_nb.analysis.spend.forecast import run_rate, spend_forecast
    from orq_nb.testing.families import day_of, month_total

    out, seen_all = [], []
    for as_of in dates:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            got = spend_forecast(draw.df, by="tag", as_of=as_of)
        seen_all += [str(w.message) for w in seen]
        got["actual"] = got["group"].map(month_total(draw, as_of)).fillna(0.0).to_numpy()
        got["run_rate"] = run_rate(got["spent"], as_of)
        got["as_of_day"] = int(day_of([as_of])[0])
        out.append(got)
    return pd.concat(out, ignore_index=True), seen_all


def in_scope(rows: pd.DataFrame, draw, name: str) -> np.ndarray:
    """Which forecasts a family's targets are about."""
    keep = np.zeros(len(rows), dtype=bool)
    for i, (group, day) in enumerate(zip(rows["group"], rows["as_of_day"], strict=True)):
        t = draw.truth.get(group)
        if t is None:
            continue
        if name == "new":
            keep[i] = t["new"]
        elif name == "shift":
            keep[i] = t["shift"] <= day < t["shift"] + 61
        elif name == "holiday":
            end = int(np.flatnonzero(t["holiday"])[-1]) + 1
            keep[i] = end <= day < end + 56
        else:
            keep[i] = True
    return keep


def bench_forecast(seeds: int, tally: Tally) -> None:
    from orq_nb.testing.families import SPEND_FAMILIES, spend_family

    dates = as_of_dates()
    print(f"\n(c) spend_forecast(by='tag') of the month total, as_of midnight of the 1st, 2nd and 15th of "
          f"Feb-Apr; {seeds} seed(s) x 10 series; no spikes planted. Bias = sum(forecast - actual) / "
          "sum(actual); MAE (USD) against run_rate's on the 2nd and the 15th", flush=True)
    print(f"    {'family':<11} {'weekly':<7} {'forecasts':>9}  {'bias':<24} {'80% interval held':<22} "
          f"{'MAE vs run rate':<18} {'method':<30} {'unreliable':<11} seconds")
    for name in FORECAST_ROWS:
        for weekly in (False, True):
            start = time.perf_counter()
            parts, seen = [], []
            for seed in range(seeds):
                if name == "new":  # tags 3 days old at each date: a draw per date
                    for as_of in dates:
                        draw = spend_family(name, seed, weekly=weekly, as_of=as_of)
                        rows, w = forecasts(draw, [as_of])
                        parts.append(rows[in_scope(rows, draw, name)])
                        seen += w
                else:
                    draw = spend_family(name, seed, weekly=weekly, spikes=0)
                    rows, w = forecasts(draw, dates)
                    parts.append(rows[in_scope(rows, draw, name)])
                    seen += w
            r = pd.concat(parts, ignore_index=True)
            actual, forecast = r["actual"].to_numpy(), r["forecast"].to_numpy()
            bias = float(np.sum(forecast - actual) / np.sum(actual)) if np.sum(actual) > 0 else np.nan
            has = r["low"].notna() & r["high"].notna()
            inside = (r["low"] <= r["actual"]) & (r["actual"] <= r["high"])
            held = float(inside[has].mean()) if has.any() else None
            rate = np.isfinite(r["run_rate"].to_numpy(dtype=float))
            ratio = (float(np.mean(np.abs(forecast - actual)[rate]) / np.mean(np.abs(r["run_rate"].to_numpy()
                     - actual)[rate])) if rate.any() else np.nan)
            method = Counter(r["method"].astype(str))
            top = ", ".join(f"{m} {c / len(r):.0%}" for m, c in method.most_common(2))
            bias_need = {"empty-days": 0.05, "rare": 0.10}.get(name)
            bias_cell = f"{bias:+7.1%}" + (f" |.|<={bias_need:.0%} {tally.check(abs(bias) <= bias_need)}"
                                          if bias_need else "")
            if name == "empty-days":
                held_cell = f"{pct(held)} 72-88% {tally.check(held is not None and 0.72 <= held <= 0.88)}"
            elif name == "new":
                held_cell = (f"{pct(held)} >=72% {tally.check(held >= 0.72)}" if held is not None else
                             f"no interval {tally.check(True)}")
            else:
                held_cell = pct(held) + (f" of {int(has.sum())}" if held is not None else "")
            strict = name == "empty-days"
            mae_target = name in ("empty-days", "rare", "shift", "holiday")
            mae_ok = (ratio < 1) if strict else (ratio <= 1)
            mae_cell = f"{ratio:5.2f}x" + (f" {'<1' if strict else '<=1'} {tally.check(mae_ok)}" if mae_target
                                           else "")
            if name == "new":
                share = method.get("new", 0) / len(r)
                top = f"new {share:.0%} {tally.check(share == 1.0)}" + (f" ({top})" if share < 1 else "")
            unreliable = "-"
            if "reliable" in r.columns:
                flags = ~flags_off(r["reliable"])
                unreliable = pct(float(flags.mean()))
            print(f"    {name:<11} {'on' if weekly else 'off':<7} {len(r):>9,}  {bias_cell:<24} "
                  f"{held_cell:<22} {mae_cell:<18} {top[:40]:<30} {unreliable:<11} "
                  f"{time.perf_counter() - start:5.1f}",
                  flush=True)
            if "note" in r.columns and "reliable" in r.columns:
                print_notes(*note_counts(r.loc[~flags_off(r["reliable"]), "note"]), "unreliable", 2)
            if seen:
                print(f"      {len(seen)} warning(s), e.g. {seen[0][:100]}")
    print("    scope: shift, as_of within 60 days after the doubling; holiday, within 56 days after the "
          "week; new, the new tags only")
    print("    families: " + "; ".join(f"{k}: {v}" for k, v in SPEND_FAMILIES.items() if k in FORECAST_ROWS))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="abc", help="which of (a)-(c) to run")
    parser.add_argument("--reps", type=int, default=2000, help="(a) replications a compare row")
    parser.add_argument("--n-resamples", type=int, default=999, help="(a) bootstrap resamples")
    parser.add_argument("--only", action="append", help=f"(a) only these tables, of {', '.join(TABLES)}")
    parser.add_argument("--seeds", type=int, default=20, help="(b), (c) spend draws of 10 series a row")
    parser.add_argument("--jobs", type=int, default=1, help="processes for (a) (default 1)")
    parser.add_argument("--quick", action="store_true", help="60 replications a compare row, 3 spend seeds")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.seeds = 60, 3
    print(f"{os.cpu_count()} cores; {args.jobs} process(es) for (a)", flush=True)
    tally = Tally()
    start = time.perf_counter()
    timed = []
    if "a" in args.parts:
        t = time.perf_counter()
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                bench_compare(pool, args.jobs, args.reps, args.n_resamples, args.only, tally)
        else:
            bench_compare(None, 1, args.reps, args.n_resamples, args.only, tally)
        timed.append(f"(a) {time.perf_counter() - t:.0f} s")
    if "b" in args.parts:
        t = time.perf_counter()
        bench_anomalies(args.seeds, tally)
        timed.append(f"(b) {time.perf_counter() - t:.0f} s")
    if "c" in args.parts:
        t = time.perf_counter()
        bench_forecast(args.seeds, tally)
        timed.append(f"(c) {time.perf_counter() - t:.0f} s")
    print(f"\nvalidity: {tally.met} targets met, {tally.missed} missed  "
          f"[{time.perf_counter() - start:.0f} s: {', '.join(timed)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
