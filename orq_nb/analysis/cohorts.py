"""Cohorts: a tag, a dict of :func:`~orq_nb.analysis.filters.filter_sessions` arguments, or a boolean mask.

Each becomes a boolean mask over the frame's rows: on pandas through ``filter_sessions``
itself (one :class:`TagIndex` shared by every cohort), on a Dask partition through the
same filter code with tags matched in Arrow compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from orq_nb.analysis.filters import session_mask, warn_unknown
from orq_nb.analysis.inputs import is_dask
from orq_nb.analysis.tags import TagIndex

__all__ = ["FILTER_KEYS", "MaskColumn", "dask_spec", "check_cohort", "is_mask", "needs_tags", "spec_columns",
           "describe",
           "cohort_mask", "partition_mask", "cluster_keys"]

#: The keys a dict cohort may hold: ``filter_sessions``'s arguments.
FILTER_KEYS = ("tags", "match", "exclude_tags", "projects", "start", "end")


@dataclass(frozen=True)
class MaskColumn:
    """A mask cohort of a Dask frame, put into the frame as the column ``name``."""

    name: str


def is_mask(spec: Any) -> bool:
    """Whether a cohort is given as a mask (array or Series, pandas or Dask) rather than a tag or dict."""
    return not isinstance(spec, str | dict) and spec is not None


def dask_spec(spec: Any, side: str, column: str) -> tuple[Any, dict]:
    """A cohort of a Dask frame as its partitions read it: a mask (a Dask Series of the frame) becomes the
    column ``column`` (returned, to be assigned to the frame) and a :class:`MaskColumn`; a tag or dict
    stays as it is."""
    if not is_mask(spec):
        return spec, {}
    if not is_dask(spec):
        raise TypeError(f"{side}: on a Dask frame a mask cohort must be a Dask Series of the frame "
                        f"(e.g. ddf['total_cost'] > 1), not {type(spec).__name__}")
    return MaskColumn(column), {column: spec}


def check_cohort(spec: Any, name: str) -> None:
    """Raise TypeError / ValueError for a cohort that cannot be one (before any work)."""
    if isinstance(spec, str):
        if not spec:
            raise ValueError(f"{name}: a tag cohort needs a non-empty tag")
    elif isinstance(spec, dict):
        unknown = sorted(set(spec) - set(FILTER_KEYS))
        if unknown:
            raise ValueError(f"{name}: unknown filter_sessions arguments {unknown}; expected some of "
                             f"{list(FILTER_KEYS)}")
        if spec.get("match", "any") not in ("any", "all"):
            raise ValueError(f"{name}: match must be 'any' or 'all', not {spec['match']!r}")
    elif isinstance(spec, np.ndarray | pd.Series | list) or is_dask(spec):
        dtype = getattr(spec, "dtype", None) if not isinstance(spec, list) else np.asarray(spec).dtype
        if dtype is not None and str(dtype) not in ("bool", "boolean"):
            raise TypeError(f"{name}: a mask cohort must be boolean, not {dtype}")
    else:
        raise TypeError(f"{name} must be a tag (str), a dict of filter_sessions arguments or a boolean mask, "
                        f"not {type(spec).__name__}")


def needs_tags(spec: Any) -> bool:
    """Whether a cohort reads the tags column."""
    if isinstance(spec, dict):
        return bool(spec.get("tags") or spec.get("exclude_tags"))
    return isinstance(spec, str)


def _as_filter(spec: str | dict) -> dict:
    return {"tags": [spec]} if isinstance(spec, str) else dict(spec)


def spec_columns(spec: Any) -> list[str]:
    """The frame columns a tag or dict cohort reads."""
    if not isinstance(spec, str | dict):
        return []
    spec = _as_filter(spec)
    columns = ["tags"] if needs_tags(spec) else []
    columns += ["project_id"] if spec.get("projects") is not None else []
    columns += ["started_at"] if spec.get("start") is not None or spec.get("end") is not None else []
    return columns


def describe(spec: Any, sessions: int | None = None) -> dict:
    """A small, JSON-like record of a cohort (a mask as its size, never the array)."""
    if spec is None:
        return {"rest": "every session not in a"}
    if isinstance(spec, str):
        return {"tag": spec}
    if isinstance(spec, dict):
        return {"filter": {key: _plain(value) for key, value in spec.items()}}
    return {"mask": "boolean mask" + (f" of {sessions:,} sessions" if sessions is not None else "")}


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


def cohort_mask(df: pd.DataFrame, spec: Any, name: str, index: TagIndex | None) -> np.ndarray:
    """The rows of a pandas frame in a cohort (``index``: a TagIndex of ``df`` for tag cohorts); a tag
    no session has is warned, as :func:`filter_sessions` warns it."""
    if not isinstance(spec, str | dict):
        return _pandas_mask(df, spec, name)
    criteria = _as_filter(spec)
    if needs_tags(criteria):
        index = index or TagIndex.of(df)
        warn_unknown([*_listed(criteria.get("tags")), *_listed(criteria.get("exclude_tags"))], index)
    return session_mask(df, **criteria, index=index if needs_tags(criteria) else None)


def _listed(tags: Any) -> list:
    return [] if tags is None else [tags] if isinstance(tags, str) else list(tags)


def _pandas_mask(df: pd.DataFrame, spec: Any, name: str) -> np.ndarray:
    if isinstance(spec, pd.Series):
        if not spec.index.equals(df.index):
            if not (df.index.is_unique and spec.index.isin(df.index).all()):
                raise ValueError(f"{name}: a mask Series must have the frame's index")
            spec = spec.reindex(df.index, fill_value=False)
        if spec.isna().any():
            raise ValueError(f"{name}: the mask has missing values")
        spec = spec.to_numpy(dtype=bool)
    mask = np.asarray(spec)
    if mask.shape != (len(df),):
        raise ValueError(f"{name}: a mask needs one value per session ({len(df):,}), not shape {mask.shape}")
    return mask.astype(bool, copy=False)


def partition_mask(part: pd.DataFrame, spec: Any) -> np.ndarray:
    """The rows of one Dask partition in a cohort: a tag or dict by the one filter rule (Arrow tag
    matching, no index, no per-partition warnings); a mask as the column it was put in."""
    if isinstance(spec, MaskColumn):
        return part[spec.name].to_numpy(dtype=bool)
    return session_mask(part, **_as_filter(spec))


def cluster_keys(part: pd.DataFrame) -> np.ndarray:
    """Each session's cluster: its first contact id; a session without one is its own cluster."""
    ids = part["id"].to_numpy(dtype=object)
    return np.array([c[0] if isinstance(c, list | tuple | np.ndarray) and len(c) and isinstance(c[0], str)
                     else "\0" + str(i) for c, i in zip(part["contact_ids"], ids, strict=True)], dtype=object)
