"""Duration against cost: one scatter an analyst reads first, fast at any size."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.ticker import FuncFormatter, NullLocator

from orq_nb.filters import TagIndex

__all__ = ["plot_duration_vs_cost", "categories", "density_edges", "density_counts", "MAX_POINTS"]

#: Above this many sessions the plot shows density instead of points.
MAX_POINTS = 50_000
OTHER, NO_TAGS, NO_PROJECT = "other", "(no tags)", "(no project)"
_BINS = (90, 60)
_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")


def categories(df: pd.DataFrame, color_by: str, top: int = 8) -> pd.Series:
    """The legend group of each session: one of the ``top`` most common values, or "other".

    For ``color_by="tag"`` a session goes under the most common of its tags,
    leaving out tags that every session has (after filtering by a tag, it
    would tell nothing); sessions without other tags form "(no tags)". For
    ``"project_id"``, sessions without project form "(no project)".
    """
    if color_by == "tag":
        index = TagIndex.of(df)
        telling = np.flatnonzero(~index.matrix.all(axis=0)) if len(df) else np.arange(len(index.tags))
        matrix, tags = index.matrix[:, telling], [index.tags[i] for i in telling]
        head = matrix[:, :top]
        names = np.array([*tags[:top], OTHER, NO_TAGS], dtype=object)
        n_head = len(tags[:top])
        rest = np.where(matrix.any(axis=1), n_head, n_head + 1)
        group = np.where(head.any(axis=1), head.argmax(axis=1), rest)
        order = [*tags[:top], OTHER, NO_TAGS]
        return pd.Series(pd.Categorical(names[group], categories=order), index=df.index)
    if color_by == "project_id":
        projects = df["project_id"]
        common = list(projects.value_counts().index[:top])
        named = projects.where(projects.isin(common), OTHER).fillna(NO_PROJECT)
        named[projects.isna().to_numpy()] = NO_PROJECT
        return pd.Series(pd.Categorical(named, categories=[*common, OTHER, NO_PROJECT]), index=df.index)
    raise ValueError(f"color_by must be 'tag', 'project_id' or None, not {color_by!r}")


def _edges(values: np.ndarray, log: bool, bins: int) -> np.ndarray:
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo, hi = np.log10(lo), np.log10(hi)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return 10**edges if log else edges


def density_edges(x: np.ndarray, y: np.ndarray, logx: bool = True, logy: bool = True) -> tuple:
    """Cell edges covering ``x`` and ``y`` (log-spaced where the axis is log)."""
    return _edges(x, logx, _BINS[0]), _edges(y, logy, _BINS[1])


def density_counts(x: np.ndarray, y: np.ndarray, xe: np.ndarray, ye: np.ndarray,
                   logx: bool = True, logy: bool = True) -> np.ndarray:
    """Sessions per cell of the grid ``xe`` x ``ye``, by bincount: fast for millions."""
    fx = np.log10(x) if logx else x
    fy = np.log10(y) if logy else y
    bx = np.log10(xe) if logx else xe
    by = np.log10(ye) if logy else ye
    nx, ny = len(xe) - 1, len(ye) - 1
    ix = np.clip(((fx - bx[0]) / (bx[-1] - bx[0]) * nx).astype(np.int64), 0, nx - 1)
    iy = np.clip(((fy - by[0]) / (by[-1] - by[0]) * ny).astype(np.int64), 0, ny - 1)
    return np.bincount(ix * ny + iy, minlength=nx * ny).reshape(nx, ny)


def plot_duration_vs_cost(
    df: pd.DataFrame,
    ax: Axes | None = None,
    color_by: Literal["tag", "project_id"] | None = "tag",
    logx: bool = True,
    logy: bool = True,
    highlight: Iterable[str] | pd.Series | None = None,
    top: int = 8,
    max_points: int = MAX_POINTS,
    backend: Literal["matplotlib", "plotly"] = "matplotlib",
) -> Any:
    """Scatter of session duration (seconds) against total cost (USD).

    Parameters
    ----------
    df : DataFrame
        Sessions; needs ``duration_ms`` and ``total_cost`` (plus ``tags`` or
        ``project_id`` to colour by, ``id`` to highlight).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    color_by : {"tag", "project_id", None}, default "tag"
        Colour by the ``top`` most common values, the rest as "other"
        (see :func:`categories`).
    logx, logy : bool, default True
        Log axes; sessions with a zero duration or cost cannot be placed on
        them, and the title says how many were left out.
    highlight : ids or boolean Series, optional
        Sessions drawn on top, circled.
    max_points : int, default 50,000
        Above this many sessions, draw their density (counts on a grid)
        instead of points, and say so in the title.
    backend : {"matplotlib", "plotly"}
        ``"plotly"`` (extra ``orq_nb[plotly]``) returns an interactive figure
        whose hover shows id, external_id, title, tags, cost and duration.

    Returns
    -------
    matplotlib Axes, or a plotly Figure
    """
    if backend == "plotly":
        from orq_nb.plotly_plot import plotly_duration_vs_cost

        return plotly_duration_vs_cost(df, color_by, logx, logy, highlight, top, max_points)
    if ax is None:
        import matplotlib.pyplot as plt  # a pyplot figure, so that notebooks show it

        ax = plt.figure(figsize=(7.5, 4.8)).add_subplot()
    x = df["duration_ms"].to_numpy(dtype=float) / 1000
    y = df["total_cost"].to_numpy(dtype=float)
    shown = np.ones(len(x), dtype=bool)
    if logx:
        shown &= x > 0
    if logy:
        shown &= y > 0
    hidden = int(len(x) - shown.sum())
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("total cost (USD)")
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    # Minor log ticks and math-text labels cost most of a redraw: plain numbers read better anyway.
    for axis, log in ((ax.xaxis, logx), (ax.yaxis, logy)):
        axis.set_minor_locator(NullLocator())
        if log:
            axis.set_major_formatter(_PLAIN)
    note = f"; {hidden:,} with zero duration or cost not shown" if hidden else ""
    if not shown.any():
        ax.text(0.5, 0.5, "No sessions match", transform=ax.transAxes, ha="center", va="center",
                fontsize=13, color="0.4")
        ax.set_title(f"Duration vs cost: no sessions to show{note}", y=1.01)
        return ax
    x, y = x[shown], y[shown]
    if len(x) > max_points:
        xe, ye = density_edges(x, y, logx, logy)
        counts = density_counts(x, y, xe, ye, logx, logy)
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
            palette = _palette(len(groups.cat.categories))
            codes = groups.cat.codes.to_numpy()
            for i, name in enumerate(groups.cat.categories):
                on = codes == i
                if on.any():
                    ax.scatter(x[on], y[on], s=8, alpha=0.6, linewidths=0, color=palette[i],
                               label=f"{name} ({on.sum():,})", rasterized=len(x) > 5000)
            ax.legend(title=color_by.replace("_", " "), fontsize="small", markerscale=2, frameon=False,
                      loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.set_title(f"Duration vs cost: {len(x):,} sessions{note}", y=1.01)
    if highlight is not None:
        picked = _highlighted(df, highlight)[shown]
        if picked.any():
            ax.scatter(x[picked], y[picked], s=60, facecolors="none", edgecolors="crimson", linewidths=1.2,
                       label=f"highlighted ({picked.sum():,})", zorder=3)
    return ax


def _highlighted(df: pd.DataFrame, highlight: Iterable[str] | pd.Series) -> np.ndarray:
    if isinstance(highlight, pd.Series) and highlight.dtype == bool:
        return highlight.reindex(df.index, fill_value=False).to_numpy()
    return df["id"].isin(list(highlight)).to_numpy()


def _palette(n: int) -> list:
    import matplotlib

    colours = [c for i, c in enumerate(matplotlib.colormaps["tab10"].colors) if i != 7]  # 7 is grey
    grey, light = (0.55, 0.55, 0.55), (0.8, 0.8, 0.8)
    return (colours * (n // len(colours) + 1))[: max(n - 2, 0)] + [grey, light]
