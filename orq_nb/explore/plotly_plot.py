"""The duration-vs-cost plot as an interactive plotly figure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from orq_nb.explore.common import axis_ticks, categories, highlighted, legend_title, palette, placeable
from orq_nb.explore.no_cloud import without_cloud
from orq_nb.load.tags import as_tags

_HOVER = ("id %{customdata[0]}<br>external id %{customdata[1]}<br>title %{customdata[2]}"
          "<br>tags %{customdata[3]}<br>cost $%{y:.5f}<br>duration %{x:.1f} s<extra>%{fullData.name}</extra>")


def plotly_duration_vs_cost(df: pd.DataFrame, color_by: str | None, log_x: bool, log_y: bool,
                            highlight: Iterable[str] | pd.Series | None, top: int, max_points: int) -> Any:
    """See :func:`orq_nb.plot_duration_vs_cost` with ``backend="plotly"``."""
    import plotly.graph_objects as go
    shown, note = placeable(df["duration_ms"].to_numpy(dtype=float), df["total_cost"].to_numpy(dtype=float),
                            log_x, log_y)
    data = df[shown]
    if len(data) > max_points:
        note += f"; a sample of {max_points:,} of {len(data):,} drawn"
        data = data.sample(max_points, random_state=0)
    custom = np.stack([
        data["id"].astype(object).to_numpy(), data["external_id"].astype(object).to_numpy(),
        data["title"].fillna("").astype(object).to_numpy(),
        np.array([", ".join(as_tags(t)) for t in data["tags"]], dtype=object),
    ], axis=-1) if len(data) else np.empty((0, 4), dtype=object)
    x, y = data["duration_ms"].to_numpy() / 1000, data["total_cost"].to_numpy()
    fig = go.Figure()
    if color_by:
        groups = categories(data, color_by, top)
        colours = palette(len(groups.cat.categories))
        for name, colour in zip(groups.cat.categories, colours, strict=True):
            on = (groups == name).to_numpy()
            if on.any():
                fig.add_trace(go.Scattergl(
                    x=x[on], y=y[on], mode="markers", name=f"{name} ({on.sum():,})", customdata=custom[on],
                    hovertemplate=_HOVER, marker={"size": 5, "opacity": 0.6, "color": colour}))
    else:
        fig.add_trace(go.Scattergl(x=x, y=y, mode="markers", name="sessions", customdata=custom,
                                   hovertemplate=_HOVER, marker={"size": 5, "opacity": 0.6}))
    if highlight is not None and len(data):
        picked = highlighted(data, highlight)
        fig.add_trace(go.Scattergl(x=x[picked], y=y[picked], mode="markers", name="highlighted",
                                   customdata=custom[picked], hovertemplate=_HOVER,
                                   marker={"size": 11, "color": "rgba(0,0,0,0)",
                                           "line": {"color": "crimson", "width": 1.5}}))
    shown_text = f"{len(data):,} sessions" if len(data) else "none"
    title = f"Duration vs cost: {shown_text}{note}"
    fig.update_layout(title=title, legend_title_text=legend_title(color_by),
                      xaxis={"title": "duration (s)", "type": "log" if log_x else "linear",
                             **axis_ticks(log_x, dollars=False)},
                      yaxis={"title": "total cost (USD)", "type": "log" if log_y else "linear",
                             **axis_ticks(log_y, dollars=True)})
    return without_cloud(fig)
