"""Sessions under a box or a lasso drawn on the duration-vs-cost plot: pure functions.

Coordinates are as the plot shows them: duration in seconds, total cost in USD.
On a log axis the shapes are drawn in log space, and sessions at or below zero
on that axis are not on the plot, so they are never selected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.path import Path

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


def select_box(df: pd.DataFrame, duration: tuple[float, float], cost: tuple[float, float],
               log_x: bool = False, log_y: bool = False) -> pd.DataFrame:
    """Return the sessions inside a box, bounds included.

    Parameters
    ----------
    df : DataFrame
        A sessions frame.
    duration : (float, float)
        Seconds, in either order.
    cost : (float, float)
        USD, in either order.
    log_x, log_y : bool, default False
        Whether that axis is logarithmic (then sessions at or below zero on it
        are not selectable).
    """
    x, y, shown = _points(df, log_x, log_y)
    (x0, x1), (y0, y1) = sorted(duration), sorted(cost)
    seconds = df["duration_ms"].to_numpy(dtype=float) / 1000
    usd = df["total_cost"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        inside = shown & (seconds >= x0) & (seconds <= x1) & (usd >= y0) & (usd <= y1)
    return df[inside]


def select_lasso(df: pd.DataFrame, polygon: Sequence[tuple[float, float]], log_x: bool = False,
                 log_y: bool = False) -> pd.DataFrame:
    """Return the sessions inside a lasso (a polygon of (seconds, USD) vertices).

    On a log axis the polygon's edges are straight in log space, as drawn on the
    plot. A point exactly on an edge may fall either side.
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
    x, y, shown = _points(df, log_x, log_y)
    inside = np.zeros(len(df), dtype=bool)
    rows = np.flatnonzero(shown)
    inside[rows] = Path(vertices).contains_points(np.column_stack([x[rows], y[rows]]))
    return df[inside]
