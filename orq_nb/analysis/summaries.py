"""Summaries of a sessions DataFrame: tag counts, cost by tag, per-day figures.

Each takes a pandas frame, a Dask frame or a store (read with the columns it needs) and gives the
same pandas result; on Dask, tags are handled per partition in Arrow compute and medians by Dask's
exact groupby.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from orq_nb.analysis.inputs import is_dask, sessions_input
from orq_nb.analysis.tags import TagIndex, explode_columns, tag_count_parts
from orq_nb.load.times import utc_timestamp

_SUMMED = ["id", "total_cost", "duration_ms", "total_tokens"]

__all__ = ["tag_counts", "explode_tags", "cost_by_tag", "daily_summary"]


def tag_counts(df: Any) -> pd.Series:
    """Sessions per tag, most used first (ties: first seen first).

    Examples
    --------
    >>> import orq_nb
    >>> counts = orq_nb.tag_counts(orq_nb.load_sample())
    >>> counts.index.name, counts.name
    ('tag', 'sessions')
    """
    df = sessions_input(df, ["tags"])
    if not is_dask(df):
        return TagIndex.of(df).counts.copy()
    meta = tag_count_parts(df._meta["tags"], 0)
    parts = df.map_partitions(lambda part, partition_info=None: tag_count_parts(
        part["tags"], partition_info["number"] if partition_info else 0), meta=meta).compute()
    total = parts.groupby("tag", sort=False).agg(sessions=("sessions", "sum"), first=("first", "min"))
    total = total.sort_values(["sessions", "first"], ascending=[False, True], kind="stable")
    counts = total["sessions"].astype("int64")
    counts.index = pd.Index(counts.index.astype("str"), name="tag")
    return counts.rename("sessions")


def explode_tags(df: Any) -> pd.DataFrame:
    """One row per (session, tag); sessions without tags keep one row with a missing tag.

    On a Dask frame: a Dask frame, exploded partition by partition (each keeps its index).
    """
    df = sessions_input(df)
    if is_dask(df):
        return df.map_partitions(explode_tags, meta=explode_tags(df._meta))
    out = df.explode("tags").rename(columns={"tags": "tag"})
    out["tag"] = out["tag"].astype("str")
    return out


def _summary(groups, sessions: str = "id", partitions: int | None = None) -> pd.DataFrame:
    """The figures per group; on Dask, ``partitions`` spreads the groups (for exact medians)
    over that many outputs, so that no worker holds every session."""
    spread = {} if partitions is None else {"split_out": partitions}
    out = groups.agg(
        sessions=(sessions, "size"),
        total_cost=("total_cost", "sum"),
        median_cost=("total_cost", "median"),
        median_duration_s=("duration_ms", "median"),
        total_tokens=("total_tokens", "sum"),
        **spread,
    )
    if is_dask(out):
        out = out.compute()
    out["median_duration_s"] /= 1000
    out["total_tokens"] = out["total_tokens"].astype("Int64")  # a count, on pandas and Dask alike
    tokens = out["total_tokens"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = out["total_cost"].to_numpy(dtype=float)
        out["cost_per_1k_tokens"] = np.where(tokens > 0, cost / tokens * 1000, np.nan)
    return out


def cost_by_tag(df: Any) -> pd.DataFrame:
    """Sessions, total and median cost, median duration and tokens per tag.

    A session with several tags counts under each of them, so the totals add up
    to more than the frame's; sessions without tags are left out. Sorted by
    total cost, highest first.
    """
    df = sessions_input(df, [*_SUMMED, "tags"])
    if is_dask(df):
        meta = explode_columns(df._meta, _SUMMED)
        tagged = df.map_partitions(explode_columns, _SUMMED, meta=meta)
        out = _summary(tagged.groupby("tag"), partitions=df.npartitions)
        out.index = pd.Index(out.index.astype("str"), name="tag")
        return out.sort_index().sort_values("total_cost", ascending=False)
    tagged = explode_tags(df).dropna(subset=["tag"])
    return _summary(tagged.groupby("tag")).sort_values("total_cost", ascending=False)


def daily_summary(df: Any, *, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Per UTC day of ``started_at``: sessions, costs, median duration, tokens; every day of the range.

    Parameters
    ----------
    df : DataFrame, dask DataFrame or SessionStore
    start, end : datetime, Timestamp or ISO string, optional
        The days to cover: from ``start``'s day up to the day before ``end``
        (end exclusive, as in ``filter_sessions``; naive means UTC); sessions
        outside are left out. Default: the data's first to last day.

    Returns
    -------
    DataFrame
        One row per day, days without sessions included: counts and sums are
        zero there, medians and cost per 1k tokens missing.
    """
    df = sessions_input(df, [*_SUMMED, "started_at"])
    first = None if start is None else utc_timestamp(start).floor("D")
    after = None if end is None else utc_timestamp(end)
    if is_dask(df):
        days = df[_SUMMED + ["started_at"]].assign(day=df["started_at"].dt.floor("D"))
        if first is not None:
            days = days[days["day"] >= first]
        if after is not None:
            days = days[days["started_at"] < after]
        out = _summary(days.groupby("day"), partitions=df.npartitions)
    else:
        stamps = df["started_at"]
        keep = pd.Series(True, index=df.index)
        if first is not None:
            keep &= (stamps >= first).fillna(False)
        if after is not None:
            keep &= (stamps < after).fillna(False)
        picked = df[keep.to_numpy()] if first is not None or after is not None else df
        out = _summary(picked.groupby(picked["started_at"].dt.floor("D").rename("day")))
    return _every_day(out, first, after)


def _every_day(out: pd.DataFrame, first: pd.Timestamp | None, after: pd.Timestamp | None) -> pd.DataFrame:
    """Add the days without sessions: zero counts and sums, missing medians."""
    out = out.sort_index()
    lo = first if first is not None else (out.index.min() if len(out) else None)
    hi = (after - pd.Timedelta(microseconds=1)).floor("D") if after is not None else (
        out.index.max() if len(out) else None)
    if lo is None or hi is None:
        return out
    dtype = out.index.dtype if len(out) else "datetime64[us, UTC]"
    days = pd.date_range(lo, hi, freq="D", name="day").astype(dtype)
    full = out.reindex(days)
    for column in ("sessions", "total_cost", "total_tokens"):
        full[column] = full[column].fillna(0).astype(out[column].dtype)
    return full
