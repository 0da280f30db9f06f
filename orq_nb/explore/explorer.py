"""SessionExplorer: filter, plot, select on the plot, inspect, relabel on orq.ai, undo.

The widgets only wire values to :mod:`orq_nb.analysis` (filters, selection),
:mod:`orq_nb.explore.figure` (the plot), :mod:`orq_nb.explore.tables` and
``OrqClient.tag_sessions``; every action is also a method, so notebooks and
tests drive it without a browser.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from typing import Literal

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from orq_nb.analysis.filters import session_mask
from orq_nb.analysis.selection import select_box, select_lasso
from orq_nb.analysis.spend.daily_groups import NO_PROJECT, NO_TAG
from orq_nb.api.client import OrqClient
from orq_nb.errors import OrqError
from orq_nb.explore.compare_panel import ComparePanel
from orq_nb.explore.dataset_box import DatasetBox
from orq_nb.explore.figure import SessionFigure, Shape
from orq_nb.explore.spend_panel import SpendPanel
from orq_nb.explore.tables import details_html, session_table
from orq_nb.explore.tag_filter import TagFilter, counts_html
from orq_nb.explore.traces_panel import TracesPanel
from orq_nb.load.convert import loaded_table, to_frame
from orq_nb.load.tags import REPORT_COLUMNS, as_tags, relabelled, tag_list
from orq_nb.store.sessions import SessionStore

__all__ = ["SessionExplorer", "explore", "summary_text"]

EXPLORER_MAX_POINTS = 20_000
# Wraps instead of cutting off. The views come first and the row is reversed: side by side, the
# controls are on the left; on a narrow page the plot and summary come first, the controls below.
_CONTROLS = {"flex": "1 1 300px", "min_width": "280px", "max_width": "440px", "padding": "0 12px 0 0"}
_VIEWS = {"flex": "3 1 520px", "min_width": "0"}
_LAYOUT = {"display": "flex", "flex_flow": "row-reverse wrap", "justify_content": "flex-end", "width": "100%",
           "align_items": "flex-start"}


def summary_text(sessions: int, total_cost: float, median_duration_ms: float, tokens: float,
                 noun: str = "sessions") -> str:
    """The explorer's summary line (of what the filters show; of the selection with ``noun="selected"``)."""
    if not sessions:
        return f"0 {noun} match" if noun == "sessions" else f"0 {noun}"
    per_1k = f"${total_cost / tokens * 1000:,.4f}" if tokens else "n/a"
    return (f"{sessions:,} {noun} · total cost ${total_cost:,.2f} · median duration "
            f"{median_duration_ms / 1000:,.1f} s · cost per 1k tokens {per_1k}")


def _tags_in(text: str) -> list[str]:
    """Tags typed in a box: comma-separated, blanks dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def _replace_rows(df: pd.DataFrame, updated: pd.DataFrame,
                  ids: pd.Index) -> tuple[pd.DataFrame, np.ndarray, set[str]]:
    """A new frame: ``df`` with the rows of ``updated`` (by id) in their places; ``df`` is untouched.

    Only the columns whose values changed are copied (relabelling changes tags and
    ``updated_at``): at a million sessions that is milliseconds, not a rebuild.
    ``ids`` is ``pd.Index(df["id"])``, built once. Returns the frame, the positions
    that were replaced and the names of the columns that changed there.
    """
    where = ids.get_indexer(updated["id"])
    found = where >= 0
    positions, updated = where[found], updated[found]
    out, changed = df.copy(deep=False), set()
    for name in df.columns:
        new = updated[name]
        old = df[name].iloc[positions]
        if name == "tags":
            same = all(as_tags(a) == as_tags(b) for a, b in zip(old, new, strict=True))
        else:
            same = old.reset_index(drop=True).equals(new.reset_index(drop=True).astype(old.dtype))
        if same:
            continue
        column = df[name].copy()
        if name == "tags":
            values = column.to_numpy(dtype=object, copy=True)
            values[positions] = pd.Series(list(new), dtype=object).to_numpy()
            column = pd.Series(values, index=df.index, name=name, dtype=object)
        else:
            column.iloc[positions] = new.astype(old.dtype).to_numpy()
        out[name] = column
        changed.add(name)
    return out, positions, changed


class SessionExplorer(widgets.Box):
    """Filters beside the results (below them on a narrow page): plot, selection, priciest sessions.

    Draw a box or lasso on the plot to select sessions (or ``select``,
    ``select_box``, ``select_lasso`` from code); click a point to see all its
    fields; add or remove tags on the selection, preview, Apply and Undo; add
    the selection to an orq.ai dataset (a dry run first, each session once).

    Parameters
    ----------
    df : DataFrame or SessionStore
        A sessions frame, or a store (read through ``to_pandas``; relabelled
        sessions are written back to it from the server's answers).
    top_n : int, default 50
        Rows in the table of the most expensive matching sessions.
    color_by : {"tag", "project_id", None}, default "tag"
    max_points : int, default 20,000
        Above this many matching sessions the plot shows density; box and
        lasso still select every session underneath.
    client : OrqClient, optional
        With a client, Apply writes the relabelling to orq.ai.
    write : bool, optional
        Where the "write to orq.ai" switch starts: on when a client is given,
        unless ``False`` (as the dashboard does).
    spend : bool, default False
        Show the spend panel: the strongest cost anomalies of the last 7 days
        by tag and project; a click on one filters to that group and day and
        explains its change against its baseline days (volume, mix, tokens,
        price; by model when ``spans`` are given, else by project).
    traces, spans : DataFrame, optional
        Traces and spans of the sessions (``load_sample("traces")``, or what
        :meth:`OrqClient.query_traces` / :meth:`~OrqClient.query_spans`
        return): the traces panel lists those of the sessions clicked or
        selected. Without them, a client fetches them (it only reads).
    """

    selected_ids = traitlets.List()

    def __init__(self, df: pd.DataFrame | SessionStore, *, top_n: int = 50,
                 color_by: Literal["tag", "project_id"] | None = "tag", max_points: int = EXPLORER_MAX_POINTS,
                 client: OrqClient | None = None, write: bool | None = None, spend: bool = False,
                 traces: pd.DataFrame | None = None, spans: pd.DataFrame | None = None) -> None:
        self.store = df if isinstance(df, SessionStore) else None
        if self.store is not None:
            df = self.store.to_pandas()
        self.top_n, self.color_by, self.max_points, self.client = top_n, color_by, max_points, client
        self._last: tuple | None = None
        self._selected_rows = np.zeros(0, dtype=np.int64)  # positions in the frame; kept by _reload
        self.shape: Shape | None = None
        self.clicked: pd.Series | None = None
        self._quiet = False
        self._load(df)
        self.tag_filter = TagFilter(df)
        self.projects = widgets.TagsInput(allowed_tags=self._project_names(), allow_duplicates=False,
                                          placeholder="type a project", layout={"width": "95%"})
        self.project_counts = widgets.HTML(counts_html(self._project_series(), 8, "projects"))
        first, last = self._first_day, self._last_day
        self.start = widgets.DatePicker(description="from", value=first.date() if pd.notna(first) else None)
        self.end = widgets.DatePicker(description="to", value=last.date() if pd.notna(last) else None)
        self.reset_button = widgets.Button(description="Reset filters", icon="undo")
        self.log_x = widgets.Checkbox(value=True, description="log duration", indent=False)
        self.log_y = widgets.Checkbox(value=True, description="log cost", indent=False)
        self.fixed_axes = widgets.Checkbox(value=True, description="fixed axes", indent=False)
        on = client is not None and (write is None or write)
        self.write = widgets.Checkbox(value=on, disabled=client is None, description="write to orq.ai",
                                      indent=False)
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        known = list(self.tag_filter.index.tags)
        self.add_tag = widgets.Combobox(options=known, placeholder="tag to add", description="add",
                                        ensure_option=False, layout={"width": "96%"})
        self.remove_tag = widgets.Combobox(options=known, placeholder="tag to remove", description="remove",
                                           ensure_option=False, layout={"width": "96%"})
        self.preview_line = widgets.HTML()
        self.apply_button = widgets.Button(description="Apply", button_style="primary", disabled=True)
        self.undo_button = widgets.Button(description="Undo", disabled=True)
        self.plot = SessionFigure(df, color_by, max_points, on_select=self._drawn, on_click=self._click_row)
        self.selection_head = widgets.HTML()
        self.selection_table = session_table(df.iloc[:0], "selected_sessions")
        self.details = widgets.HTML()
        self.top_head = widgets.HTML()
        self.top_table = session_table(df.iloc[:0], "priciest_sessions")
        self.table = pd.DataFrame()
        self.compare_panel = ComparePanel(self._shown_and_selected, list(self.tag_filter.index.tags),
                                          self._project_names())
        self.spend_panel = SpendPanel(df, self.show_group_day, spans=spans) if spend else None
        self.traces_panel = (TracesPanel(traces, spans, client, lambda ids: self.df[self.df["id"].isin(ids)])
                             if traces is not None or client is not None else None)
        relabel = widgets.VBox([widgets.HTML("<b>Relabel the selection</b>"), self.add_tag, self.remove_tag,
                                self.preview_line, widgets.HBox([self.apply_button, self.undo_button]),
                                self.write])
        self.dataset_box = DatasetBox(lambda: self.selected, client, self.write)
        controls = widgets.VBox([
            self.tag_filter, widgets.HTML("<b>Projects</b>"), self.projects, self.project_counts,
            widgets.HTML("<b>Started</b>"), self.start, self.end, self.reset_button,
            widgets.HTML("<b>Axes</b>"), widgets.HBox([self.log_x, self.log_y, self.fixed_axes],
                                                      layout={"flex_flow": "row wrap"}),
            relabel, self.dataset_box], layout=_CONTROLS)
        self.update()  # drawn before the plot's widget is made: see SessionFigure.widget
        panels = [self.spend_panel] if self.spend_panel is not None else []
        # A clicked point's details come right under the plot, where the eye is, before the tables.
        drill = [self.traces_panel] if self.traces_panel is not None else []
        views = widgets.VBox([*panels, self.summary, self.status, self.plot.widget, self.details,
                              self.selection_head, self.selection_table, *drill, self.compare_panel,
                              self.top_head, self.top_table], layout=_VIEWS)
        super().__init__([views, controls], layout=_LAYOUT)
        self.tag_filter.observe(self.update, names="selection")
        for control in (self.projects, self.start, self.end):
            control.observe(self.update, names="value")
        for toggle in (self.log_x, self.log_y, self.fixed_axes):
            toggle.observe(self._axes_changed, names="value")
        self.reset_button.on_click(lambda _: self.reset())
        self.observe(lambda change: self._render_selection(), names="selected_ids")
        if self.traces_panel is not None:
            self.observe(lambda change: change["new"] and self.traces_panel.show(change["new"]),
                         names="selected_ids")
        for box in (self.add_tag, self.remove_tag):
            box.observe(lambda change: self._render_preview(), names="value")
        self.apply_button.on_click(lambda _: self._click(self.apply_tags, _tags_in(self.add_tag.value),
                                                         _tags_in(self.remove_tag.value)))
        self.undo_button.on_click(lambda _: self._click(self.undo))
        self._render_selection()

    # -- the frame ----------------------------------------------------------------------
    def _load(self, df: pd.DataFrame) -> None:
        """Take ``df`` as the explorer's frame: the arrays every update reads."""
        self.df = df
        self._ids = pd.Index(df["id"])
        # The two plotted columns, for the selection functions, and nothing else to copy.
        self._xy = pd.DataFrame({"duration_ms": df["duration_ms"].to_numpy(),
                                 "total_cost": df["total_cost"].to_numpy()})
        self._cost = df["total_cost"].to_numpy(dtype=float)
        self._duration = df["duration_ms"].to_numpy(dtype=float)
        self._tokens = df["total_tokens"].to_numpy(dtype=float, na_value=np.nan)
        self._started = df["started_at"]
        self._first_day, self._last_day = self._started.min(), self._started.max()
        codes, projects = pd.factorize(df["project_id"])
        self._project_counts = np.bincount(codes + 1, minlength=len(projects) + 1)
        self._projects = list(projects)

    def _project_series(self) -> pd.Series:
        counts = pd.Series(self._project_counts[1:], index=self._projects, dtype="int64")
        if self._project_counts[0]:
            counts[NO_PROJECT] = self._project_counts[0]
        return counts.sort_values(ascending=False, kind="stable")

    def _project_names(self) -> list[str]:
        return list(self._project_series().index)

    def _reload(self, df: pd.DataFrame, changed: np.ndarray | None = None,
                columns: set[str] | None = None) -> None:
        """Show a changed frame with the filters, axes and selection kept.

        With ``changed`` (the positions replaced) and ``columns`` (what changed there),
        only what those rows touch is recomputed: the tag index and the plot's groups;
        the arrays the filters and summary read are reloaded only if their columns changed.
        """
        index = None
        if changed is not None:
            index = self.tag_filter.index.with_rows(changed, df["tags"].iloc[changed])
        if changed is not None and not columns & {"project_id", "started_at", "duration_ms", "total_cost",
                                                  "total_tokens"}:
            self.df = df  # what the filters, the plot's values and the summary read is unchanged
        else:
            self._load(df)
        self._quiet = True
        try:
            self.tag_filter.set_frame(df, index)
            self.add_tag.options = self.remove_tag.options = list(self.tag_filter.index.tags)
            names = self._project_names()
            self.projects.allowed_tags = names
            self.projects.value = [p for p in self.projects.value if p in names]
            self.project_counts.value = counts_html(self._project_series(), 8, "projects")
            self.compare_panel.set_choices(list(self.tag_filter.index.tags), names)
        finally:
            self._quiet = False
        self.plot.set_frame(df, changed)
        if self.spend_panel is not None and (columns is None or columns & {"tags", "total_cost", "started_at",
                                                                           "project_id"}):
            self.spend_panel.set_frame(df)
        self.update()
        self._render_selection()

    # -- filters --------------------------------------------------------------------------
    def _criteria(self) -> dict:
        """The controls as :func:`~orq_nb.analysis.filters.session_mask` arguments (the "to" day included)."""
        chosen = self.tag_filter.selection
        projects = [None if p == NO_PROJECT else p for p in self.projects.value]
        return {"tags": chosen["tags"] or None, "match": chosen["match"],
                "exclude_tags": chosen["exclude"] or None, "projects": projects or None,
                "start": None if self.start.value is None else pd.Timestamp(self.start.value, tz="UTC"),
                "end": None if self.end.value is None else pd.Timestamp(self.end.value + dt.timedelta(days=1),
                                                                        tz="UTC")}

    def _mask(self) -> np.ndarray:
        return session_mask(self.df, **self._criteria(), index=self.tag_filter.index)

    @property
    def filtered(self) -> pd.DataFrame:
        """The sessions matching every control, for the next cell."""
        return self.df[self.mask]

    def reset(self) -> None:
        """Clear every filter: all tags, all projects, the whole date range."""
        self._quiet = True
        try:
            self.tag_filter.reset()
            self.projects.value = []
            first, last = self._first_day, self._last_day
            self.start.value = first.date() if pd.notna(first) else None
            self.end.value = last.date() if pd.notna(last) else None
        finally:
            self._quiet = False
        self.update()

    def show_group_day(self, kind: str, group: str, day: pd.Timestamp) -> None:
        """Filter to one tag's (``kind="tag"``) or project's sessions on one day, every other filter cleared:
        what a click on a spend anomaly does."""
        self._quiet = True
        try:
            self.tag_filter.reset()
            self.projects.value = []
            if kind == "tag" and group != NO_TAG:
                self.tag_filter.tags.value = [group]
            elif kind == "project":  # "(no project)" is a choice of the project picker too
                self.projects.value = [group]
            self.start.value = self.end.value = pd.Timestamp(day).date()
        finally:
            self._quiet = False
        self.update()

    def active_filters(self) -> list[str]:
        """The filters in force, as the summary lists them."""
        chosen = self.tag_filter.selection
        active = []
        if chosen["tags"]:
            active.append(f"tags: {chosen['match']} of {', '.join(chosen['tags'])}")
        if chosen["exclude"]:
            active.append(f"not tagged {', '.join(chosen['exclude'])}")
        if self.projects.value:
            active.append(f"projects: {', '.join(self.projects.value)}")
        first, last = self._first_day, self._last_day
        if self.start.value is not None and (pd.isna(first) or self.start.value != first.date()):
            active.append(f"from {self.start.value:%Y-%m-%d}")
        if self.end.value is not None and (pd.isna(last) or self.end.value != last.date()):
            active.append(f"to {self.end.value:%Y-%m-%d}")
        return active

    def why_empty(self) -> str:
        """Why no session matches: a contradiction among the filters, or what each filter keeps alone."""
        chosen = self.tag_filter.selection
        both = sorted(set(chosen["tags"]) & set(chosen["exclude"]))
        if both and (chosen["match"] == "all" or set(chosen["tags"]) <= set(chosen["exclude"])):
            return f"the excluded tag{'s' if len(both) > 1 else ''} {', '.join(both)} also required"
        if self.start.value is not None and self.end.value is not None and self.start.value > self.end.value:
            return f'"from" ({self.start.value:%Y-%m-%d}) is after "to" ({self.end.value:%Y-%m-%d})'
        if not len(self.df):
            return "the frame has no sessions"
        if chosen["tags"] and not self.tag_filter.count:
            how = "all of" if chosen["match"] == "all" else "any of"
            return f"no session has {how} {', '.join(chosen['tags'])}" + (
                f" without {', '.join(chosen['exclude'])}" if chosen["exclude"] else "")
        kept = [f"the tags keep {self.tag_filter.count:,}"]
        if self.projects.value:
            projects = self._criteria()["projects"]
            kept.append(f"the projects {int(session_mask(self.df, projects=projects).sum()):,}")
        return "each filter alone keeps some sessions, but none passes all: " + ", ".join(kept)

    # -- rendering ----------------------------------------------------------------------
    def update(self, change: dict | None = None) -> None:
        """Recompute the filtered sessions and re-render summary, plot and table."""
        if self._quiet:
            return
        self.mask = self._mask()
        self.rows = rows = np.flatnonzero(self.mask)
        cost, tokens = self._cost[rows], self._tokens[rows]
        median = float(np.median(self._duration[rows])) if len(rows) else math.nan
        self.summary_line = summary_text(len(rows), float(np.nansum(cost)), median, float(np.nansum(tokens)))
        if not len(rows):
            self.summary_line += f": {self.why_empty()}"
        active = self.active_filters()
        self.filters_line = "filters: " + "; ".join(active) if active else "no filters"
        self.summary.value = (f"<b>{html.escape(self.summary_line)}</b><br>"
                              f"<span style='color:#555'>{html.escape(self.filters_line)}</span>")
        self.plot.draw(rows, self._selected_rows)
        self._render_table(rows, cost)

    def _axes_changed(self, change: dict) -> None:
        self.plot.log_x, self.plot.log_y = self.log_x.value, self.log_y.value
        self.plot.fixed = self.fixed_axes.value
        self.plot.draw(self.rows, self._selected_rows)

    def _render_table(self, rows: np.ndarray, cost: np.ndarray) -> None:
        cost = np.nan_to_num(cost, nan=-np.inf)
        best = np.arange(len(cost))
        if len(cost) > self.top_n:
            best = np.argpartition(-cost, self.top_n)[: self.top_n]
        top = rows[best[np.argsort(-cost[best], kind="stable")]]
        self.table = self.df.iloc[top].reset_index(drop=True)
        self.top_head.value = f"<b>Most expensive matching sessions (top {min(self.top_n, len(rows)):,})</b>"
        session_table(self.table, "priciest_sessions", self.top_table)

    # -- select, inspect ----------------------------------------------------------------
    def select(self, ids) -> None:
        """Make these sessions the selection (replacing it); ids not in the frame are left out."""
        positions = self._ids.get_indexer(pd.Index(list(ids), dtype=object).astype("str"))
        self._select_rows(positions[positions >= 0])

    def _select_rows(self, positions: np.ndarray) -> None:
        self._selected_rows = np.unique(positions)
        self.selected_ids = self.df["id"].iloc[self._selected_rows].tolist()
        self.plot.circle(self._selected_rows, self.rows)

    def select_box(self, duration: tuple[float, float], cost: tuple[float, float]) -> pd.DataFrame:
        """Select the shown sessions inside a box (seconds, USD), as drawn on the plot's axes; return them."""
        self.shape = ("box", tuple(duration), tuple(cost))
        self._select_rows(select_box(self._xy[self.mask], duration=duration, cost=cost, log_x=self.plot.log_x,
                                     log_y=self.plot.log_y).index)
        return self.selected

    def select_lasso(self, polygon) -> pd.DataFrame:
        """Select the shown sessions inside a lasso of (seconds, USD) vertices, as drawn; return them."""
        polygon = [tuple(p) for p in polygon]
        self.shape = ("lasso", [p[0] for p in polygon], [p[1] for p in polygon])
        self._select_rows(select_lasso(self._xy[self.mask], polygon=polygon, log_x=self.plot.log_x,
                                       log_y=self.plot.log_y).index)
        return self.selected

    def _drawn(self, shape: Shape | None) -> None:
        """A box or lasso drawn on the plot (``None``: the selection was cleared there)."""
        try:
            if shape is None:
                self.shape = None
                self._select_rows(np.zeros(0, dtype=np.int64))
            elif shape[0] == "box":
                self.select_box(shape[1], shape[2])
            else:
                self.select_lasso(list(zip(shape[1], shape[2], strict=True)))
        except ValueError as error:  # e.g. a lasso reaching below zero on a log axis
            self.status.value = html.escape(str(error))

    def _click_row(self, position: int) -> None:
        self.clicked = self.df.iloc[position]
        self.details.value = (f"<b>Session {html.escape(str(self.clicked['id']))}</b>"
                              + details_html(self.clicked))
        if self.traces_panel is not None:
            self.traces_panel.show([str(self.clicked["id"])])

    def _shown_and_selected(self) -> tuple[pd.DataFrame, np.ndarray]:
        """The sessions the filters show, and which of them are selected (the compare panel's view)."""
        return self.df.iloc[self.rows], np.isin(self.rows, self._selected_rows)

    def compare(
        self,
        *,
        metrics: list[str] | None = None,
        statistic: Literal["mean", "median"] = "mean",
        method: Literal["bootstrap", "welch"] | None = None,
        cluster: Literal["contact_ids"] | None = None,
        confidence: float = 0.95,
        winsorize: float | None = None,
        n_resamples: int = 2000,
        random_state: int | np.random.Generator | None = 0,
    ) -> pd.DataFrame:
        """Compare the cohorts chosen in the compare panel (default: the selection against the rest of the
        sessions shown); draw the result beside the plot and return it.

        The parameters are :func:`orq_nb.compare_cohorts`' own, but for the seed: fixed (0), so that the
        same cohorts give the same answer each time.
        """
        return self.compare_panel.compare(
            metrics=metrics, statistic=statistic, method=method, cluster=cluster, confidence=confidence,
            winsorize=winsorize, n_resamples=n_resamples, random_state=random_state)

    @property
    def selected(self) -> pd.DataFrame:
        """The selected sessions, whatever the filters show now."""
        return self.df.iloc[self._selected_rows]

    def _render_selection(self) -> None:
        self._render_preview()
        rows = self.selected
        if not len(rows):
            self.selection_head.value = ("<b>No sessions selected</b>: draw a box or lasso on the plot "
                                         "(the toolbar above it switches between them)")
            session_table(rows, "selected_sessions", self.selection_table)
            return
        durations = rows["duration_ms"].to_numpy(dtype=float)
        head = summary_text(len(rows), float(np.nansum(rows["total_cost"].to_numpy(dtype=float))),
                            float(np.nanmedian(durations)) if np.isfinite(durations).any() else math.nan,
                            float(np.nansum(rows["total_tokens"].to_numpy(dtype=float, na_value=np.nan))),
                            noun="selected")
        shape = self.plot.shape_text(self.shape)
        data = ""
        if self.shape is not None and self.shape[0] == "box":
            data = html.escape(repr([*self.shape[1], *self.shape[2]]), quote=True)
        self.selection_head.value = (f"<b class='orq-selection' data-box='{data}'>{html.escape(head)}</b>"
                                     + (f" <span style='color:#555'>({html.escape(shape)})</span>"
                                        if shape else ""))
        session_table(rows, "selected_sessions", self.selection_table)

    # -- relabel ------------------------------------------------------------------------
    def _click(self, action, *args) -> None:
        """A button's action: errors go to the status line, never lost in a callback."""
        try:
            action(*args)
        except (ValueError, OrqError) as error:
            self.status_line = str(error)
            self.status.value = html.escape(str(error))
        self._render_preview()

    def _render_preview(self) -> None:
        add, remove = _tags_in(self.add_tag.value), _tags_in(self.remove_tag.value)
        ready = bool(self.selected_ids) and bool(add or remove)
        self.preview_line.value = html.escape(self.preview(add, remove)) if ready else ""
        self.apply_button.disabled = not ready
        self.undo_button.disabled = self._last is None

    def preview(self, add=(), remove=()) -> str:
        """What :meth:`apply_tags` would do to the selection, from the frame alone (no requests)."""
        add, remove = tag_list(add), tag_list(remove)
        rows = self.selected
        same = sum(relabelled(as_tags(t), add, remove) == as_tags(t) for t in rows["tags"])
        change = ", ".join([f"+{t}" for t in add] + [f"-{t}" for t in remove]) or "no change"
        return f"{len(rows):,} sessions: {change}; {same:,} already tagged"

    def apply_tags(self, add=(), remove=()) -> pd.DataFrame:
        """Add and remove tags on the selected sessions; return the report (one row per session).

        With a client and "write to orq.ai" on, ``tag_sessions`` writes to orq.ai and the
        frame (and the store, if any) takes the server's answers; otherwise only this
        explorer's frame changes, and the status line says so. The filters are kept.
        """
        add, remove = tag_list(add), tag_list(remove)
        rows = self.selected
        if not len(rows):
            raise ValueError("no sessions are selected: select some on the plot, or explorer.select(ids)")
        report = self._relabel(rows, add, remove)
        self._last = (report, add, remove)
        self._status("Applied", add, remove, report)
        return report

    def undo(self) -> pd.DataFrame:
        """Revert the last :meth:`apply_tags`, per session, only what it changed there; one level."""
        if self._last is None:
            raise ValueError("nothing to undo: no tags were applied since the last undo")
        report, add, remove = self._last
        self._last = None
        groups: dict[tuple, list[str]] = {}
        for row in report[report["ok"] & report["changed"]].itertuples(index=False):
            added = tuple(t for t in add if t not in row.tags_before)
            taken = tuple(t for t in remove if t in row.tags_before)
            groups.setdefault((added, taken), []).append(row.id)
        before = dict(zip(report["id"], report["tags_before"], strict=True))  # their old order comes back
        parts = [self._relabel(self.df[self.df["id"].isin(ids)], list(taken), list(added), before)
                 for (added, taken), ids in groups.items()]
        empty = pd.DataFrame(columns=REPORT_COLUMNS).astype({"ok": bool, "changed": bool,
                                                             "changed_elsewhere": bool})
        undone = pd.concat(parts, ignore_index=True) if parts else empty
        self._status("Undid", [], [], undone)
        return undone

    @property
    def writes(self) -> bool:
        """Whether Apply writes to orq.ai (a client is given and the switch is on)."""
        return self.client is not None and self.write.value

    def _relabel(self, rows: pd.DataFrame, add: list[str], remove: list[str],
                 restore: dict | None = None) -> pd.DataFrame:
        """Relabel ``rows`` on orq.ai (when writing) or in the frame; reload the frame from the result.

        ``restore`` (an undo's tags before, by id) puts tags back in their old order."""
        if self.writes:
            answers: dict = {}
            report = self.client.tag_sessions(rows, add=add, remove=remove, progress=False,
                                              records=answers, restore=restore)
            updated = to_frame(loaded_table(list(answers.values())))
            if self.store is not None and len(updated):
                self.store.write(updated)  # the store only ever takes what the server answered
        else:
            after = [relabelled(as_tags(tags), add, remove, (restore or {}).get(sid))
                     for sid, tags in zip(rows["id"], rows["tags"], strict=True)]
            changed = [a != as_tags(b) for a, b in zip(after, rows["tags"], strict=True)]
            report = pd.DataFrame({"id": rows["id"].to_numpy(), "ok": True, "changed": changed,
                                   "tags_before": [as_tags(t) for t in rows["tags"]], "tags_after": after,
                                   "changed_elsewhere": False, "error": None}, columns=REPORT_COLUMNS)
            updated = rows.assign(tags=pd.Series(after, index=rows.index, dtype=object))
        self._reload(*_replace_rows(self.df, updated, self._ids))
        return report.astype({"id": "str", "ok": bool, "changed": bool, "changed_elsewhere": bool})

    def _status(self, verb: str, add: list[str], remove: list[str], report: pd.DataFrame) -> None:
        where = "on orq.ai" if self.writes else "in this explorer's frame only; nothing was written to orq.ai"
        failed = report[~report["ok"]]
        change = ", ".join([f"+{t}" for t in add] + [f"-{t}" for t in remove])
        line = (f"{verb} {change + ' ' if change else ''}{where}: {int(report['changed'].sum()):,} of "
                f"{len(report):,} sessions changed")
        if report["changed_elsewhere"].any():
            line += (f", {int(report['changed_elsewhere'].sum()):,} had changed elsewhere "
                     "(the server's record kept)")
        if len(failed):
            line += f", {len(failed):,} failed: " + "; ".join(
                f"{r.id}: {r.error}" for r in failed.itertuples())
        self.status_line = line
        self.status.value = html.escape(line)


def explore(df: pd.DataFrame | SessionStore, *, top_n: int = 50,
            color_by: Literal["tag", "project_id"] | None = "tag", max_points: int = EXPLORER_MAX_POINTS,
            client: OrqClient | None = None, write: bool | None = None,
            spend: bool = False, traces: pd.DataFrame | None = None,
            spans: pd.DataFrame | None = None) -> SessionExplorer:
    """Return a :class:`SessionExplorer` of a sessions frame or a store (display it as a cell's last line).

    The parameters are :class:`SessionExplorer`'s.

    Examples
    --------
    >>> import orq_nb
    >>> explorer = orq_nb.explore(orq_nb.load_sample(), spend=True)
    >>> explorer.summary_line.split(" · ")[0]
    '4,000 sessions'
    """
    return SessionExplorer(df, top_n=top_n, color_by=color_by, max_points=max_points, client=client,
                           write=write, spend=spend, traces=traces, spans=spans)
