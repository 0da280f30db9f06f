"""Sessions under a box or a lasso drawn on the duration-vs-cost plot: pure functions.

Coordinates are as the plot shows them: duration in seconds, total cost in USD.
On a log axis the shapes are drawn in log space, and sessions at or below zero
on that axis are not on the plot, so they are never selected. Each takes a pandas
frame, a Dask frame (selected partition by partition; the result is a Dask frame)
or a store (read whole).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.path import Path

from orq_nb.analysis.inputs import is_dask, sessions_input

__all__ = ["select_box", "select_lasso"]


def _points(df: pd.DataFrame, log_x: bool, log_y: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plot's coordinates of every session, and which sessions the plot can show."""
    x = df["duration_ms"].to_numpy(dtype=float) / 1000
    y = df["total_cost"].to_numpy(dtype=float)
    shown = np.isfinite(x) & np.isfinite(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_x:
            shown &= x > 0
            x = np.log10(x)
        if log_y:
            shown &= y > 0
            y = np.log10(y)
    return x, y, shown


def select_box(df: Any, *, duration: tuple[float, float], cost: tuple[float, float],
               log_x: bool = False, log_y: bool = False) -> pd.DataFrame:
    """Return the sessions inside a box, bounds included.

    Parameters
    ----------
    df : DataFrame, dask DataFrame or SessionStore
        Sessions.
    duration : (float, float)
        Seconds, in either order.
    cost : (float, float)
        USD, in either order.
    log_x, log_y : bool, default False
        Whether that axis is logarithmic (then sessions at or below zero on it
        are not selectable).

    Examples
    --------
    >>> import orq_nb
    >>> df = orq_nb.load_sample()
    >>> box = orq_nb.select_box(df, duration=(10, 60), cost=(0.01, 0.05))
    >>> bool(box["total_cost"].between(0.01, 0.05).all())
    True
    """
    df = sessions_input(df)
    if is_dask(df):
        return df.map_partitions(select_box, duration=duration, cost=cost, log_x=log_x, log_y=log_y,
                                 meta=df._meta)
    x, y, shown = _points(df, log_x, log_y)
    (x0, x1), (y0, y1) = sorted(duration), sorted(cost)
    seconds = df["duration_ms"].to_numpy(dtype=float) / 1000
    usd = df["total_cost"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        inside = shown & (seconds >= x0) & (seconds <= x1) & (usd >= y0) & (usd <= y1)
    return df[inside]


def select_lasso(df: Any, *, polygon: Sequence[tuple[float, float]], log_x: bool = False,
                 log_y: bool = False) -> pd.DataFrame:
    """Return the sessions inside a lasso (a polygon of (seconds, USD) vertices).

    On a log axis the polygon's edges are straight in log space, as drawn on the
    plot. A point exactly on an edge may fall either side. ``df`` and the log
    axes as for :func:`select_box`.
    """
    vertices = np.asarray(polygon, dtype=float)
    if vertices.ndim != 2 or vertices.shape[1] != 2 or len(vertices) < 3:
        raise ValueError("a lasso needs at least three (duration, cost) vertices")
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_x:
            vertices[:, 0] = np.log10(vertices[:, 0])
        if log_y:
            vertices[:, 1] = np.log10(vertices[:, 1])
    if not np.isfinite(vertices).all():
        raise ValueError("a lasso on a log axis needs vertices above zero on it")
    df = sessions_input(df)
    if is_dask(df):
        return df.map_partitions(select_lasso, polygon=[tuple(v) for v in polygon], log_x=log_x, log_y=log_y,
                                 meta=df._meta)
    x, y, shown = _points(df, log_x, log_y)
    inside = np.zeros(len(df), dtype=bool)
    rows = np.flatnonzero(shown)
    inside[rows] = Path(vertices).contains_points(np.column_stack([x[rows], y[rows]]))
    return df[inside]
