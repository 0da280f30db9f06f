"""A waterfall of :func:`~orq_nb.explain_change`: spend before, the four effects, spend after."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from orq_nb.explore.no_cloud import without_cloud

__all__ = ["plot_change", "waterfall_steps", "waterfall_html"]

_EFFECTS = ("volume", "mix", "tokens", "price")
_UP, _DOWN, _TOTAL = "#c0392b", "#1e8449", "#5d6d7e"


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}${value:,.2f}" if value >= 1 else f"{sign}${value:,.4f}"


def waterfall_steps(explained: pd.DataFrame, group: str = "(all)") -> pd.DataFrame:
    """The waterfall's bars for one row of ``explain_change``: ``label``, ``bottom``, ``height``, ``kind``
    (``"total"``, ``"up"``, ``"down"``), ``value``."""
    needed = {"before", "after", "change", *_EFFECTS}
    if not isinstance(explained, pd.DataFrame) or not needed <= set(explained.columns):
        raise ValueError("explained must be a frame from explain_change (before, after, change, volume, mix, "
                         "tokens, price)")
    if group not in explained.index:
        raise ValueError(f"no group {group!r} in the frame; it has {list(explained.index)[:10]}")
    row = explained.loc[group]
    rows = [("before", 0.0, row["before"], "total", row["before"])]
    level = row["before"]
    for effect in _EFFECTS:
        value = float(row[effect])
        kind = "up" if value >= 0 else "down"
        rows.append((effect, level if value >= 0 else level + value, abs(value), kind, value))
        level += value
    rows.append(("after", 0.0, row["after"], "total", row["after"]))
    return pd.DataFrame(rows, columns=["label", "bottom", "height", "kind", "value"])


def plot_change(explained: pd.DataFrame, *, group: str = "(all)", ax: Axes | None = None,
                backend: Literal["matplotlib", "plotly"] = "matplotlib") -> Any:
    """Draw one row of :func:`~orq_nb.explain_change` as a waterfall: before → volume → mix → tokens →
    price → after, rises red and falls green.

    Parameters
    ----------
    explained : DataFrame
        What ``explain_change`` returns.
    group : str, default "(all)"
        Which row: a group of its ``by``, or the total.
    ax : matplotlib Axes, optional
        Where to draw (matplotlib); a new figure otherwise.
    backend : {"matplotlib", "plotly"}
        plotly gives a figure with no upload or cloud buttons.

    Returns
    -------
    matplotlib Axes or plotly Figure
    """
    if backend not in ("matplotlib", "plotly"):
        raise ValueError(f"backend must be 'matplotlib' or 'plotly', not {backend!r}")
    steps = waterfall_steps(explained, group)
    by = explained.attrs.get("orq_nb", {}).get("by")
    title = f"Why spend changed{'' if group == '(all)' else f' ({by} {group})'}: " + _money(
        float(explained.loc[group, "change"]))
    colours = steps["kind"].map({"total": _TOTAL, "up": _UP, "down": _DOWN}).tolist()
    texts = [_money(v) if k == "total" else ("+" if v >= 0 else "") + _money(v)
             for k, v in zip(steps["kind"], steps["value"], strict=True)]
    if backend == "plotly":
        import plotly.graph_objects as go

        fig = go.Figure(go.Bar(x=steps["label"], y=steps["height"], base=steps["bottom"],
                               marker_color=colours, text=texts, textposition="outside",
                               hovertemplate="%{x}: %{text}<extra></extra>"))
        fig.update_layout(title=title, yaxis_title="spend (USD)", showlegend=False, height=380)
        return without_cloud(fig)
    if ax is None:
        import matplotlib.pyplot as plt  # a pyplot figure, so that notebooks show it

        ax = plt.figure(figsize=(7, 3.6)).add_subplot()
    x = np.arange(len(steps))
    ax.bar(x, steps["height"], bottom=steps["bottom"], color=colours, width=0.6)
    tops = steps["bottom"] + steps["height"]
    for xi, top, text in zip(x, tops, texts, strict=True):
        ax.annotate(text, (xi, top), ha="center", va="bottom", fontsize=9, xytext=(0, 2),
                    textcoords="offset points")
    ax.set_xticks(x, steps["label"])
    ax.set_ylabel("spend (USD)")
    ax.set_title(title)
    ax.margins(y=0.15)
    return ax


def waterfall_html(explained: pd.DataFrame, group: str = "(all)", width: int = 260) -> str:
    """A small waterfall in HTML (no script, no figure): one line per step, its bar placed on a common scale,
    for the explorer's panels."""
    steps = waterfall_steps(explained, group)
    top = float((steps["bottom"] + steps["height"]).max()) or 1.0
    colours = {"total": _TOTAL, "up": _UP, "down": _DOWN}
    lines = []
    for step in steps.itertuples():
        left, size = step.bottom / top * width, max(step.height / top * width, 1.0)
        sign = "" if step.kind == "total" else ("+" if step.value >= 0 else "")
        lines.append(
            f"<div class='orq-step' style='display:flex;align-items:center;gap:6px'>"
            f"<span style='width:4.5em'>{step.label}</span>"
            f"<span style='position:relative;width:{width}px;height:12px;background:#f3f3f3'>"
            f"<span style='position:absolute;left:{left:.1f}px;width:{size:.1f}px;height:12px;"
            f"background:{colours[step.kind]}'></span></span>"
            f"<span>{sign}{_money(step.value)}</span></div>")
    return "<div class='orq-waterfall'>" + "".join(lines) + "</div>"
