"""Pure functions over a sessions DataFrame: tag filters and the first summaries.

Tag matching is vectorised: a boolean session-by-tag matrix (:class:`TagIndex`)
is built once per frame and reused by every filter on that frame.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from itertools import chain
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["TagIndex", "filter_sessions", "tag_counts", "explode_tags", "cost_by_tag", "daily_summary"]

_INDEXES: dict[int, tuple[weakref.ref, np.ndarray, TagIndex]] = {}


class TagIndex:
    """Which session has which tag, as a boolean matrix (sessions x distinct tags).

    Parameters
    ----------
    tags : Series of list of str
        The ``tags`` column of a sessions frame.
    """

    def __init__(self, tags: pd.Series) -> None:
        lengths = np.fromiter(map(len, tags), dtype=np.int64, count=len(tags))
        codes, uniques = pd.factorize(pd.Series(list(chain.from_iterable(tags)), dtype=object))
        order = np.argsort(-np.bincount(codes, minlength=len(uniques)), kind="stable")
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[order] = np.arange(len(uniques))
        self.tags: list[str] = [str(uniques[i]) for i in order]
        self.matrix = np.zeros((len(tags), len(self.tags)), dtype=bool)
        rows = np.repeat(np.arange(len(tags)), lengths)
        self.matrix[rows, rank[codes]] = True
        self.counts = pd.Series(self.matrix.sum(axis=0), index=pd.Index(self.tags, name="tag"),
                                name="sessions")
        self._column = {tag: i for i, tag in enumerate(self.tags)}

    @classmethod
    def of(cls, df: pd.DataFrame) -> TagIndex:
        """The index of ``df``, built on first use and kept while ``df`` and its tags live."""
        key = id(df)
        cached = _INDEXES.get(key)
        tags = df["tags"].to_numpy()
        if cached and cached[0]() is df and _same_buffer(cached[1], tags):
            return cached[2]
        index = cls(df["tags"])
        # Holding the array keeps its buffer alive, so its address cannot be reused.
        _INDEXES[key] = (weakref.ref(df, lambda _: _INDEXES.pop(key, None)), tags, index)
        return index

    def columns(self, tags: Iterable[str]) -> list[int]:
        """Matrix columns of ``tags`` (unknown tags have none)."""
        return [self._column[t] for t in tags if t in self._column]

    def mask(self, tags: Iterable[str] | None = None, match: str = "any",
             exclude: Iterable[str] | None = None) -> np.ndarray:
        """Rows with any (or all) of ``tags`` and none of ``exclude``."""
        keep = np.ones(len(self.matrix), dtype=bool)
        if tags:
            tags = list(dict.fromkeys(tags))
            cols = self.columns(tags)
            if match == "all":
                # A tag no session has cannot be matched by all: then nothing is.
                keep = self.matrix[:, cols].all(axis=1) if len(cols) == len(tags) else ~keep
            else:
                keep = self.matrix[:, cols].any(axis=1)
        if exclude:
            keep &= ~self.matrix[:, self.columns(exclude)].any(axis=1)
        return keep


def _same_buffer(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def filter_sessions(
    df: pd.DataFrame,
    tags: Iterable[str] | str | None = None,
    match: Literal["any", "all"] = "any",
    exclude_tags: Iterable[str] | str | None = None,
    projects: Iterable[str | None] | str | None = None,
    start: Any = None,
    end: Any = None,
    index: TagIndex | None = None,
) -> pd.DataFrame:
    """Return the sessions that match every criterion given.

    Parameters
    ----------
    df : DataFrame
        A sessions frame.
    tags : str or list of str, optional
        Keep sessions with any of these tags (``match="any"``) or all of them.
    match : {"any", "all"}, default "any"
    exclude_tags : str or list of str, optional
        Drop sessions with any of these tags.
    projects : str or list, optional
        Keep these project ids; ``None`` in the list keeps sessions without one.
    start, end : datetime, Timestamp or ISO string, optional
        ``started_at`` window, start inclusive, end exclusive (naive means UTC).
    index : TagIndex, optional
        A prebuilt index of ``df``; by default one is built once per frame.

    Returns
    -------
    DataFrame
        The matching rows of ``df``, in order.
    """
    if match not in ("any", "all"):
        raise ValueError(f"match must be 'any' or 'all', not {match!r}")
    tags = [tags] if isinstance(tags, str) else tags
    exclude_tags = [exclude_tags] if isinstance(exclude_tags, str) else exclude_tags
    keep = np.ones(len(df), dtype=bool)
    if tags or exclude_tags:
        keep &= (index or TagIndex.of(df)).mask(tags, match, exclude_tags)
    if projects is not None:
        projects = [projects] if isinstance(projects, str) else list(projects)
        named = [p for p in projects if p is not None]
        picked = df["project_id"].isin(named).to_numpy()
        if len(named) < len(projects):
            picked = picked | df["project_id"].isna().to_numpy()
        keep &= picked
    if start is not None:
        keep &= (df["started_at"] >= _utc(start)).to_numpy(dtype=bool, na_value=False)
    if end is not None:
        keep &= (df["started_at"] < _utc(end)).to_numpy(dtype=bool, na_value=False)
    return df[keep]


def tag_counts(df: pd.DataFrame) -> pd.Series:
    """Sessions per tag, most used first."""
    return TagIndex.of(df).counts.copy()


def explode_tags(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (session, tag); sessions without tags keep one row with a missing tag."""
    out = df.explode("tags").rename(columns={"tags": "tag"})
    out["tag"] = out["tag"].astype("str")
    return out


def _summary(groups, sessions: str = "id") -> pd.DataFrame:
    out = groups.agg(
        sessions=(sessions, "size"),
        total_cost=("total_cost", "sum"),
        median_cost=("total_cost", "median"),
        median_duration_s=("duration_ms", "median"),
        total_tokens=("total_tokens", "sum"),
    )
    out["median_duration_s"] /= 1000
    out["cost_per_1k_tokens"] = out["total_cost"] / out["total_tokens"].where(out["total_tokens"] > 0) * 1000
    return out


def cost_by_tag(df: pd.DataFrame) -> pd.DataFrame:
    """Sessions, total and median cost, median duration and tokens per tag.

    A session with several tags counts under each of them, so the totals add up
    to more than the frame's; sessions without tags are left out. Sorted by
    total cost, highest first.
    """
    tagged = explode_tags(df).dropna(subset=["tag"])
    return _summary(tagged.groupby("tag")).sort_values("total_cost", ascending=False)


def daily_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day of ``started_at``: sessions, costs, median duration, tokens."""
    day = df["started_at"].dt.floor("D").rename("day")
    return _summary(df.groupby(day))
