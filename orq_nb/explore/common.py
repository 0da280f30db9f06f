"""What both duration-vs-cost backends share: legend groups, highlights, density grids."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from orq_nb.analysis.spend.daily_groups import NO_PROJECT
from orq_nb.analysis.tags import TagIndex

__all__ = [
    "COLOURS", "palette", "categories", "highlighted", "density_edges", "density_counts", "placeable", "usd",
    "axis_ticks", "legend_title", "MAX_POINTS",
]

#: Above this many sessions the plot shows density instead of points.
MAX_POINTS = 50_000
OTHER, NO_TAGS = "other", "(no tags)"
_BINS = (90, 60)


#: The group colours of every plot (matplotlib and plotly, static and in the explorer): tab10 without its
#: grey, so that a group has one colour everywhere; greys for "other" and "(no ...)".
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
GREY, LIGHT = "#8c8c8c", "#cccccc"


def palette(n: int) -> list[str]:
    """``n`` colours for legend groups as :func:`categories` orders them: distinct ones for the named
    groups, then the greys of "other" and "(no ...)"."""
    named = (COLOURS * (n // len(COLOURS) + 1))[: max(n - 2, 0)]
    return named + [GREY, LIGHT][: n - len(named)]


def usd(value: float, _: object = None) -> str:
    """Dollars in plain digits at any size, for tick labels (also a matplotlib ``FuncFormatter``) and
    figures: ``$0``, ``$0.0001``, ``$0.0125``, ``$0.25``, ``$12.5``, ``$1,200``."""
    if not np.isfinite(value) or value == 0:
        return "$0" if value == 0 else ""
    sign, size = ("-" if value < 0 else ""), abs(float(value))
    if size >= 1000:
        text = f"{size:,.0f}"
    else:
        # Three digits after the first significant one: tick values like 0.0125 keep their last digit.
        decimals = max(0, 3 - math.floor(math.log10(size))) if size < 1 else 2
        text = f"{size:,.{decimals}f}".rstrip("0").rstrip(".")
    return f"{sign}${text}"


def axis_ticks(log: bool, dollars: bool) -> dict:
    """plotly axis settings for plain tick labels: one per decade on a log axis (no "2" and "5" between),
    decimal digits rather than SI prefixes (``100µ``), dollars on a cost axis."""
    ticks: dict = {"tickformat": "~r", "minor": {"showgrid": False}}
    if log:
        ticks["dtick"] = 1
    if dollars:
        ticks["tickprefix"] = "$"
    return ticks


def legend_title(color_by: str | None) -> str:
    """What a colour means: for tags, each session's most specific tag (see :func:`categories`)."""
    return "most specific tag" if color_by == "tag" else (color_by or "").replace("_", " ")


def categories(df: pd.DataFrame, color_by: str, top: int = 8, names: list[str] | None = None) -> pd.Series:
    """The legend group of each session: one of the ``top`` most common values, or "other".

    ``names`` fixes the groups instead (as a plot that keeps its colours
    across changes does); the last two are "other" and "(no ...)".

    For ``color_by="tag"`` a session goes under its most specific tag: the most
    common of its tags among those on at most half of the sessions (a tag most
    sessions have, such as ``production`` or the tag just filtered on, tells
    them apart least); sessions without such a tag form "(no tags)". For
    ``"project_id"``, sessions without project form "(no project)".
    """
    if color_by == "tag":
        index = TagIndex.of(df)
        if names is not None:
            where = {tag: i for i, tag in enumerate(index.tags)}
            fixed = names[:-2]
            head = np.zeros((len(df), len(fixed)), dtype=bool)
            for j, tag in enumerate(fixed):
                if tag in where:
                    head[:, j] = index.matrix[:, where[tag]]
            rest = np.where(index.matrix.any(axis=1), len(fixed), len(fixed) + 1)
            group = np.where(head.any(axis=1), head.argmax(axis=1), rest) if head.shape[1] else rest
            return pd.Series(pd.Categorical.from_codes(group, categories=list(names)), index=df.index)
        # Tags on more than half of the sessions tell them apart least: left out (when any other is left).
        share = index.matrix.sum(axis=0) / max(len(df), 1)
        telling = np.flatnonzero(share <= 0.5)
        if not len(telling) and len(df):
            telling = np.flatnonzero(~index.matrix.all(axis=0))
        matrix, tags = index.matrix[:, telling], [index.tags[i] for i in telling]
        head = matrix[:, :top]
        names = np.array([*tags[:top], OTHER, NO_TAGS], dtype=object)
        n_head = len(tags[:top])
        rest = np.where(matrix.any(axis=1), n_head, n_head + 1)
        # When every shown session has the same tags, none tells anything: all are "(no tags)".
        group = np.where(head.any(axis=1), head.argmax(axis=1), rest) if head.shape[1] else rest
        order = [*tags[:top], OTHER, NO_TAGS]
        return pd.Series(pd.Categorical(names[group], categories=order), index=df.index)
    if color_by == "project_id":
        projects = df["project_id"]
        common = list(names[:-2]) if names is not None else list(projects.value_counts().index[:top])
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


def density_edges(x: np.ndarray, y: np.ndarray, log_x: bool = True, log_y: bool = True) -> tuple:
    """Cell edges covering ``x`` and ``y`` (log-spaced where the axis is log)."""
    return _edges(x, log_x, _BINS[0]), _edges(y, log_y, _BINS[1])


def density_counts(x: np.ndarray, y: np.ndarray, xe: np.ndarray, ye: np.ndarray,
                   log_x: bool = True, log_y: bool = True) -> np.ndarray:
    """Sessions per cell of the grid ``xe`` x ``ye``, by bincount: fast for millions."""
    fx = np.log10(x) if log_x else x
    fy = np.log10(y) if log_y else y
    bx = np.log10(xe) if log_x else xe
    by = np.log10(ye) if log_y else ye
    nx, ny = len(xe) - 1, len(ye) - 1
    ix = np.clip(((fx - bx[0]) / (bx[-1] - bx[0]) * nx).astype(np.int64), 0, nx - 1)
    iy = np.clip(((fy - by[0]) / (by[-1] - by[0]) * ny).astype(np.int64), 0, ny - 1)
    return np.bincount(ix * ny + iy, minlength=nx * ny).reshape(nx, ny)


def placeable(x: np.ndarray, y: np.ndarray, log_x: bool, log_y: bool) -> tuple[np.ndarray, str]:
    """Mask of the points an axis pair can place (finite; positive on a log axis), and the title's
    note on the rest: ``"; 3 with zero duration or cost not shown"``, missing values counted apart."""
    missing = ~(np.isfinite(x) & np.isfinite(y))
    shown = ~missing
    if log_x:
        shown &= x > 0
    if log_y:
        shown &= y > 0
    zero, none = int((~shown & ~missing).sum()), int(missing.sum())
    note = f"; {zero:,} with zero duration or cost not shown" if zero else ""
    note += f"; {none:,} with no duration or cost not shown" if none else ""
    return shown, note


def highlighted(df: pd.DataFrame, highlight: Iterable[str] | pd.Series) -> np.ndarray:
    """Boolean mask of the sessions to highlight: ids, or a boolean Series on ``df``."""
    if isinstance(highlight, pd.Series) and highlight.dtype == bool:
        return highlight.reindex(df.index, fill_value=False).to_numpy()
    return df["id"].isin(list(highlight)).to_numpy()
