"""The explorer's "compare" panel: is the selection (or a tag, or a project) really different from the rest?

It draws :func:`~orq_nb.analysis.compare.compare_cohorts` over the sessions the
explorer's filters show: the result as a table and as a forest plot beside it.
Its one way back to the explorer is ``sessions()``: the shown frame and the
selected rows in it.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import Image
from itables.widget import ITable

from orq_nb.analysis.compare import COLUMNS, compare_cohorts
from orq_nb.analysis.daily_groups import NO_PROJECT
from orq_nb.explore.comparison_plot import plot_comparison
from orq_nb.explore.tables import small_table_options

__all__ = ["ComparePanel", "comparison_table"]

#: What a cohort can be in the panel; "the rest" only for b.
KINDS_A = ("selection", "tag", "project")
KINDS_B = ("the rest", "tag", "project")
Sessions = Callable[[], tuple[pd.DataFrame, np.ndarray]]


def comparison_table(result: pd.DataFrame) -> pd.DataFrame:
    """``result`` as the panel's table shows it: values rounded, intervals in brackets."""

    def interval(row, name: str) -> str:
        low, high = row[f"{name}_low"], row[f"{name}_high"]
        return "" if pd.isna(low) else f"[{low:.4g}, {high:.4g}]"

    return pd.DataFrame({
        "metric": result.index.astype(str),
        "n a / b": [f"{a:,} / {b:,}" for a, b in zip(result["n_a"], result["n_b"], strict=True)],
        "a": result["a"].map("{:.4g}".format),
        "b": result["b"].map("{:.4g}".format),
        "ratio a/b": result["ratio"].map("{:.3f}".format),
        "interval": [interval(row, "ratio") for _, row in result.iterrows()],
        "p adjusted": result["p_adjusted"].map(lambda p: "" if pd.isna(p) else f"{p:.3g}"),
        "method": result["method"].astype(str),
    })


def _cohort(kind: str, value: str, selected: np.ndarray):
    """A cohort for :func:`compare_cohorts` from the panel's choice."""
    if kind == "selection":
        return selected
    if kind == "the rest":
        return None
    if not value:
        raise ValueError(f"choose the {kind} to compare")
    if kind == "tag":
        return value
    return {"projects": [None if value == NO_PROJECT else value]}


class ComparePanel(widgets.VBox):
    """Cohort pickers (a: the selection, a tag or a project; b: the rest, a tag or a project), a Compare
    button, and the result: a table and a forest plot.

    Parameters
    ----------
    sessions : callable
        Returns the sessions to compare among (the explorer's filtered frame) and a boolean mask of the
        selected ones in it.
    tags, projects : list of str
        What the tag and project pickers offer.
    """

    def __init__(self, sessions: Sessions, tags: list[str], projects: list[str]) -> None:
        self.sessions = sessions
        self.result: pd.DataFrame | None = None
        self.kind_a = widgets.Dropdown(options=KINDS_A, value="selection", description="compare",
                                       layout={"width": "230px"})
        self.value_a = widgets.Combobox(placeholder="tag or project", ensure_option=True,
                                        layout={"width": "180px", "display": "none"})
        self.kind_b = widgets.Dropdown(options=KINDS_B, value="the rest", description="with",
                                       layout={"width": "230px"})
        self.value_b = widgets.Combobox(placeholder="tag or project", ensure_option=True,
                                        layout={"width": "180px", "display": "none"})
        self.button = widgets.Button(description="Compare", icon="balance-scale", button_style="info")
        self.status = widgets.HTML()
        empty = pd.DataFrame(columns=COLUMNS, index=pd.Index([], name="metric"))
        self.table = ITable(comparison_table(empty), **small_table_options())
        self.plot = widgets.Output(layout={"min_width": "0", "flex": "1 1 420px"})
        self.set_choices(tags, projects)
        for kind, value in ((self.kind_a, self.value_a), (self.kind_b, self.value_b)):
            kind.observe(lambda change, value=value: self._kind_changed(change["new"], value), names="value")
        self.button.on_click(lambda _: self._clicked())
        table = widgets.Box([self.table], layout={"flex": "1 1 420px", "min_width": "0"})
        result = widgets.Box([table, self.plot],
                             layout={"display": "flex", "flex_flow": "row wrap", "width": "100%"})
        super().__init__([
            widgets.HTML("<b>Is the difference real?</b> Compare cohorts of the sessions shown "
                         "(observational: the cohorts were not randomised)"),
            widgets.HBox([self.kind_a, self.value_a], layout={"flex_flow": "row wrap"}),
            widgets.HBox([self.kind_b, self.value_b], layout={"flex_flow": "row wrap"}),
            self.button, self.status, result])
        self.add_class("orq-compare")

    def set_choices(self, tags: list[str], projects: list[str]) -> None:
        """What the tag and project pickers offer (after the frame changed)."""
        self._choices = {"tag": list(tags), "project": list(projects)}
        for kind, value in ((self.kind_a, self.value_a), (self.kind_b, self.value_b)):
            self._kind_changed(kind.value, value)

    def _kind_changed(self, kind: str, value: widgets.Combobox) -> None:
        options = self._choices.get(kind, [])
        value.options = options
        if value.value not in options:
            value.value = ""
        value.layout.display = None if kind in self._choices else "none"

    def compare(self, **options) -> pd.DataFrame:
        """Compare the chosen cohorts among the sessions shown; draw and return the result."""
        df, selected = self.sessions()
        a = _cohort(self.kind_a.value, self.value_a.value, selected)
        b = _cohort(self.kind_b.value, self.value_b.value, selected)
        if self.kind_a.value == "selection" and not selected.any():
            raise ValueError("no shown session is selected: select some on the plot first")
        options.setdefault("random_state", 0)  # the same answer each time for the same cohorts
        result = compare_cohorts(df.reset_index(drop=True), a, b, **options)
        label = f"{_label(self.kind_a.value, self.value_a.value)} against " \
                f"{_label(self.kind_b.value, self.value_b.value)}"
        self.show(result, label)
        return result

    def show(self, result: pd.DataFrame, label: str = "a against b") -> None:
        """Draw ``result``: the table and the forest plot."""
        import matplotlib.pyplot as plt

        self.result = result
        self.table.update(comparison_table(result), **small_table_options())
        methods = ", ".join(dict.fromkeys(result["method"].astype(str)))
        self.status.value = html.escape(f"{label}, among the sessions shown; method: {methods}")
        ax = plot_comparison(result)
        picture = io.BytesIO()
        ax.figure.savefig(picture, format="png", dpi=96, bbox_inches="tight")
        plt.close(ax.figure)
        self.plot.outputs = ()
        self.plot.append_display_data(Image(data=picture.getvalue()))  # kept as the Output's data

    def _clicked(self) -> None:
        try:
            self.compare()
        except ValueError as error:  # overlapping or empty cohorts, nothing selected: said, not raised
            self.status.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"


def _label(kind: str, value: str) -> str:
    return {"selection": "the selection", "the rest": "the rest"}.get(kind, f"{kind} {value}")

