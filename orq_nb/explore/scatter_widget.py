"""A plotly.js scatter as an anywidget: the figure goes down as state, events come up as messages.

plotly's own ``FigureWidget`` reports selections through a state field that
every hover also writes, so a box drawn while hover events are still in
flight can be lost. Here boxes, lassos and clicks are messages of their own,
and float arrays travel as binary buffers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

import anywidget
import numpy as np
import traitlets

from orq_nb.explore.no_cloud import CLOUD_BUTTONS, CLOUD_CONFIG

__all__ = ["ScatterWidget"]


@cache
def _plotly_js() -> str:
    """plotly.js as bundled by the plotly package (offline: nothing is fetched from a CDN)."""
    return files("plotly").joinpath("package_data", "plotly.min.js").read_text(encoding="utf-8")


def floats(values) -> bytes:
    """A float64 array as the bytes the browser reads into a ``Float64Array``."""
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


class ScatterWidget(anywidget.AnyWidget):
    """Show ``figure`` (plotly's ``{"data": [...], "layout": {...}}``; ``x``, ``y`` as bytes).

    ``on_event`` is called with each message from the browser: ``{"event": "box",
    "x": [x0, x1], "y": [y0, y1]}``, ``{"event": "lasso", "x": [...], "y": [...]}``,
    ``{"event": "click", "trace": i, "index": j}`` or ``{"event": "deselect"}``.
    """

    _esm = Path(__file__).with_name("scatter.js")
    figure = traitlets.Dict().tag(sync=True)
    #: plotly.js's config: no logo, no image export, and nothing that uploads (see ``no_cloud``).
    config = traitlets.Dict({
        "responsive": True, "displaylogo": False, **CLOUD_CONFIG,
        "modeBarButtonsToRemove": ["toImage", *CLOUD_BUTTONS],
    }).tag(sync=True)

    def __init__(self, on_event: Callable[[dict], None] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.on_event = on_event
        self.on_msg(self._message)

    def _message(self, widget, content: dict, buffers: list) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "need-plotly":  # sent, not kept as state: saved notebooks stay small
            self.send({"plotly_js": _plotly_js()})
        elif self.on_event is not None and "event" in content:
            self.on_event(content)
