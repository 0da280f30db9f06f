"""Cohort comparison on a Dask frame: each cohort's sufficient statistics per partition, then combined.

One pass over the partitions serves every cohort pair (``compare_tags`` compares 20 at
once). Unclustered, a partition gives each cohort's :data:`~orq_nb.analysis.compare.welch.MOMENTS`
per metric, combined by Chan's update; clustered, it gives sums per contact, added up
across partitions by a Dask groupby, and the cluster-robust variance is taken on them as
on pandas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from orq_nb.analysis import cohorts
from orq_nb.analysis.compare.welch import (
    MOMENTS,
    Cohort,
    combine_moments,
    from_clusters,
    from_moments,
    moments,
)

__all__ = ["dask_cohorts"]

_SIDES = ("a", "b", "both")


def dask_cohorts(ddf, pairs: list[tuple[Any, Any]], metrics: list, opts) -> list[dict]:
    """For each (a, b) pair: ``sizes`` (sessions), ``both`` (in both), ``cohorts`` (per metric, the two
    :class:`Cohort`), ``caps`` (winsorize limits)."""
    import dask

    base = list(dict.fromkeys(c for m in metrics for c in (m.num, m.den) if c is not None))
    extra, specs = {}, []
    for p, pair in enumerate(pairs):
        specs.append([])
        for side, spec in zip("ab", pair, strict=True):
            spec, column = cohorts.dask_spec(spec, side, f"__cohort_{p}_{side}")
            extra.update(column)
            specs[-1].append(spec)
    needed = list(dict.fromkeys(base + [c for pair in pairs for s in pair for c in cohorts.spec_columns(s)]
                                + (["contact_ids", "id"] if opts.cluster else [])))
    frame = (ddf.assign(**extra) if extra else ddf)[needed + list(extra)]
    metric_cols = [(base.index(m.num), None if m.den is None else base.index(m.den)) for m in metrics]
    caps = _caps(frame, specs, base, opts.winsorize) if opts.winsorize is not None else [None] * len(pairs)
    args = (specs, base, metric_cols, caps)
    if opts.cluster:
        meta = _cluster_parts(frame._meta, *args)
        parts = frame.map_partitions(_cluster_parts, *args, meta=meta)
        spread = max(1, frame.npartitions // 8)
        table = dask.compute(parts.groupby(["pair", "side", "metric", "key"]).sum(split_out=spread))[0]
        table = table.reset_index()
        return [_from_clusters(table[table["pair"] == p], len(metrics), caps[p], base)
                for p in range(len(pairs))]
    meta = _moment_parts(frame._meta, *args)
    table = frame.map_partitions(_moment_parts, *args, meta=meta).compute()
    return [_from_moment_table(table[table["pair"] == p], len(metrics), caps[p], base)
            for p in range(len(pairs))]


def _masks(part: pd.DataFrame, spec: list) -> tuple[np.ndarray, np.ndarray]:
    a = cohorts.partition_mask(part, spec[0])
    return a, ~a if spec[1] is None else cohorts.partition_mask(part, spec[1])


def _values(part: pd.DataFrame, base: list[str], cap: np.ndarray | None) -> np.ndarray:
    values = np.column_stack([part[c].to_numpy(dtype=float, na_value=np.nan) for c in base]) if len(
        part) else np.empty((0, len(base)))
    return values if cap is None else np.minimum(values, cap)


def _valid(values: np.ndarray, num: int, den: int | None) -> np.ndarray:
    ok = ~np.isnan(values[:, num])
    return ok if den is None else ok & ~np.isnan(values[:, den])


def _caps(frame, specs, base, quantile) -> list[np.ndarray]:
    """Winsorize limits per pair, exactly ``np.quantile``'s of the pooled cohorts: count the values first,
    then take each partition's largest ones, which hold the quantile's two order statistics."""
    meta = pd.DataFrame({"pair": pd.Series(dtype="int64"), "column": pd.Series(dtype="int64"),
                         "value": pd.Series(dtype="float64")})
    counts = frame.map_partitions(_pooled_top, specs, base, None, meta=meta).compute()
    n = counts.groupby(["pair", "column"])["value"].sum()
    low = np.floor((n - 1) * quantile)
    keep = {key: int(v) for key, v in (n - low).items()}
    top = frame.map_partitions(_pooled_top, specs, base, keep, meta=meta).compute()
    caps = np.full((len(specs), len(base)), np.inf)
    for (p, c), values in top.groupby(["pair", "column"])["value"]:
        if n[(p, c)] == 0:
            continue
        ranked = np.sort(values.to_numpy())[::-1]
        k = keep[(p, c)]
        h = (n[(p, c)] - 1) * quantile
        lo, hi = ranked[k - 1], ranked[max(k - 2, 0)]
        caps[p, c] = lo + (h - np.floor(h)) * (hi - lo)
    return list(caps)


def _pooled_top(part: pd.DataFrame, specs, base, keep) -> pd.DataFrame:
    """Per pair and column: the count of pooled values (``keep`` None), or the ``keep`` largest."""
    rows = []
    values = _values(part, base, None)
    for p, spec in enumerate(specs):
        a, b = _masks(part, spec)
        for c in range(len(base)):
            col = values[a | b, c]
            col = col[~np.isnan(col)]
            if keep is None:
                rows.append(pd.DataFrame({"pair": [p], "column": [c], "value": [float(len(col))]}))
            elif keep.get((p, c), 0) > 0:
                k = min(keep[(p, c)], len(col))
                largest = np.partition(col, len(col) - k)[len(col) - k:] if k else col[:0]
                rows.append(pd.DataFrame({"pair": p, "column": c, "value": largest}))
    if not rows:
        return pd.DataFrame({"pair": np.zeros(0, np.int64), "column": np.zeros(0, np.int64), "value": []})
    return pd.concat(rows, ignore_index=True).astype({"pair": "int64", "column": "int64", "value": "float64"})


def _moment_parts(part: pd.DataFrame, specs, base, metric_cols, caps) -> pd.DataFrame:
    rows = []
    for p, spec in enumerate(specs):
        a, b = _masks(part, spec)
        values = _values(part, base, caps[p])
        for s, mask in enumerate((a, b)):
            rows.append([p, s, -1, mask.sum(), *[0] * (len(MOMENTS) - 1)])
            for i, (num, den) in enumerate(metric_cols):
                ok = mask & _valid(values, num, den)
                rows.append([p, s, i, *moments(values[ok, num], None if den is None else values[ok, den])])
        rows.append([p, 2, -1, (a & b).sum(), *[0] * (len(MOMENTS) - 1)])
    out = pd.DataFrame(rows, columns=["pair", "side", "metric", *MOMENTS])
    types = {**dict.fromkeys(["pair", "side", "metric"], "int64"), **dict.fromkeys(MOMENTS, "float64")}
    return out.astype(types)


def _from_moment_table(table: pd.DataFrame, n_metrics: int, cap, base) -> dict:
    blocks = {key: group[list(MOMENTS)].to_numpy() for key, group in table.groupby(["side", "metric"])}
    count = {s: int(blocks[(s, -1)][:, 0].sum()) if (s, -1) in blocks else 0 for s in range(3)}
    none = np.zeros((0, len(MOMENTS)))
    found = [tuple(from_moments(combine_moments(blocks.get((s, i), none))) for s in (0, 1))
             for i in range(n_metrics)]
    return _result(count, found, cap, base)


def _cluster_parts(part: pd.DataFrame, specs, base, metric_cols, caps) -> pd.DataFrame:
    keys = cohorts.cluster_keys(part) if len(part) else np.array([], dtype=object)
    frames = []
    for p, spec in enumerate(specs):
        a, b = _masks(part, spec)
        values = _values(part, base, caps[p])
        frames.append(_rows(p, 2, -1, np.array([""], dtype=object), [float((a & b).sum())], [0.0], [0.0]))
        for s, mask in enumerate((a, b)):
            frames.append(_rows(p, s, -1, np.array([""], dtype=object), [float(mask.sum())], [0.0], [0.0]))
            for i, (num, den) in enumerate(metric_cols):
                ok = mask & _valid(values, num, den)
                codes, uniques = pd.factorize(keys[ok])
                g = len(uniques)
                sessions = np.bincount(codes, minlength=g).astype(float)
                sums = np.bincount(codes, weights=values[ok, num], minlength=g)
                dens = sessions if den is None else np.bincount(codes, weights=values[ok, den], minlength=g)
                frames.append(_rows(p, s, i, np.asarray(uniques, dtype=object), sessions, sums, dens))
    return pd.concat(frames, ignore_index=True)


def _rows(pair, side, metric, keys, sessions, num, den) -> pd.DataFrame:
    n = len(keys)
    return pd.DataFrame({"pair": np.full(n, pair, dtype=np.int64), "side": np.full(n, side, dtype=np.int64),
                         "metric": np.full(n, metric, dtype=np.int64), "key": pd.array(keys, dtype="str"),
                         "sessions": np.asarray(sessions, dtype=float), "num": np.asarray(num, dtype=float),
                         "den": np.asarray(den, dtype=float)})


def _from_clusters(table: pd.DataFrame, n_metrics: int, cap, base) -> dict:
    groups = {key: group for key, group in table.groupby(["side", "metric"])}
    empty = table.iloc[:0]
    count = {s: int(groups.get((s, -1), empty)["sessions"].sum()) for s in range(3)}
    found = []
    for i in range(n_metrics):
        pair = []
        for s in (0, 1):
            g = groups.get((s, i), empty)
            pair.append(from_clusters(g["num"].to_numpy(), g["den"].to_numpy(), int(g["sessions"].sum())))
        found.append(tuple(pair))
    return _result(count, found, cap, base)


def _result(count: dict, found: list[tuple[Cohort, Cohort]], cap, base) -> dict:
    caps = {} if cap is None else {c: float(v) for c, v in zip(base, cap, strict=True)}
    return {"sizes": (count[0], count[1]), "both": count[2], "cohorts": found, "caps": caps}
