"""Filters over a sessions DataFrame: pure functions, tag matching vectorised by :class:`TagIndex`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from orq_nb.analysis.arrow_tags import tag_mask
from orq_nb.analysis.errors import UnknownTagWarning
from orq_nb.analysis.frames import is_dask
from orq_nb.analysis.tags import TagIndex
from orq_nb.errors import warn_user
from orq_nb.load.times import utc_timestamp

__all__ = ["filter_sessions"]


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
    df : DataFrame or dask DataFrame
        A sessions frame. A Dask frame is filtered partition by partition, tags
        matched in Arrow compute; the result is a Dask frame.
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
    projects = [projects] if isinstance(projects, str) else None if projects is None else list(projects)
    if is_dask(df):
        return df.map_partitions(_filter, tags, match, exclude_tags, projects, start, end, None,
                                 meta=df._meta)
    index = index or TagIndex.of(df)
    _warn_unknown([*(tags or ()), *(exclude_tags or ())], index)
    return _filter(df, tags, match, exclude_tags, projects, start, end, index)


def unknown_tags(tags: list[str], index: TagIndex) -> str:
    """What to say of the tags no session has, naming the closest that exist; empty when all exist.

    Examples: ``no session has the tag 'voic' (closest: 'voice')``.
    """
    unknown = [t for t in dict.fromkeys(tags) if t not in index.counts.index]
    hints = []
    for tag in unknown:
        close = difflib.get_close_matches(tag, index.tags, n=3, cutoff=0.5)
        hints.append(f"{tag!r}" + (f" (closest: {', '.join(map(repr, close))})" if close else ""))
    return f"no session has the tag {'; '.join(hints)}" if hints else ""


def _warn_unknown(tags: list[str], index: TagIndex) -> None:
    """Warn about tags no session has, naming the closest ones that exist."""
    text = unknown_tags(tags, index)
    if text:
        warn_user(UnknownTagWarning(text))


def _filter(df: pd.DataFrame, tags, match, exclude_tags, projects, start, end,
            index: TagIndex | None) -> pd.DataFrame:
    """One pandas frame (or partition); without an index, tags are matched in Arrow compute."""
    keep = np.ones(len(df), dtype=bool)
    if tags or exclude_tags:
        keep &= index.mask(tags, match, exclude_tags) if index is not None else tag_mask(
            df["tags"], tags, match, exclude_tags)
    if projects is not None:
        named = [p for p in projects if p is not None]
        picked = df["project_id"].isin(named).to_numpy()
        if len(named) < len(projects):
            picked = picked | df["project_id"].isna().to_numpy()
        keep &= picked
    if start is not None:
        keep &= (df["started_at"] >= utc_timestamp(start)).to_numpy(dtype=bool, na_value=False)
    if end is not None:
        keep &= (df["started_at"] < utc_timestamp(end)).to_numpy(dtype=bool, na_value=False)
    return df[keep]
