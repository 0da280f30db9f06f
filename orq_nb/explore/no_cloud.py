"""Session data never leaves for a third party: plotly's upload buttons, removed everywhere we draw.

plotly.js 4 defaults ``showSendToCloud`` to true and ``plotlyServerURL`` to
Plotly Cloud: its modebar then offers "Share chart...", which posts the chart's
data (session ids, tags, costs) there. A ``go.Figure`` carries no config to
wherever it is shown, but its layout travels: so every figure orq_nb returns
removes the buttons in ``layout.modebar.remove``, and the explorer's own
plotly.js call turns the feature off in its config as well.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CLOUD_BUTTONS", "CLOUD_CONFIG", "without_cloud"]

#: The modebar buttons that upload a chart or open it in Plotly's online editor.
CLOUD_BUTTONS = ("sendChartToCloud", "sendDataToCloud", "editInChartStudio")
#: plotly.js config keys that turn the upload off where orq_nb calls plotly.js itself.
CLOUD_CONFIG = {"showSendToCloud": False, "showEditInChartStudio": False, "plotlyServerURL": ""}


def without_cloud(fig: Any) -> Any:
    """Return ``fig`` (a plotly ``go.Figure``) with the upload buttons removed from its modebar."""
    removed = list(fig.layout.modebar.remove or ())
    fig.update_layout(modebar_remove=[*removed, *(b for b in CLOUD_BUTTONS if b not in removed)])
    return fig
