"""A forest plot of a cohort comparison: the ratio a / b per row, with its interval, on a log axis."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from orq_nb.explore.common import usd
from orq_nb.explore.no_cloud import without_cloud

__all__ = ["plot_comparison", "cohort_value"]

_SIGNIFICANT, _PLAIN_COLOUR = "crimson", "0.35"
_NEEDED = ("n_a", "n_b", "a", "b", "ratio", "ratio_low", "ratio_high", "p_adjusted", "method", "reliable",
           "note")


def plot_comparison(result: pd.DataFrame, ax: Axes | None = None,
                    backend: Literal["matplotlib", "plotly"] = "matplotlib", *, values: bool = True) -> Any:
    """Forest plot of ``compare_cohorts`` / ``compare_tags``: each row's ratio a / b and its interval.

    The x axis is logarithmic, with a line at 1 (no difference). Rows whose
    Benjamini–Hochberg adjusted p-value is below 1 - confidence are drawn in red
    and starred; rows without an interval say why; an interval unbounded above
    (``ratio_high`` infinite) runs to the right edge and ends in an arrow; a row
    flagged as unreliable (``reliable`` False) is drawn with an open marker and a
    ⚠ after its label. Labels give each cohort's value, costs in dollars.

    Parameters
    ----------
    result : DataFrame
        What :func:`~orq_nb.analysis.compare.compare_cohorts` or
        :func:`~orq_nb.analysis.compare.compare_tags` returned.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.
    backend : {"matplotlib", "plotly"}
        ``"plotly"`` returns a figure whose hover shows
        the counts, values, difference, p-values and method of each row.
    values : bool, default True
        Whether the labels carry each cohort's value (``total_cost  ($0.0058 vs
        $0.009)``) or only the row's name (where a table beside the plot gives them).

    Returns
    -------
    matplotlib Axes, or a plotly Figure
    """
    if not isinstance(result, pd.DataFrame) or any(c not in result.columns for c in _NEEDED):
        raise ValueError("result must be a frame from compare_cohorts or compare_tags")
    if backend not in ("matplotlib", "plotly"):
        raise ValueError(f"backend must be 'matplotlib' or 'plotly', not {backend!r}")
    info = result.attrs.get("orq_nb", {})
    alpha = 1 - info.get("confidence", 0.95)
    rows = _rows(result, info, alpha)
    title = _title(info)
    if backend == "plotly":
        return _plotly(rows, title, info, alpha)
    if ax is None:
        import matplotlib.pyplot as plt  # a pyplot figure, so that notebooks show it

        ax = plt.figure(figsize=(7.5, 0.9 + 0.42 * max(len(rows), 1))).add_subplot()
    y = -np.arange(len(rows), dtype=float)
    shown = rows["shown"].to_numpy()
    significant = rows["significant"].to_numpy()
    right = _plain_log_axis(ax, rows) / 1.05  # an interval unbounded above: to the axes' edge, an arrow there
    high = np.where(rows["open"], right, rows["ratio_high"])
    for picked, colour in ((shown & significant, _SIGNIFICANT), (shown & ~significant, _PLAIN_COLOUR)):
        if picked.any():
            r = rows[picked]
            spread = [r["ratio"] - r["ratio_low"], high[picked] - r["ratio"]]
            ax.errorbar(r["ratio"], y[picked], xerr=spread, fmt="o", color=colour, ecolor=colour, capsize=3,
                        markersize=6)
    flagged = shown & rows["flagged"].to_numpy()
    if flagged.any():  # an open marker over the filled one
        ax.scatter(rows.loc[flagged, "ratio"], y[flagged], s=24, facecolors="white", zorder=3,
                   edgecolors=np.where(significant[flagged], _SIGNIFICANT, _PLAIN_COLOUR))
    for yi, row in zip(y, rows.itertuples(), strict=True):
        if row.open:
            ax.plot([right], [yi], marker=">", markersize=7, linestyle="none",
                    color=_SIGNIFICANT if row.significant else _PLAIN_COLOUR)
    ax.axvline(1.0, color="0.5", linewidth=1, linestyle="--", zorder=0)
    ax.set_yticks(y, [label.replace("$", r"\$") for label in (rows["label"] if values else rows["short"])])
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    for yi, row in zip(y, rows.itertuples(), strict=True):
        if not row.shown:
            # From the axes' left edge (not from 1, where a long reason ran out of the figure), wrapped.
            ax.text(0.02, yi, f"no interval ({row.reason})", va="center", ha="left", fontsize=9, color="0.35",
                    transform=ax.get_yaxis_transform(), wrap=True)
    key = f"red, *: significant (adjusted p < {alpha:g})"
    if rows["flagged"].any():
        key += "\n⚠, open marker: flagged as unreliable"
    ax.set_xlabel(f"ratio a / b of the {info.get('statistic', 'mean')} (log scale; "
                  f"{info.get('confidence', 0.95):.0%} interval)\n{key}")
    ax.set_title(title, y=1.01)
    return ax


def _rows(result: pd.DataFrame, info: dict, alpha: float) -> pd.DataFrame:
    """One plotted row per result row: label, whether drawn, significant, and the reason if not."""
    names = [str(i) for i in result.index]
    metric = info.get("metric")
    rows = result[list(_NEEDED) + ["p_value"] + (["difference", "difference_low", "difference_high"]
                                                 if "difference" in result.columns else [])].copy()
    rows["name"] = [name if metric else metric_label(name) for name in names]
    rows["metric"] = [metric or name for name in names]
    ratio, low, high = (rows[c].to_numpy(dtype=float) for c in ("ratio", "ratio_low", "ratio_high"))
    with np.errstate(invalid="ignore"):
        drawable = np.isfinite(ratio) & np.isfinite(low) & (low > 0) & ~np.isnan(high) & (high >= ratio)
    rows["shown"] = drawable  # an interval unbounded above is drawn to the axis' edge
    rows["open"] = drawable & np.isposinf(high)
    rows["significant"] = (rows["p_adjusted"] < alpha).to_numpy()
    with np.errstate(invalid="ignore"):
        unbounded = np.isinf(low) | np.isinf(high) | (low <= 0)
    rows["reason"] = [m.split(": ", 1)[1] if m.startswith("none: ") else "unbounded" if u else m
                      for m, u in zip(rows["method"].astype(str), unbounded, strict=True)]
    rows["flagged"] = ~rows["reliable"].to_numpy(dtype=bool)
    star = np.where(rows["significant"], "* ", "")
    flag = np.where(rows["flagged"], " ⚠", "")
    rows["short"] = [s + n + f for s, n, f in zip(star, rows["name"], flag, strict=True)]
    rows["label"] = [s + f"{n}  ({cohort_value(m, a)} vs {cohort_value(m, b)})" + f
                     for s, n, m, a, b, f in zip(star, rows["name"], rows["metric"], rows["a"], rows["b"],
                                                 flag, strict=True)]
    return rows.reset_index(drop=True)


def metric_label(metric: str) -> str:
    """A metric's name as tables and plots show it: ``duration_ms`` is shown in seconds, so it is called
    "duration" (its values say "s"); every other name as it is."""
    return "duration" if metric == "duration_ms" else metric


def cohort_value(metric: str, value: float) -> str:
    """A cohort's value in its unit: dollars for costs (the explorer's one dollar format), seconds for
    durations."""
    if not np.isfinite(value):
        return "n/a"
    if metric == "cost_per_1k_tokens":
        return f"{usd(value)}/1k tokens"
    if "cost" in metric:
        return usd(value)
    if metric == "duration_ms":
        return f"{value / 1000:,.3g} s"
    return f"{value:,.4g}"


def _title(info: dict) -> str:
    if info.get("comparison") == "tags":
        return f"{info.get('metric', 'metric')}: each tag against the sessions without it"

    def name(cohort: Any) -> str:
        if not isinstance(cohort, dict):
            return "a"
        if "tag" in cohort:
            return str(cohort["tag"])
        if "rest" in cohort:
            return "the rest"
        if "filter" in cohort:
            return ", ".join(f"{k}={v}" for k, v in cohort["filter"].items())
        return "selection"

    return f"{name(info.get('a'))} vs {name(info.get('b'))}" if info else "a vs b"


def _ends(rows: pd.DataFrame) -> tuple[float, float]:
    """The x range the drawn intervals need (an unbounded end: its ratio and a margin past it)."""
    ends = rows.loc[rows["shown"], ["ratio", "ratio_low", "ratio_high"]].to_numpy(dtype=float)
    ends = ends[np.isfinite(ends)]
    low, high = (ends.min(), ends.max()) if len(ends) else (1.0, 1.0)
    high = high * 2 if rows["open"].any() else high
    return min(low, 1.0) / 1.25, max(high, 1.0) * 1.25


def _plain_log_axis(ax: Axes, rows: pd.DataFrame) -> float:
    """A log x axis over the drawn intervals, with plain tick labels; returns its right end."""
    ax.set_xscale("log")
    low, high = _ends(rows)
    ax.set_xlim(low, high)
    ticks = _log_ticks(low, high)
    if ticks:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    return high


def _log_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """Plain ticks for a log axis from ``low`` to ``high``: 1, 1.5, 2, 3, 5, 7 a decade where they fit, else
    fewer; empty (matplotlib's own) over many decades."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for steps in ((1, 1.5, 2, 3, 5, 7), (1, 2, 5), (1, 3), (1,)):
        ticks = [step * 10.0 ** k for k in decades for step in steps if low <= step * 10.0 ** k <= high]
        if len(ticks) <= most:
            return ticks
    return []


def _plotly(rows: pd.DataFrame, title: str, info: dict, alpha: float) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    hover = ("%{customdata[0]}<br>n a %{customdata[1]:,} · n b %{customdata[2]:,}<br>a %{customdata[3]}"
             " · b %{customdata[4]}<br>ratio %{x:.4g} [%{customdata[5]}, %{customdata[6]}]"
             "<br>difference %{customdata[7]}<br>p %{customdata[8]:.3g} · adjusted %{customdata[9]:.3g}"
             "<br>%{customdata[10]}%{customdata[11]}<extra></extra>")
    right = _ends(rows)[1]
    for picked, colour, name in ((rows["shown"] & rows["significant"], _SIGNIFICANT,
                                  f"significant (adjusted p < {alpha:g})"),
                                 (rows["shown"] & ~rows["significant"], "#595959", "not significant")):
        r = rows[picked]
        if not len(r):
            continue
        custom = np.column_stack([
            r["name"], r["n_a"], r["n_b"],
            [cohort_value(m, v) for m, v in zip(r["metric"], r["a"], strict=True)],
            [cohort_value(m, v) for m, v in zip(r["metric"], r["b"], strict=True)], r["ratio_low"].map(_end),
            r["ratio_high"].map(_end), [_difference(row) for row in r.itertuples()], r["p_value"],
            r["p_adjusted"], r["method"], ["<br>⚠ " + n if f else "" for n, f in zip(r["note"], r["flagged"],
                                                                                     strict=True)]])
        high = np.where(r["open"], right, r["ratio_high"])  # unbounded above: to the axis' edge
        fig.add_trace(go.Scatter(
            x=r["ratio"], y=r["label"], mode="markers", name=name, marker={"color": colour, "size": 9},
            error_x={"type": "data", "symmetric": False, "array": high - r["ratio"],
                     "arrayminus": r["ratio"] - r["ratio_low"], "color": colour},
            customdata=custom, hovertemplate=hover))
    missing = rows[~rows["shown"]]
    if len(missing):
        fig.add_trace(go.Scatter(x=np.ones(len(missing)), y=missing["label"], mode="text", name="no interval",
                                 text=["no interval (" + r + ")" for r in missing["reason"]],
                                 textposition="middle right", hoverinfo="skip"))
    fig.add_vline(x=1.0, line_dash="dash", line_color="grey")
    fig.update_layout(
        title=title, height=160 + 36 * max(len(rows), 1),
        xaxis={"type": "log", "title": f"ratio a / b of the {info.get('statistic', 'mean')} (log scale; "
                                       f"{info.get('confidence', 0.95):.0%} interval)"},
        yaxis={"categoryorder": "array", "categoryarray": rows["label"].tolist()[::-1], "title": ""})
    return without_cloud(fig)


def _end(value: float) -> str:
    """An interval's end for a hover: 4 digits, or ∞ when unbounded."""
    return ("∞" if value > 0 else "-∞") if np.isinf(value) else f"{value:.4g}"


def _difference(row) -> str:
    values = [getattr(row, k, np.nan) for k in ("difference", "difference_low", "difference_high")]
    if not np.isfinite(values[0]):
        return "n/a"
    text = [cohort_value(row.metric, v) for v in values]
    return f"{text[0]} [{text[1]}, {text[2]}]"
