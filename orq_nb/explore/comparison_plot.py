"""A forest plot of a cohort comparison: the ratio a / b per row, with its interval, on a log axis."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, NullLocator

from orq_nb.explore.no_cloud import without_cloud

__all__ = ["plot_comparison"]

_SIGNIFICANT, _PLAIN_COLOUR = "crimson", "0.35"
_NEEDED = ("n_a", "n_b", "a", "b", "ratio", "ratio_low", "ratio_high", "p_adjusted", "method")


def plot_comparison(result: pd.DataFrame, ax: Axes | None = None,
                    backend: Literal["matplotlib", "plotly"] = "matplotlib") -> Any:
    """Forest plot of ``compare_cohorts`` / ``compare_tags``: each row's ratio a / b and its interval.

    The x axis is logarithmic, with a line at 1 (no difference). Rows whose
    Benjamini–Hochberg adjusted p-value is below 1 - confidence are drawn in red
    and starred; rows without an interval say why. Labels give each cohort's value,
    costs in dollars.

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
    kinds = ((shown & significant, _SIGNIFICANT, f"significant (adjusted p < {alpha:g})"),
             (shown & ~significant, _PLAIN_COLOUR, "not significant"))
    for picked, colour, label in kinds:
        if picked.any():
            r = rows[picked]
            spread = [r["ratio"] - r["ratio_low"], r["ratio_high"] - r["ratio"]]
            ax.errorbar(r["ratio"], y[picked], xerr=spread, fmt="o", color=colour, ecolor=colour, capsize=3,
                        markersize=6, label=label)
    ax.axvline(1.0, color="0.5", linewidth=1, linestyle="--", zorder=0)
    ax.set_xscale("log")
    _plain_log_axis(ax, rows)
    ax.set_yticks(y, [label.replace("$", r"\$") for label in rows["label"]])  # "$" is not mathtext here
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    for yi, row in zip(y, rows.itertuples(), strict=True):
        if not row.shown:
            ax.text(1.0, yi, f"  no interval ({row.reason})", va="center", ha="left", fontsize=8, color="0.4")
    ax.set_xlabel(f"ratio a / b of the {info.get('statistic', 'mean')} (log scale; "
                  f"{info.get('confidence', 0.95):.0%} interval)")
    ax.set_title(title, y=1.01)
    if shown.any():
        ax.legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def _rows(result: pd.DataFrame, info: dict, alpha: float) -> pd.DataFrame:
    """One plotted row per result row: label, whether drawn, significant, and the reason if not."""
    names = [str(i) for i in result.index]
    metric = info.get("metric")
    rows = result[list(_NEEDED) + ["p_value"] + (["difference", "difference_low", "difference_high"]
                                                 if "difference" in result.columns else [])].copy()
    rows["name"] = names
    rows["metric"] = [metric or name for name in names]
    rows["shown"] = (np.isfinite(rows[["ratio", "ratio_low", "ratio_high"]].to_numpy(dtype=float)).all(axis=1)
                     & (rows["ratio_low"] > 0).to_numpy())
    rows["significant"] = (rows["p_adjusted"] < alpha).to_numpy()
    rows["reason"] = [m.split(": ", 1)[1] if m.startswith("none: ") else m for m in rows["method"]]
    rows["label"] = [("* " if s else "") + f"{n}  ({_value(m, a)} vs {_value(m, b)})"
                     for n, m, a, b, s in zip(rows["name"], rows["metric"], rows["a"], rows["b"],
                                              rows["significant"], strict=True)]
    return rows.reset_index(drop=True)


def _value(metric: str, value: float) -> str:
    """A cohort's value in its unit: dollars for costs, seconds for durations."""
    if not np.isfinite(value):
        return "n/a"
    if metric == "cost_per_1k_tokens":
        return f"${value:,.4g}/1k tokens"
    if "cost" in metric:
        return f"${value:,.4g}"
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


def _plain_log_axis(ax: Axes, rows: pd.DataFrame) -> None:
    ends = rows.loc[rows["shown"], ["ratio_low", "ratio_high"]].to_numpy(dtype=float)
    low, high = (ends.min(), ends.max()) if len(ends) else (1.0, 1.0)
    low, high = min(low, 1.0), max(high, 1.0)
    ax.set_xlim(low / 1.25, high * 1.25)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def _plotly(rows: pd.DataFrame, title: str, info: dict, alpha: float) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    hover = ("%{customdata[0]}<br>n a %{customdata[1]:,} · n b %{customdata[2]:,}<br>a %{customdata[3]}"
             " · b %{customdata[4]}<br>ratio %{x:.4g} [%{customdata[5]:.4g}, %{customdata[6]:.4g}]"
             "<br>difference %{customdata[7]}<br>p %{customdata[8]:.3g} · adjusted %{customdata[9]:.3g}"
             "<br>%{customdata[10]}<extra></extra>")
    for picked, colour, name in ((rows["shown"] & rows["significant"], _SIGNIFICANT,
                                  f"significant (adjusted p < {alpha:g})"),
                                 (rows["shown"] & ~rows["significant"], "#595959", "not significant")):
        r = rows[picked]
        if not len(r):
            continue
        custom = np.column_stack([
            r["name"], r["n_a"], r["n_b"], [_value(m, v) for m, v in zip(r["metric"], r["a"], strict=True)],
            [_value(m, v) for m, v in zip(r["metric"], r["b"], strict=True)], r["ratio_low"], r["ratio_high"],
            [_difference(row) for row in r.itertuples()], r["p_value"], r["p_adjusted"], r["method"]])
        fig.add_trace(go.Scatter(
            x=r["ratio"], y=r["label"], mode="markers", name=name, marker={"color": colour, "size": 9},
            error_x={"type": "data", "symmetric": False, "array": r["ratio_high"] - r["ratio"],
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


def _difference(row) -> str:
    values = [getattr(row, k, np.nan) for k in ("difference", "difference_low", "difference_high")]
    if not np.isfinite(values[0]):
        return "n/a"
    text = [_value(row.metric, v) for v in values]
    return f"{text[0]} [{text[1]}, {text[2]}]"
