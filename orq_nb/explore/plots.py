"""Duration against cost: one scatter an analyst reads first, fast at any size."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.ticker import FuncFormatter, NullLocator

from orq_nb.analysis.inputs import is_dask, sessions_input
from orq_nb.explore.common import (
    MAX_POINTS,
    categories,
    density_counts,
    density_edges,
    highlighted,
    legend_title,
    palette,
    placeable,
    usd,
)

__all__ = ["plot_duration_vs_cost"]

_PLAIN = FuncFormatter(lambda value, _: np.format_float_positional(value, precision=6, trim="-"))
_USD = FuncFormatter(usd)


def plot_duration_vs_cost(
    df: Any,
    *,
    ax: Axes | None = None,
    color_by: Literal["tag", "project_id"] | None = "tag",
    log_x: bool = True,
    log_y: bool = True,
    highlight: Iterable[str] | pd.Series | None = None,
    top: int = 8,
    max_points: int = MAX_POINTS,
    backend: Literal["matplotlib", "plotly"] = "matplotlib",
) -> Any:
    """Scatter of session duration (seconds) against total cost (USD).

    Parameters
    ----------
    df : DataFrame, dask DataFrame or SessionStore
        Sessions; needs ``duration_ms`` and ``total_cost`` (plus ``tags`` or
        ``project_id`` to colour by, ``id`` to highlight). A plot draws what
        one machine holds: a Dask frame is computed first and a store read whole.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    color_by : {"tag", "project_id", None}, default "tag"
        Colour by the ``top`` most common values, the rest as "other"
        (see :func:`categories`).
    log_x, log_y : bool, default True
        Log axes; sessions with a zero duration or cost cannot be placed on
        them, and the title says how many were left out.
    highlight : ids or boolean Series, optional
        Sessions drawn on top, circled.
    max_points : int, default 50,000
        Above this many sessions, draw their density (counts on a grid)
        instead of points, and say so in the title.
    backend : {"matplotlib", "plotly"}
        ``"plotly"`` returns an interactive figure
        whose hover shows id, external_id, title, tags, cost and duration.

    Returns
    -------
    matplotlib Axes, or a plotly Figure
    """
    df = sessions_input(df, ["duration_ms", "total_cost"])
    if is_dask(df):
        df = df.compute()
    if backend == "plotly":
        from orq_nb.explore.plotly_plot import plotly_duration_vs_cost

        return plotly_duration_vs_cost(df, color_by, log_x, log_y, highlight, top, max_points)
    if ax is None:
        import matplotlib.pyplot as plt  # a pyplot figure, so that notebooks show it

        ax = plt.figure(figsize=(7.5, 4.8)).add_subplot()
    x = df["duration_ms"].to_numpy(dtype=float) / 1000
    y = df["total_cost"].to_numpy(dtype=float)
    shown, note = placeable(x, y, log_x, log_y)
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("total cost (USD)")
    ax.set_xscale("log" if log_x else "linear")
    ax.set_yscale("log" if log_y else "linear")
    # Minor log ticks and math-text labels cost most of a redraw: plain numbers read better anyway.
    for axis, log in ((ax.xaxis, log_x), (ax.yaxis, log_y)):
        if log:
            axis.set_minor_locator(NullLocator())
    if log_x:
        ax.xaxis.set_major_formatter(_PLAIN)
    ax.yaxis.set_major_formatter(_USD)
    if not shown.any():
        ax.text(0.5, 0.5, "No sessions match", transform=ax.transAxes, ha="center", va="center",
                fontsize=13, color="0.4")
        ax.set_title(f"Duration vs cost: no sessions to show{note}", y=1.01)
        return ax
    x, y = x[shown], y[shown]
    if len(x) > max_points:
        xe, ye = density_edges(x, y, log_x, log_y)
        counts = density_counts(x, y, xe, ye, log_x, log_y)
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_equal(counts.T, 0), norm=LogNorm(), cmap="viridis")
        bar = ax.figure.colorbar(mesh, ax=ax, label="sessions per cell")
        bar.ax.yaxis.set_minor_locator(NullLocator())
        bar.ax.yaxis.set_major_formatter(_PLAIN)
        ax.set_title(f"Duration vs cost: {len(x):,} sessions, shown as density{note}", y=1.01)
    else:
        groups = categories(df, color_by, top)[shown] if color_by else None
        if groups is None:
            ax.scatter(x, y, s=8, alpha=0.5, linewidths=0, rasterized=len(x) > 5000)
        else:
            colours = palette(len(groups.cat.categories))
            codes = groups.cat.codes.to_numpy()
            for i, name in enumerate(groups.cat.categories):
                on = codes == i
                if on.any():
                    ax.scatter(x[on], y[on], s=8, alpha=0.6, linewidths=0, color=colours[i],
                               label=f"{name} ({on.sum():,})", rasterized=len(x) > 5000)
            ax.legend(title=legend_title(color_by), fontsize="small", markerscale=2, frameon=False,
                      loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.set_title(f"Duration vs cost: {len(x):,} sessions{note}", y=1.01)
    if highlight is not None:
        picked = highlighted(df, highlight)[shown]
        if picked.any():
            ax.scatter(x[picked], y[picked], s=60, facecolors="none", edgecolors="crimson", linewidths=1.2,
                       label=f"highlighted ({picked.sum():,})", zorder=3)
    return ax
