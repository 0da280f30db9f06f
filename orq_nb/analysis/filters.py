"""Filters over a sessions frame: one mask rule (:func:`session_mask`) and :func:`filter_sessions`."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from orq_nb.analysis.inputs import is_dask, sessions_input
from orq_nb.analysis.tags import TagIndex, tag_mask
from orq_nb.errors import UnknownTagWarning, warn_user
from orq_nb.load.times import utc_timestamp

__all__ = ["filter_sessions", "session_mask", "unknown_tags", "warn_unknown"]


def filter_sessions(
    df: Any,
    *,
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
    df : DataFrame, dask DataFrame or SessionStore
        Sessions. A Dask frame is filtered partition by partition, tags matched in
        Arrow compute; the result is a Dask frame. A store is read whole
        (``to_pandas()``); pass ``store.to_dask()`` to filter it lazily.
    tags : str or list of str, optional
        Keep sessions with any of these tags (``match="any"``) or all of them.
        A tag no session has is warned (:class:`~orq_nb.errors.UnknownTagWarning`),
        naming the closest that exist (case aside: "RAG" suggests "rag").
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

    Examples
    --------
    >>> import orq_nb
    >>> df = orq_nb.load_sample()
    >>> rag = orq_nb.filter_sessions(df, tags="rag", start="2025-10-01")
    >>> bool(rag["tags"].map(lambda t: "rag" in t).all())
    True
    """
    df = sessions_input(df)
    criteria = _criteria(tags, match, exclude_tags, projects)
    if is_dask(df):
        return df.map_partitions(_matching, criteria, start, end, meta=df._meta)
    index = index or TagIndex.of(df)
    warn_unknown([*(criteria["tags"] or ()), *(criteria["exclude_tags"] or ())], index)
    return df[session_mask(df, **criteria, start=start, end=end, index=index)]


def _criteria(tags, match, exclude_tags, projects) -> dict:
    """The tag and project criteria as lists (one string is one item)."""
    if match not in ("any", "all"):
        raise ValueError(f"match must be 'any' or 'all', not {match!r}")
    return {"tags": [tags] if isinstance(tags, str) else None if tags is None else list(tags),
            "match": match,
            "exclude_tags": [exclude_tags] if isinstance(exclude_tags, str) else
            None if exclude_tags is None else list(exclude_tags),
            "projects": [projects] if isinstance(projects, str) else
            None if projects is None else list(projects)}


def _matching(part: pd.DataFrame, criteria: dict, start: Any, end: Any) -> pd.DataFrame:
    return part[session_mask(part, **criteria, start=start, end=end)]


def session_mask(df: pd.DataFrame, *, tags: Iterable[str] | str | None = None, match: str = "any",
                 exclude_tags: Iterable[str] | str | None = None,
                 projects: Iterable[str | None] | None = None, start: Any = None, end: Any = None,
                 index: TagIndex | None = None) -> np.ndarray:
    """The one filter rule: which rows of a pandas frame (or one partition) match, as a bool array.

    :func:`filter_sessions`, the cohorts of :func:`compare_cohorts` (on pandas and per Dask partition)
    and the explorer's filters all use it. With ``index`` (a :class:`TagIndex` of ``df``) tags are matched
    in its matrix; without, in Arrow compute (a partition read once). It never warns.
    """
    criteria = _criteria(tags, match, exclude_tags, projects)
    tags, exclude_tags, projects = criteria["tags"], criteria["exclude_tags"], criteria["projects"]
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
    return keep


def unknown_tags(tags: list[str], index: TagIndex) -> str:
    """What to say of the tags no session has, naming the closest that exist; empty when all exist.

    Examples: ``no session has the tag 'voic' (closest: 'voice')``; a tag that differs only in case
    names the one that exists first: ``'RAG' (closest: 'rag')``.
    """
    unknown = [t for t in dict.fromkeys(tags) if t not in index.counts.index]
    if not unknown:
        return ""
    by_case: dict[str, list[str]] = {}
    for known in index.tags:
        by_case.setdefault(known.casefold(), []).append(known)
    hints = []
    for tag in unknown:
        same = by_case.get(tag.casefold(), [])
        near = difflib.get_close_matches(tag.casefold(), list(by_case), n=3, cutoff=0.5)
        close = list(dict.fromkeys([*same, *(k for key in near for k in by_case[key])]))[:3]
        hints.append(f"{tag!r}" + (f" (closest: {', '.join(map(repr, close))})" if close else ""))
    return f"no session has the tag {'; '.join(hints)}"


def warn_unknown(tags: list[str], index: TagIndex) -> None:
    """Warn about tags no session has, naming the closest ones that exist."""
    text = unknown_tags(tags, index)
    if text:
        warn_user(UnknownTagWarning(text))
