"""Spend watch plots: each group's daily figure, its baseline band, its anomalies, the month-end forecast."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from orq_nb.analysis.spend.anomalies import COLUMNS
from orq_nb.explore.common import usd
from orq_nb.explore.no_cloud import without_cloud

__all__ = ["plot_spend", "rank_groups", "MAX_GROUPS"]

#: Small multiples drawn at most: more would not be readable at notebook width.
MAX_GROUPS = 12
#: The y axis of each metric.
UNITS = {
    "total_cost": "total cost (USD)", "cost_per_session": "cost per session (USD)",
    "sessions": "sessions", "median_duration_s": "median duration (s)", "total_tokens": "tokens",
}
_DOLLARS = {"total_cost", "cost_per_session"}
_VALUE, _BAND, _BASE = "#1f2937", "#9ecae1", "#6b7280"
_HIGH, _LOW, _FORECAST = "#d62728", "#1f77b4", "#ff7f0e"


def rank_groups(result: pd.DataFrame) -> list[str]:
    """The groups of a :func:`spend_anomalies` result, most anomalous first.

    Most anomaly days first, then the largest absolute score, then by name.
    """
    score = result["score"].abs().replace(np.inf, np.finfo(float).max)
    table = pd.DataFrame({"group": result["group"].astype(object), "anomaly": result["anomaly"],
                          "score": score.fillna(0.0)})
    summary = table.groupby("group", sort=False).agg(n=("anomaly", "sum"), top=("score", "max"))
    summary = summary.reset_index().sort_values(["n", "top", "group"], ascending=[False, False, True],
                                                kind="stable")
    return summary["group"].tolist()


def plot_spend(result: pd.DataFrame, groups: Iterable[str] | str | None = None,
               forecast: pd.DataFrame | None = None,
               backend: Literal["matplotlib", "plotly"] = "matplotlib") -> Any:
    """Each group's daily figure with its baseline band and anomalies, as small multiples.

    Parameters
    ----------
    result : DataFrame
        What :func:`~orq_nb.analysis.spend.spend_anomalies` returned.
    groups : str or list of str, optional
        The groups to draw (at most 12), in this order. Default: the 12 most
        anomalous (most anomaly days, then the largest score).
    forecast : DataFrame, optional
        What :func:`~orq_nb.analysis.spend.forecast.spend_forecast` returned for the
        same ``by`` (``total_cost`` results only): each group's panel shows, from
        ``as_of`` to ``until``, the forecast's mean daily spend for the days left
        with its interval as a band, and its title the month-end total.
    backend : {"matplotlib", "plotly"}
        ``"plotly"`` returns an interactive figure.

    Returns
    -------
    matplotlib Figure, or a plotly Figure
    """
    missing = [c for c in COLUMNS if c not in result.columns]
    if missing:
        raise ValueError(f"result must be what spend_anomalies returns; it has no {', '.join(missing)}")
    if backend not in ("matplotlib", "plotly"):
        raise ValueError(f"backend must be 'matplotlib' or 'plotly', not {backend!r}")
    metric = result.attrs.get("orq_nb", {}).get("metric", "total_cost")
    shown = _groups(result, groups)
    ahead = _forecast_bands(forecast, metric) if forecast is not None else {}
    panels = [(g, result[(result["group"] == g).to_numpy()]) for g in shown]
    if backend == "plotly":
        return _plotly(panels, metric, ahead, len(rank_groups(result)) if len(result) else 0)
    return _matplotlib(panels, metric, ahead, len(rank_groups(result)) if len(result) else 0)


def _groups(result: pd.DataFrame, groups: Iterable[str] | str | None) -> list[str]:
    if groups is None:
        return rank_groups(result)[:MAX_GROUPS] if len(result) else []
    groups = [groups] if isinstance(groups, str) else list(groups)
    if len(groups) > MAX_GROUPS:
        raise ValueError(f"groups names {len(groups)} groups; at most {MAX_GROUPS} are readable at once")
    known = set(result["group"].astype(object))
    unknown = [g for g in groups if g not in known]
    if unknown:
        raise ValueError(f"groups: the result has no group {', '.join(map(repr, unknown))}")
    return list(dict.fromkeys(groups))


def _forecast_bands(forecast: pd.DataFrame, metric: str) -> dict[str, dict]:
    """Per group: where the forecast band goes and what the title says."""
    if metric != "total_cost":
        raise ValueError(f"forecast is in USD per month: it goes with a total_cost result, not {metric}")
    needed = ["group", "spent", "forecast", "low", "high", "days_left"]
    info = forecast.attrs.get("orq_nb", {})
    if any(c not in forecast.columns for c in needed) or "as_of" not in info:
        raise ValueError("forecast must be what spend_forecast returns (with its .attrs)")
    as_of, until = pd.Timestamp(info["as_of"]), pd.Timestamp(info["until"])
    share = float(info.get("confidence", 0.8))
    out = {}
    for row in forecast.itertuples(index=False):
        left = float(row.days_left)
        per_day = [(v - row.spent) / left if left > 0 else np.nan for v in (row.forecast, row.low, row.high)]
        interval = "" if pd.isna(row.low) else f" ({share:.0%}: {usd(row.low)}-{usd(row.high)})"
        out[str(row.group)] = {"x": (as_of, until), "mid": per_day[0], "low": per_day[1], "high": per_day[2],
                               "text": f"month end {usd(row.forecast)}{interval}"}
    return out


def _title(group: str, part: pd.DataFrame, ahead: dict, newline: str = "\n") -> str:
    n = int(part["anomaly"].sum())
    text = f"{group} · {n} anomal{'y' if n == 1 else 'ies'}"
    return text + (f"{newline}{ahead[group]['text']}" if group in ahead else "")


def _naive(days: pd.Series) -> np.ndarray:
    """UTC days as naive datetime64, which both backends place without a time zone shift."""
    return days.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def _matplotlib(panels: list, metric: str, ahead: dict, total: int) -> Any:
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt  # a pyplot figure, so that notebooks show it
    from matplotlib.ticker import FuncFormatter

    n = max(len(panels), 1)
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    rows = math.ceil(n / cols)
    tall = 0.25 if ahead else 0.0
    fig, axes = plt.subplots(rows, cols, figsize=(10, 0.8 + (2.4 + tall) * rows), sharex=True, squeeze=False,
                             layout="constrained")
    flat = axes.ravel()
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    if not panels:
        flat[0].set_visible(True)
        flat[0].text(0.5, 0.5, "No days to show", transform=flat[0].transAxes, ha="center", va="center",
                     fontsize=13, color="0.4")
    for ax, (group, part) in zip(flat, panels, strict=False):
        days = _naive(part["day"])
        ax.fill_between(days, part["low"], part["high"], color=_BAND, alpha=0.45, linewidth=0,
                        label="normal band")
        ax.plot(days, part["baseline"], color=_BASE, linestyle="--", linewidth=1, label="baseline")
        ax.plot(days, part["value"], color=_VALUE, linewidth=1.2, marker=".", markersize=3, label="day")
        for direction, colour, marker in (("high", _HIGH, "^"), ("low", _LOW, "v")):
            on = (part["direction"] == direction).to_numpy()
            if on.any():
                ax.scatter(days[on], part["value"].to_numpy()[on], color=colour, marker=marker, s=36,
                           zorder=3, label=f"anomaly ({direction})")
        if group in ahead:
            band = ahead[group]
            x = [pd.Timestamp(v).tz_convert("UTC").tz_localize(None) for v in band["x"]]
            if np.isfinite(band["low"]):
                ax.fill_between(x, [band["low"]] * 2, [band["high"]] * 2, color=_FORECAST, alpha=0.25,
                                linewidth=0, label="forecast band")
            ax.plot(x, [band["mid"]] * 2, color=_FORECAST, linewidth=1.5, label="forecast per day")
        ax.set_title(_title(group, part, ahead), fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
        if metric in _DOLLARS:
            ax.yaxis.set_major_formatter(FuncFormatter(usd))
        ax.set_ylim(bottom=0)
        locator = mdates.AutoDateLocator(maxticks=5)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    for row in axes:
        row[0].set_ylabel(UNITS[metric], fontsize=9)
    if panels:
        handles, labels = {}, []
        for ax in flat[: len(panels)]:
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                if label not in handles:
                    handles[label] = handle
                    labels.append(label)
        fig.legend([handles[label] for label in labels], labels, loc="outside lower center", ncol=len(labels),
                   fontsize=8, frameon=False)
    what = f"{len(panels)} of {total} groups, most anomalous first" if total > len(panels) else (
        f"{len(panels)} group{'s' if len(panels) != 1 else ''}")
    fig.suptitle(f"{UNITS[metric].split(' (')[0].capitalize()} per day: {what}", fontsize=11)
    return fig


def _plotly(panels: list, metric: str, ahead: dict, total: int) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n = max(len(panels), 1)
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    rows = math.ceil(n / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, vertical_spacing=0.3 / rows + 0.04,
                        horizontal_spacing=0.06,
                        subplot_titles=[_title(g, p, ahead, "<br>") for g, p in panels] or [
                            "No days to show"])
    value_format = "$%{y:,.4~g}" if metric in _DOLLARS else "%{y:,.4~g}"
    for i, (group, part) in enumerate(panels):
        row, col = i // cols + 1, i % cols + 1
        days = _naive(part["day"])
        first = i == 0
        fig.add_trace(go.Scatter(x=days, y=part["low"], mode="lines", line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup="band"), row=row, col=col)
        fig.add_trace(go.Scatter(x=days, y=part["high"], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor="rgba(158,202,225,0.45)", name="normal band", legendgroup="band",
                                 showlegend=first, hoverinfo="skip"), row=row, col=col)
        fig.add_trace(go.Scatter(x=days, y=part["baseline"], mode="lines", name="baseline",
                                 legendgroup="base", line={"color": _BASE, "dash": "dash", "width": 1},
                                 showlegend=first,
                                 hovertemplate=f"baseline {value_format}<extra>{group}</extra>"),
                      row=row, col=col)
        fig.add_trace(go.Scatter(x=days, y=part["value"], mode="lines+markers", name="day", legendgroup="day",
                                 line={"color": _VALUE, "width": 1.2}, marker={"size": 3}, showlegend=first,
                                 customdata=np.column_stack([part["score"].to_numpy()]),
                                 hovertemplate=f"%{{x|%Y-%m-%d}}<br>{value_format}<br>"
                                               f"score %{{customdata[0]:.1f}}<extra>{group}</extra>"),
                      row=row, col=col)
        for direction, colour, symbol in (("high", _HIGH, "triangle-up"), ("low", _LOW, "triangle-down")):
            on = (part["direction"] == direction).to_numpy()
            fig.add_trace(go.Scatter(x=days[on], y=part["value"].to_numpy()[on], mode="markers",
                                     name=f"anomaly ({direction})", legendgroup=direction,
                                     marker={"color": colour, "symbol": symbol, "size": 9},
                                     showlegend=first, hoverinfo="skip"), row=row, col=col)
        if group in ahead:
            band = ahead[group]
            x = [pd.Timestamp(v).tz_convert("UTC").tz_localize(None) for v in band["x"]]
            if np.isfinite(band["low"]):
                fig.add_trace(go.Scatter(x=x, y=[band["low"]] * 2, mode="lines", line={"width": 0},
                                         showlegend=False, hoverinfo="skip", legendgroup="forecast"),
                              row=row, col=col)
                fig.add_trace(go.Scatter(x=x, y=[band["high"]] * 2, mode="lines", line={"width": 0},
                                         fill="tonexty", fillcolor="rgba(255,127,14,0.25)", hoverinfo="skip",
                                         name="forecast band", legendgroup="forecast", showlegend=first),
                              row=row, col=col)
            fig.add_trace(go.Scatter(x=x, y=[band["mid"]] * 2, mode="lines", name="forecast per day",
                                     line={"color": _FORECAST, "width": 1.5}, legendgroup="forecast-mid",
                                     showlegend=first, hovertemplate=f"{band['text']}<extra>{group}</extra>"),
                          row=row, col=col)
        yaxis = {"rangemode": "tozero", "tickfont": {"size": 10}}
        if metric in _DOLLARS:
            yaxis["tickformat"] = "$,~g"
        if col == 1:
            yaxis["title"] = {"text": UNITS[metric], "font": {"size": 11}}
        fig.update_yaxes(row=row, col=col, **yaxis)
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 11}
    what = f"{len(panels)} of {total} groups, most anomalous first" if total > len(panels) else (
        f"{len(panels)} group{'s' if len(panels) != 1 else ''}")
    fig.update_layout(title={"text": f"{UNITS[metric].split(' (')[0].capitalize()} per day: {what}",
                             "font": {"size": 14}},
                      height=140 + 230 * rows, margin={"l": 60, "r": 16, "t": 80, "b": 40},
                      legend={"orientation": "h", "y": -0.08 if rows > 1 else -0.2}, hovermode="closest")
    return without_cloud(fig)
