"""Rows into groups, and the sums of a group: the one grouping rule of cost analysis.

A row belongs to the group its ``by`` column names (a missing value is the group ``"(none)"``); with
``by="day"`` to the UTC day it started on; with ``by="tag"`` to each of its tags, its count, tokens and
costs split equally among them (a row without tags is ``"(no tag)"``), so that groups partition the
amounts. The same functions run on a pandas frame and on each Dask partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from orq_nb.analysis.inputs import is_dask, is_frame
from orq_nb.analysis.tags import flat_tags

__all__ = ["ALL", "NONE", "NO_TAG", "group_rows", "group_sums", "by_columns", "check_by", "SPAN_ONLY"]

ALL, NONE, NO_TAG = "(all)", "(none)", "(no tag)"
#: Groups only a spans frame has.
SPAN_ONLY = ("model", "provider")


def by_columns(by: str | None) -> list[str]:
    """The frame columns grouping by ``by`` reads."""
    if by is None:
        return []
    return {"tag": ["tags"], "day": ["started_at"]}.get(by, [by])


def check_by(frame: Any, by: str | None, function: str) -> None:
    """Refuse a ``by`` the frame cannot group by, saying what would."""
    if by is None:
        return
    if not isinstance(by, str):
        raise TypeError(f"by must be a column name, 'tag', 'day' or None, not {type(by).__name__}")
    needed = by_columns(by)[0]
    if needed in frame.columns:
        if by == "tag" and frame["tags"].dtype != object:
            raise TypeError(f"{function}: the tags column holds {frame['tags'].dtype} values, not lists of "
                            "tags (dd.from_pandas turns lists into text unless under "
                            "dask.config.set({'dataframe.convert-string': False}))")
        return
    if by in SPAN_ONLY:
        raise ValueError(f"{function}(by={by!r}) needs a spans frame, where each row has one {by}: fetch one "
                         "with OrqClient.query_spans(traces) (or orq_nb.load_sample('spans'))")
    raise ValueError(f"{function}: the frame has no column {needed!r} to group by {by!r}")


def group_rows(part: pd.DataFrame, by: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each (row, group) pair: the row's position, the group's label, and the row's weight in it."""
    n = len(part)
    if by is None:
        return np.arange(n), np.full(n, ALL, dtype=object), np.ones(n)
    if by == "tag":
        items, rows = flat_tags(part["tags"])
        labels = np.asarray(items.to_numpy(zero_copy_only=False), dtype=object)
        counts = np.bincount(rows, minlength=n)
        untagged = np.flatnonzero(counts == 0)
        weights = 1.0 / counts[rows]
        return (np.concatenate([rows, untagged]), np.concatenate([labels, np.full(len(untagged), NO_TAG,
                                                                                   dtype=object)]),
                np.concatenate([weights, np.ones(len(untagged))]))
    if by == "day":
        days = part["started_at"].dt.strftime("%Y-%m-%d")
        labels = days.to_numpy(dtype=object, na_value=NONE)
    else:
        labels = part[by].astype(object).to_numpy()
        labels = np.where(pd.isna(labels), NONE, labels).astype(object)
    return np.arange(n), labels.astype(str).astype(object), np.ones(n)


def group_sums(part: pd.DataFrame, masks: dict[str, np.ndarray], by: str | None,
               columns: tuple[str, ...]) -> pd.DataFrame:
    """Per cohort (a name in ``masks``) and group: ``rows`` (weighted) and the sums of ``columns`` (a
    missing value counts 0)."""
    rows, labels, weights = group_rows(part, by)
    values = np.column_stack([part[c].to_numpy(dtype=float, na_value=np.nan) for c in columns]) if len(
        part) else np.empty((0, len(columns)))
    values = np.nan_to_num(values, nan=0.0)
    frames = []
    for name, mask in masks.items():
        pick = mask[rows]
        w = weights[pick]
        data = {"cohort": np.full(int(pick.sum()), name, dtype=object), "group": labels[pick], "rows": w}
        picked = values[rows[pick]] * w[:, None]
        data.update({c: picked[:, i] for i, c in enumerate(columns)})
        frames.append(pd.DataFrame(data))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["cohort", "group", "rows", *columns])
    table = table.astype({"cohort": object, "group": object, "rows": float, **{c: float for c in columns}})
    return table.groupby(["cohort", "group"], sort=False, as_index=False).sum()


def frame_kind(df: Any) -> str:
    """``"pandas"`` or ``"dask"`` for a frame (a store is read before)."""
    return "dask" if is_dask(df) else "pandas" if is_frame(df) else "other"
