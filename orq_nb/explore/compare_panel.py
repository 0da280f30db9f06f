"""The explorer's "compare" panel: is the selection (or a tag, or a project) really different from the rest?

It draws :func:`~orq_nb.analysis.compare.compare_cohorts` over the sessions the
explorer's filters show: the result as a compact table (each row's ratio with its
interval and adjusted p in view without scrolling in a 1024 px window and wider, a
flagged row's note under it) and, under it, a forest plot drawn at the size it is
shown. Its one way back to the explorer is ``sessions()``: the shown frame and
the selected rows in it.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from IPython.display import Image
from matplotlib.figure import Figure

from orq_nb.analysis.compare.comparison import compare_cohorts
from orq_nb.analysis.spend.daily_groups import NO_PROJECT
from orq_nb.explore.comparison_plot import cohort_value, metric_label, plot_comparison

__all__ = ["ComparePanel", "comparison_table", "comparison_html", "forest_figure", "forest_png"]

#: What a cohort can be in the panel; "the rest" only for b.
KINDS_A = ("selection", "tag", "project")
KINDS_B = ("the rest", "tag", "project")
Sessions = Callable[[], tuple[pd.DataFrame, np.ndarray]]
#: The forest plot's pixels: drawn at 1 figure inch = DPI pixels and shown at that size (never scaled), so
#: its 10-point labels are 13 px on screen. PLOT_WIDTH fits the panel at a 1024 px window (about 650 px).
DPI, PLOT_WIDTH = 96, 600
#: What :func:`comparison_table` gives, in order: the ratio and its p right after the counts, the cohorts'
#: values last (the panel shows them in one cell, "a vs b", the only one that wraps when the panel is narrow).
TABLE_COLUMNS = ["metric", "n a / b", "ratio [interval]", "p adjusted", "a", "b"]
_SHOWN = ["metric", "n a / b", "ratio [interval]", "p adjusted", "a vs b"]
# The widget's content box may shrink below the table's widest line (a flex item does not by default): the
# table then fits the panel by wrapping its headers, notes and "a vs b" cells, never the ratio or p.
_CSS = """<style>
.orq-compare .widget-html-content {min-width: 0}
.orq-compare-table {overflow-x: auto; max-width: 100%}
.orq-compare-table table {border-collapse: collapse; font-size: 13px; line-height: 1.35}
.orq-compare-table th, .orq-compare-table td {padding: 3px 7px; text-align: right; white-space: nowrap;
  border-bottom: 1px solid #e0e0e0; vertical-align: top}
.orq-compare-table th {white-space: normal; vertical-align: bottom; border-bottom: 1px solid #999;
  cursor: help}
.orq-compare-table th:first-child, .orq-compare-table td:first-child {text-align: left}
.orq-compare-table td.orq-values {white-space: normal; color: #444}
.orq-compare-table td.orq-significant {color: crimson; font-weight: 600}
.orq-compare-table tr.orq-flagged td {background: #fff4d6}
.orq-compare-table tr.orq-note td {text-align: left; white-space: normal; font-size: 12px; color: #7a4b00;
  background: #fff4d6; padding-top: 0}
.orq-compare-table tr.orq-none td {color: #555; background: none}
</style>"""


def _number(value: float) -> str:
    """A ratio or an interval's end: three digits, ∞ when unbounded, n/a when missing."""
    if pd.isna(value):
        return "n/a"
    if np.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:#.3g}".rstrip(".")  # 1.00, 0.650, 12.5


def _p(value: float) -> str:
    if pd.isna(value):
        return "n/a"
    return "<0.0001" if value < 1e-4 else f"{value:.2g}"


def comparison_table(result: pd.DataFrame) -> pd.DataFrame:
    """``result`` as the panel's table shows it, one row per metric, as text.

    Columns :data:`TABLE_COLUMNS` (the ratio with its interval in one cell: ``0.78 [0.71,
    0.85]``; an unbounded end reads ∞), then ``method``, ``significant`` (adjusted p below
    1 - confidence), ``flagged`` (``reliable`` is False) and ``note``: why a flagged row may
    not hold its nominal rate, or why a row has no interval; empty otherwise.
    """
    alpha = 1 - result.attrs.get("orq_nb", {}).get("confidence", 0.95)
    info = result.attrs.get("orq_nb", {})
    raw = [info.get("metric") or str(m) for m in result.index]  # what each row measures (units)
    metrics = [str(m) if info.get("metric") else metric_label(str(m)) for m in result.index]
    methods = result["method"].astype(str).tolist()
    flagged = ~result["reliable"].to_numpy(dtype=bool)
    notes = result["note"].astype(str).tolist()

    def ratio(row) -> str:
        if pd.isna(row["ratio_low"]) and pd.isna(row["ratio_high"]):
            return _number(row["ratio"])
        return f"{_number(row['ratio'])} [{_number(row['ratio_low'])}, {_number(row['ratio_high'])}]"

    def note(method: str, flag: bool, text: str) -> str:
        text = text.strip()
        if method.startswith("none: "):  # no interval: the reason (and the note, if it says more)
            reason = method.split(": ", 1)[1]
            return f"no interval: {reason}" + (f"; {text}" if text and text != reason else "")
        if flag:
            return text or "flagged: this row may not hold its nominal rate"
        return ""

    return pd.DataFrame({
        "metric": metrics,
        "n a / b": [f"{a:,} / {b:,}" for a, b in zip(result["n_a"], result["n_b"], strict=True)],
        "ratio [interval]": [ratio(row) for _, row in result.iterrows()],
        "p adjusted": result["p_adjusted"].map(_p).tolist(),
        "a": [cohort_value(m, v) for m, v in zip(raw, result["a"], strict=True)],
        "b": [cohort_value(m, v) for m, v in zip(raw, result["b"], strict=True)],
        "method": methods,
        "significant": (result["p_adjusted"] < alpha).to_numpy(),
        "flagged": flagged,
        "note": [note(m, f, t) for m, f, t in zip(methods, flagged, notes, strict=True)],
    }, columns=[*TABLE_COLUMNS, "method", "significant", "flagged", "note"])


def comparison_html(result: pd.DataFrame) -> str:
    """The panel's table of ``result``: :func:`comparison_table` as HTML.

    The columns that answer the question come first and never wrap; a flagged row is
    marked ⚠ and its note is a line of its own under it (as is a missing interval's
    reason); each row's method is its tooltip.
    """
    info = result.attrs.get("orq_nb", {})
    confidence, statistic = info.get("confidence", 0.95), info.get("statistic", "mean")
    table = comparison_table(result)
    tips = {"metric": "each row's method is its tooltip", "n a / b": "sessions in cohort a / in cohort b",
            "ratio [interval]": f"ratio a / b of the {statistic}, with its "
                                f"{confidence:.0%} interval",
            "p adjusted": "p-value adjusted for the rows compared together (Benjamini-Hochberg)",
            "a vs b": f"each cohort's {statistic}"}
    names = {"ratio [interval]": f"ratio a/b [{confidence:.0%} interval]"}
    e = html.escape
    head = "".join(f"<th title='{e(tips[c])}'>{e(names.get(c, c))}</th>" for c in _SHOWN)
    body = []
    for row in table.itertuples(index=False):
        cells = dict(zip(table.columns, row, strict=True))
        marked = " orq-significant" if cells["significant"] else ""
        tds = [f"<td class='orq-metric'>{'⚠ ' if cells['flagged'] else ''}{e(cells['metric'])}</td>",
               f"<td class='orq-n'>{e(cells['n a / b'])}</td>",
               f"<td class='orq-ratio{marked}'>{e(cells['ratio [interval]'])}</td>",
               f"<td class='orq-p{marked}'>{e(cells['p adjusted'])}</td>",
               f"<td class='orq-values'>{e(cells['a'])} vs {e(cells['b'])}</td>"]
        kind = " class='orq-flagged'" if cells["flagged"] else ""
        body.append(f"<tr{kind} title='method: {e(cells['method'])}'>{''.join(tds)}</tr>")
        if cells["note"]:
            kind = "orq-note" + ("" if cells["flagged"] else " orq-none")
            mark = "⚠ " if cells["flagged"] else ""
            body.append(f"<tr class='{kind}'><td colspan='{len(_SHOWN)}'>{mark}{e(cells['metric'])}: "
                        f"{e(cells['note'])}</td></tr>")
    if not len(table):
        body.append(f"<tr><td colspan='{len(_SHOWN)}'><i>no comparison yet</i></td></tr>")
    return (f"{_CSS}<div class='orq-compare-table'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def forest_figure(result: pd.DataFrame, width: int = PLOT_WIDTH) -> Figure:
    """The panel's forest plot of ``result``: ``width`` pixels wide at :data:`DPI`, labels by name only (the
    table gives the values), every text at 9 points or more (12 px as shown)."""
    flagged = not result["reliable"].all()
    height = 130 + 34 * max(len(result), 1) + (18 if flagged else 0)  # the key's line on flagged rows
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    plot_comparison(result, ax=figure.add_subplot(), values=False)
    return figure


def forest_png(result: pd.DataFrame, width: int = PLOT_WIDTH) -> bytes:
    """:func:`forest_figure` as a PNG of exactly its size (no ``bbox_inches="tight"``), to be shown at it."""
    picture = io.BytesIO()
    forest_figure(result, width).savefig(picture, format="png", dpi=DPI)
    return picture.getvalue()


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
    button, and the result: a table (:func:`comparison_html`) and, under it, a forest plot.

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
        self.table = widgets.HTML(layout={"width": "auto"})  # the panel's width less its margins; see show()
        self.plot = widgets.Output(layout={"max_width": "100%"})
        self.set_choices(tags, projects)
        for kind, value in ((self.kind_a, self.value_a), (self.kind_b, self.value_b)):
            kind.observe(lambda change, value=value: self._kind_changed(change["new"], value), names="value")
        self.button.on_click(lambda _: self._clicked())
        # The table over the whole width, the plot under it: beside each other, each had half the panel.
        result = widgets.VBox([self.table, self.plot], layout={"width": "100%"})
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

    def compare(self, **options: Any) -> pd.DataFrame:
        """Compare the chosen cohorts among the sessions shown; draw and return the result (``options``:
        :func:`compare_cohorts`' keywords, as :meth:`SessionExplorer.compare` passes them all)."""
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
        """Draw ``result``: the table and, under it, the forest plot."""
        self.result = result
        self.table.value = comparison_html(result)
        methods = ", ".join(dict.fromkeys(result["method"].astype(str)))
        self.status.value = html.escape(f"{label}, among the sessions shown; method: {methods}")
        self.plot.outputs = ()
        self.plot.append_display_data(Image(data=forest_png(result)))  # kept as the Output's data

    def _clicked(self) -> None:
        try:
            self.compare()
        except ValueError as error:  # overlapping or empty cohorts, nothing selected: said, not raised
            self.status.value = f"<span style='color:#b00'>{html.escape(str(error))}</span>"


def _label(kind: str, value: str) -> str:
    return {"selection": "the selection", "the rest": "the rest"}.get(kind, f"{kind} {value}")

