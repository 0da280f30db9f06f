"""Daily figures per group (the whole frame, each tag, each project) as days x groups arrays.

The days are :func:`~orq_nb.analysis.summaries.daily_summary`'s: UTC midnights, every
day of the range, empty days zero. Sums are ``np.bincount`` over (day, group) codes, so
the cost does not grow with the number of groups; on Dask each partition gives its
small table of sums, and only those tables come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from orq_nb.analysis.inputs import is_dask, sessions_input
from orq_nb.load.tags import as_tags
from orq_nb.load.times import utc_timestamp

__all__ = ["DailyGroups", "daily_groups", "session_frame", "ALL", "NO_TAG", "NO_PROJECT", "BY", "METRICS"]

ALL, NO_TAG, NO_PROJECT = "(all)", "(no tag)", "(no project)"
BY = (None, "tag", "project_id")
METRICS = ("total_cost", "sessions", "cost_per_session", "median_duration_s", "total_tokens")
_DAY_US = 86_400_000_000
_DAY_DTYPE = "datetime64[us, UTC]"
_SUMS = ["sessions", "total_cost", "total_tokens"]


@dataclass(frozen=True)
class DailyGroups:
    """Daily figures of each group: ``days`` x ``groups`` float arrays.

    ``median_duration_s`` is missing (NaN) on a group's empty days, and ``None``
    unless asked for (it needs every duration, not sums).
    """

    days: pd.DatetimeIndex
    groups: list[str]
    sessions: np.ndarray
    total_cost: np.ndarray
    total_tokens: np.ndarray
    median_duration_s: np.ndarray | None = None

    def metric(self, name: str) -> np.ndarray:
        """The ``days`` x ``groups`` values of one of :data:`METRICS`."""
        if name == "cost_per_session":
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(self.sessions > 0, self.total_cost / self.sessions, np.nan)
        if name == "median_duration_s":
            if self.median_duration_s is None:
                raise ValueError("median_duration_s was not computed: pass medians=True")
            return self.median_duration_s
        return getattr(self, name)

    def first(self) -> np.ndarray:
        """For each group, the position of its first day with sessions (``len(days)`` if none)."""
        seen = self.sessions > 0
        if not len(self.days):
            return np.zeros(len(self.groups), dtype=np.int64)
        return np.where(seen.any(axis=0), seen.argmax(axis=0), len(self.days))


def session_frame(df: Any, columns: list[str]):
    """``df`` as a pandas or Dask frame with ``columns``; a store is read through Dask where installed."""
    df = sessions_input(df, columns, lazy=True)
    # Dask cannot see which columns a partition function reads: name them, and only those are read.
    return df[columns] if is_dask(df) else df


def daily_groups(df: Any, by: str | None = None, *, medians: bool = False, start: Any = None,
                 end: Any = None) -> DailyGroups:
    """Daily sessions, cost, tokens (and median duration) per group.

    Parameters
    ----------
    df : DataFrame, dask DataFrame or store
    by : {None, "tag", "project_id"}
        ``None``: one group, ``"(all)"``. ``"tag"``: a session counts under each
        of its distinct tags, untagged ones under ``"(no tag)"``. ``"project_id"``:
        sessions without a project under ``"(no project)"``.
    medians : bool
        Also the median duration (seconds) per group and day.
    start, end : datetime, Timestamp or ISO string, optional
        The days to cover at least: from ``start``'s day; up to the day before
        ``end`` (exclusive, naive means UTC). Sessions at or after ``end`` are left
        out; those before ``start`` are kept (they are history).

    Returns
    -------
    DailyGroups
        Groups sorted by name, ``"(no ...)"`` last.
    """
    if by not in BY:
        raise ValueError(f"by must be None, 'tag' or 'project_id', not {by!r}")
    columns = ["started_at", "total_cost", "total_tokens", *(["duration_ms"] if medians else []),
               *([by if by != "tag" else "tags"] if by else [])]
    frame = session_frame(df, columns)
    if by == "tag" and frame["tags"].dtype != object:
        raise TypeError(f"the tags column holds {frame['tags'].dtype} values, not lists of tags "
                        "(dd.from_pandas turns lists into text unless under "
                        "dask.config.set({'dataframe.convert-string': False}))")
    cut = None if end is None else _us(end)
    if is_dask(frame):
        meta = _partial(frame._meta, by, cut)
        sums = frame.map_partitions(_partial, by, cut, meta=meta).compute()
        sums = sums.groupby(["day", "group"], sort=False).sum().reset_index()
        durations = None
        if medians:
            meta = _durations(frame._meta, by, cut)
            keyed = frame.map_partitions(_durations, by, cut, meta=meta)
            durations = keyed.groupby(["day", "group"]).agg(
                median=("duration_ms", "median"), split_out=frame.npartitions).compute().reset_index()
    else:
        sums = _partial(frame, by, cut)
        durations = _durations(frame, by, cut).groupby(["day", "group"], sort=False).agg(
            median=("duration_ms", "median")).reset_index() if medians else None
    return _arrays(sums, durations, by, start, end, medians)


def _us(value: Any) -> int:
    """Microseconds since the epoch of a time given by a user (naive means UTC)."""
    return utc_timestamp(value).value // 1000  # Timestamp.value is in nanoseconds whatever its unit


def _day_numbers(started_at: pd.Series, cut: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Days since the epoch of each start, and which rows count (a start, and before ``cut``)."""
    us = np.asarray(started_at.to_numpy(dtype="datetime64[us]")).view(np.int64)
    keep = us != np.iinfo(np.int64).min
    if cut is not None:
        keep &= us < cut
    return np.floor_divide(us, _DAY_US), keep


def _codes(frame: pd.DataFrame, by: str | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(row, group code) pairs, and the group names: one pair per session and group it counts under."""
    n = len(frame)
    if by is None:
        return np.arange(n), np.zeros(n, dtype=np.int64), [ALL]
    if by == "project_id":
        codes, names = pd.factorize(frame["project_id"], use_na_sentinel=True)
        names = [str(v) for v in names]
        codes = np.where(codes < 0, len(names), codes)
        return np.arange(n), codes.astype(np.int64), [*names, NO_PROJECT]
    tags = frame["tags"]
    try:
        lists = pa.array(tags.to_numpy(), type=pa.list_(pa.string()), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # odd cells: the shared reading of tags
        lists = pa.array([as_tags(t) for t in tags], type=pa.list_(pa.string()))
    items = pc.list_flatten(lists)
    rows = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    encoded = pc.dictionary_encode(items)
    names = [str(v) for v in encoded.dictionary.to_pylist()]
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    width = max(len(names), 1)
    pairs = np.sort(rows * width + codes)  # rows come sorted: cheap; a tag twice in a session counts once
    if len(pairs):
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]
    rows, codes = pairs // width, pairs % width
    untagged = np.flatnonzero(np.bincount(rows, minlength=n) == 0)
    if len(untagged):
        rows = np.concatenate([rows, untagged])
        codes = np.concatenate([codes, np.full(len(untagged), len(names), dtype=np.int64)])
        names = [*names, NO_TAG]
    return rows, codes, names


def _partial(frame: pd.DataFrame, by: str | None, cut: int | None) -> pd.DataFrame:
    """Sessions, cost and tokens per (day, group) of one frame or partition: a small long table."""
    day, keep = _day_numbers(frame["started_at"], cut)
    rows, codes, names = _codes(frame, by)
    on = keep[rows]
    rows, codes = rows[on], codes[on]
    if not len(rows):
        return pd.DataFrame({"day": np.zeros(0, np.int64), "group": pd.array([], dtype="str"),
                             **{c: np.zeros(0) for c in _SUMS}})
    day = day[rows]
    lo = int(day.min())
    key = (day - lo) * len(names) + codes
    size = int(key.max()) + 1
    # NaN costs and tokens are left out of the sums, as daily_summary's sum leaves them out.
    cost = np.nan_to_num(frame["total_cost"].to_numpy(dtype=float, na_value=np.nan)[rows], nan=0.0)
    tokens = np.nan_to_num(frame["total_tokens"].to_numpy(dtype=float, na_value=np.nan)[rows], nan=0.0)
    sessions = np.bincount(key, minlength=size)
    present = np.flatnonzero(sessions)
    return pd.DataFrame({
        "day": present // len(names) + lo,
        "group": pd.array(np.asarray(names, dtype=object)[present % len(names)], dtype="str"),
        "sessions": sessions[present].astype(float),
        "total_cost": np.bincount(key, weights=cost, minlength=size)[present],
        "total_tokens": np.bincount(key, weights=tokens, minlength=size)[present],
    })


def _durations(frame: pd.DataFrame, by: str | None, cut: int | None) -> pd.DataFrame:
    """(day, group, duration_ms) for every session and group it counts under, for exact medians."""
    day, keep = _day_numbers(frame["started_at"], cut)
    rows, codes, names = _codes(frame, by)
    on = keep[rows]
    rows, codes = rows[on], codes[on]
    return pd.DataFrame({
        "day": day[rows],
        "group": pd.array(np.asarray(names, dtype=object)[codes], dtype="str"),
        "duration_ms": frame["duration_ms"].to_numpy(dtype=float, na_value=np.nan)[rows],
    })


def _order(names: list[str]) -> list[str]:
    """Groups by name, the ``"(no ...)"`` group last."""
    return sorted(names, key=lambda g: (g in (NO_TAG, NO_PROJECT), g))


def _arrays(sums: pd.DataFrame, durations: pd.DataFrame | None, by: str | None, start: Any, end: Any,
            medians: bool) -> DailyGroups:
    """The long sums as days x groups arrays over every day of the range."""
    lo = hi = None
    if len(sums):
        lo, hi = int(sums["day"].min()), int(sums["day"].max())
    if start is not None:
        first = _us(start) // _DAY_US
        lo = first if lo is None else min(lo, first)
    if end is not None:
        last = (_us(end) - 1) // _DAY_US
        hi = last if hi is None else max(hi, last)
        lo = last if lo is None else lo
    groups = _order(list(dict.fromkeys(sums["group"].tolist()))) if len(sums) else (
        [ALL] if by is None else [])
    if lo is None or hi is None or hi < lo:  # (only a start and no sessions: no days)
        empty = np.zeros((0, len(groups)))
        return DailyGroups(pd.DatetimeIndex([], dtype=_DAY_DTYPE, name="day"), groups, empty, empty, empty,
                           empty if medians else None)
    days = pd.DatetimeIndex((np.arange(lo, hi + 1) * _DAY_US).astype("datetime64[us]"), name="day"
                            ).tz_localize("UTC")
    where = {g: j for j, g in enumerate(groups)}
    shape = (len(days), len(groups))
    row = sums["day"].to_numpy() - lo
    col = sums["group"].map(where).to_numpy(dtype=np.int64)
    out = {}
    for name in _SUMS:
        grid = np.zeros(shape)
        grid[row, col] = sums[name].to_numpy(dtype=float)
        out[name] = grid
    if medians:
        grid = np.full(shape, np.nan)
        if durations is not None and len(durations):
            grid[durations["day"].to_numpy() - lo, durations["group"].map(where).to_numpy(dtype=np.int64)] = (
                durations["median"].to_numpy(dtype=float) / 1000)
        out["median_duration_s"] = grid
    return DailyGroups(days, groups, **out)
