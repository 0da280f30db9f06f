"""The explorer's interactive duration-vs-cost plot: plotly.js in a widget that selects.

Box and lasso report the shape drawn (not the points), so selection is
computed in Python over every shown session, also when the plot shows
density. A session keeps its legend group and colour whatever the filters
(groups come from the whole frame), and the axes can stay fixed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from orq_nb.explore.common import axis_ticks, categories, density_counts, density_edges, legend_title, palette
from orq_nb.explore.no_cloud import CLOUD_BUTTONS
from orq_nb.explore.scatter_widget import ScatterWidget, floats
from orq_nb.load.tags import as_tags

__all__ = ["SessionFigure", "Shape"]

#: What was drawn on the plot: ("box", (x0, x1), (y0, y1)) or ("lasso", xs, ys), seconds and USD.
Shape = tuple
_HOVER = "%{text}<br>duration %{x:,.2f} s<br>cost $%{y:,.5f}<extra></extra>"
_MAX_CIRCLED = 5_000


def _range(values: np.ndarray, log: bool) -> list[float] | None:
    """An axis range (in plotly's units: log10 on a log axis) covering ``values`` with a margin."""
    values = values[np.isfinite(values) & (values > 0)] if log else values[np.isfinite(values)]
    if not len(values):
        return None
    lo, hi = float(values.min()), float(values.max())
    if log:
        lo, hi = np.log10(lo), np.log10(hi)
    pad = (hi - lo) * 0.04 or 0.5
    return [lo - pad, hi + pad]


def _centres(edges: np.ndarray, log: bool) -> np.ndarray:
    """The middle of each cell, as the axis shows it."""
    return np.sqrt(edges[:-1] * edges[1:]) if log else (edges[:-1] + edges[1:]) / 2


class SessionFigure:
    """Duration (s) against cost (USD) of a frame's sessions, one trace per legend group.

    Parameters
    ----------
    df : DataFrame
        The whole frame: it fixes the legend groups, their colours, the
        density grid and the fixed axes.
    color_by : {"tag", "project_id", None}
    max_points : int
        Above this many shown sessions, the plot shows density: one square
        per non-empty cell of a fixed grid, coloured by its count.
    on_select : callable, optional
        Called with a :data:`Shape` when a box or lasso is drawn, with
        ``None`` when the selection is cleared (double click).
    on_click : callable, optional
        Called with the frame position of a clicked point.
    """

    def __init__(self, df: pd.DataFrame, color_by: str | None, max_points: int,
                 on_select: Callable[[Shape | None], None] | None = None,
                 on_click: Callable[[int], None] | None = None) -> None:
        self.max_points, self.color_by = max_points, color_by
        self.on_select, self.on_click = on_select, on_click
        self.names: list[str] = []
        self.set_frame(df)
        self.log_x = self.log_y = True
        self.fixed = True
        self.title = ""
        self._rows: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * (len(self.names) + 2)
        self._grid: tuple | None = None
        marker = {"size": 5, "opacity": 0.65}
        #: The traces as drawn (x, y as float arrays): one per legend group, the density, the circled.
        self.traces = [{"type": "scattergl", "mode": "markers", "name": name, "hovertemplate": _HOVER,
                        "marker": {**marker, "color": colour}, "unselected": {"marker": {"opacity": 0.65}}}
                       for name, colour in zip(self.names, palette(len(self.names)), strict=True)]
        self.traces.append({
            "type": "scattergl", "mode": "markers", "name": "density", "visible": False, "showlegend": False,
            "hovertemplate": "%{text} sessions<extra></extra>", "unselected": {"marker": {"opacity": 1}},
            "marker": {"symbol": "square", "size": 7, "colorscale": "Viridis", "showscale": True,
                       "colorbar": {"title": {"text": "sessions"}, "thickness": 12}}})
        self.traces.append({
            "type": "scattergl", "mode": "markers", "name": "selected", "hoverinfo": "skip",
            "unselected": {"marker": {"opacity": 1}},
            "marker": {"size": 9, "color": "rgba(0,0,0,0)", "line": {"color": "crimson", "width": 1}}})
        for trace in self.traces:
            trace.update(x=np.zeros(0), y=np.zeros(0), text=[])
        self.layout = {
            "dragmode": "select", "height": 470, "hovermode": "closest", "uirevision": "explorer",
            "margin": {"l": 64, "r": 16, "t": 48, "b": 52},
            "legend": {"title": {"text": legend_title(color_by)}, "itemclick": False,
                       "itemdoubleclick": False},
            "xaxis": {"title": {"text": "duration (s)"}, "type": "log"},
            "yaxis": {"title": {"text": "total cost (USD)"}, "type": "log"},
            "modebar": {"add": ["select2d", "lasso2d"], "remove": list(CLOUD_BUTTONS)},
        }
        self.widget = ScatterWidget(on_event=self._event, layout={"width": "100%"})

    def set_frame(self, df: pd.DataFrame, changed: np.ndarray | None = None) -> None:
        """Plot ``df`` (e.g. after relabelling); the legend groups and their colours stay as they were.

        With ``changed`` (positions), only those rows are regrouped: the rest is as it was.
        """
        if changed is not None and self.names and self.color_by and len(df) == len(self.df):
            self.df = df
            self.x[changed] = df["duration_ms"].to_numpy(dtype=float)[changed] / 1000
            self.y[changed] = df["total_cost"].to_numpy(dtype=float)[changed]
            groups = categories(df.iloc[changed], self.color_by, top=8, names=self.names)
            self.codes[changed] = groups.cat.codes.to_numpy()
            return
        self.df = df
        self.x = df["duration_ms"].to_numpy(dtype=float) / 1000
        self.y = np.array(df["total_cost"].to_numpy(dtype=float))  # its own: rows change in place
        if not (self.color_by and len(df)):
            self.names = self.names or ["sessions"]
            self.codes = np.zeros(len(df), dtype=np.int64)
            return
        groups = categories(df, self.color_by, top=8, names=self.names or None)
        self.names = list(groups.cat.categories)
        self.codes = groups.cat.codes.to_numpy().astype(np.int64)

    # -- events from the browser ------------------------------------------------------
    def _event(self, message: dict) -> None:
        kind = message.get("event")
        if kind in ("box", "lasso") and self.on_select is not None:
            self.on_select((kind, [float(v) for v in message["x"]], [float(v) for v in message["y"]]))
        elif kind == "deselect" and self.on_select is not None:
            self.on_select(None)
        elif kind == "click" and self.on_click is not None:
            trace, index = int(message["trace"]), int(message["index"])
            rows = self._rows[trace] if 0 <= trace < len(self._rows) else None
            if rows is not None and self.traces[trace]["name"] != "density" and 0 <= index < len(rows):
                self.on_click(int(rows[index]))

    def _send(self) -> None:
        """Hand the traces and layout to the browser (float arrays as bytes)."""
        data = []
        for trace in self.traces:
            out = {**trace, "x": floats(trace["x"]), "y": floats(trace["y"])}
            colour = trace["marker"].get("color")
            if isinstance(colour, np.ndarray):
                out["marker"] = {**trace["marker"], "color": floats(colour)}
            data.append(out)
        self.widget.figure = {"data": data, "layout": self.layout}

    # -- drawing ------------------------------------------------------------------------
    def shown(self, rows: np.ndarray) -> np.ndarray:
        """The rows that can be placed on the current axes (positive values on a log axis)."""
        keep = np.isfinite(self.x[rows]) & np.isfinite(self.y[rows])
        if self.log_x:
            keep &= self.x[rows] > 0
        if self.log_y:
            keep &= self.y[rows] > 0
        return rows[keep]

    def draw(self, rows: np.ndarray, selected: np.ndarray) -> None:
        """Show the sessions at frame positions ``rows``, circling ``selected`` among them."""
        shown = self.shown(rows)
        hidden = len(rows) - len(shown)
        note = f"; {hidden:,} with zero or missing duration or cost not shown" if hidden else ""
        dense = len(shown) > self.max_points
        layout = self.layout
        everything = self.shown(np.arange(len(self.x)))
        for name, values, log in (("xaxis", self.x[everything], self.log_x),
                                  ("yaxis", self.y[everything], self.log_y)):
            fixed = _range(values, log) if self.fixed else None
            ticks = axis_ticks(log, dollars=name == "yaxis")
            layout[name] = {**{k: v for k, v in layout[name].items() if k != "dtick"}, **ticks,
                            "type": "log" if log else "linear", "autorange": fixed is None}
            if fixed is not None:
                layout[name]["range"] = fixed
            else:
                layout[name].pop("range", None)
        counts = np.bincount(self.codes[shown], minlength=len(self.names)) if len(shown) else \
            np.zeros(len(self.names), dtype=np.int64)
        for i, name in enumerate(self.names):
            mine = shown[self.codes[shown] == i] if not dense else shown[:0]
            self._rows[i] = mine
            self.traces[i].update(x=self.x[mine], y=self.y[mine], text=self._hover(mine),
                                  name=f"{name} ({counts[i]:,})", visible=True if counts[i] else "legendonly")
        density = self.traces[len(self.names)]
        if dense:
            cx, cy, n = self._density(shown)
            decades = range(int(np.log10(n.max())) + 1)
            density.update(x=cx, y=cy, text=[f"{v:,}" for v in n.tolist()], visible=True)
            density["marker"] = {**density["marker"], "color": np.log10(n), "colorbar": {
                **density["marker"]["colorbar"], "tickvals": list(decades),
                "ticktext": [f"{10**k:,}" for k in decades]}}
        else:
            density.update(x=np.zeros(0), y=np.zeros(0), text=[], visible=False)
        self._circle(selected, shown)
        if not len(shown):
            self.title = f"Duration vs cost: no sessions to show{note}"
        elif dense:
            self.title = f"Duration vs cost: {len(shown):,} sessions, shown as density{note}"
        else:
            self.title = f"Duration vs cost: {len(shown):,} sessions{note}"
        layout["title"] = {"text": self.title, "font": {"size": 14}}
        self._send()

    def _circle(self, selected: np.ndarray, rows: np.ndarray) -> None:
        circled = self.shown(np.intersect1d(selected, rows, assume_unique=True))
        if len(circled) > _MAX_CIRCLED:  # a sample of them: the table lists them all
            circled = circled[:: len(circled) // _MAX_CIRCLED + 1]
        self._rows[len(self.names) + 1] = circled
        self.traces[-1].update(x=self.x[circled], y=self.y[circled],
                               name=f"selected ({len(circled):,})", visible=bool(len(circled)))

    def circle(self, selected: np.ndarray, rows: np.ndarray) -> None:
        """Circle ``selected`` among the shown ``rows`` (a selection changed, the filters did not)."""
        self._circle(selected, self.shown(rows))
        self._send()

    def _hover(self, rows: np.ndarray) -> list[str]:
        """One hover line per session: id, external id, project, tags."""
        if not len(rows):
            return []
        part = self.df.iloc[rows]
        tags = [", ".join(as_tags(t)) for t in part["tags"]]
        return [f"id {i}<br>external id {e}<br>project {p}<br>tags {t}" for i, e, p, t in zip(
            part["id"].tolist(), part["external_id"].fillna("").tolist(),
            part["project_id"].fillna("").tolist(), tags, strict=True)]

    def _density(self, shown: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centres and counts of the non-empty cells of a grid fixed by the whole frame."""
        key = (self.log_x, self.log_y)
        if self._grid is None or self._grid[0] != key:
            everything = self.shown(np.arange(len(self.x)))
            self._grid = (key, *density_edges(self.x[everything], self.y[everything], *key))
        _, xe, ye = self._grid
        counts = density_counts(self.x[shown], self.y[shown], xe, ye, *key)
        ix, iy = np.nonzero(counts)
        return _centres(xe, self.log_x)[ix], _centres(ye, self.log_y)[iy], counts[ix, iy]

    def shape_text(self, shape: Shape | None) -> str:
        """A shape as the status line shows it."""
        if shape is None:
            return ""
        if shape[0] == "box":
            (x0, x1), (y0, y1) = sorted(shape[1]), sorted(shape[2])
            return (f"box: duration {_span(x0, x1, lambda v: f'{v:,.3g} s')}, "
                    f"cost {_span(y0, y1, lambda v: '$' + f'{v:,.3g}')}")
        return f"lasso of {len(shape[1])} points"


def _span(lo: float, hi: float, text) -> str:
    """A box's side in words: "250 s to 1,200 s", "at least 250 s", "at most $0.04", "any"."""
    low, high = np.isfinite(lo) and lo > 0, np.isfinite(hi)
    if low and high:
        return f"{text(lo)} to {text(hi)}"
    if low:
        return f"at least {text(lo)}"
    return f"at most {text(hi)}" if high else "any"
