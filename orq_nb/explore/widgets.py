"""Jupyter widgets that only wire values to :mod:`orq_nb.analysis.filters` and :mod:`orq_nb.explore.plots`.

Every re-render goes through an ``Output`` widget, so the widgets work in
JupyterLab, Notebook 7, VS Code and Voila; ``.filtered`` hands the current
selection to the next cell.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math

import ipywidgets as widgets
import numpy as np
import pandas as pd
import PIL.Image
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from orq_nb.analysis.selection import select_box, select_lasso
from orq_nb.analysis.tags import TagIndex
from orq_nb.api.client import REPORT_COLUMNS, OrqClient, relabelled, tag_list
from orq_nb.errors import OrqError
from orq_nb.explore.common import density_counts, density_edges
from orq_nb.explore.plots import plot_duration_vs_cost
from orq_nb.load.convert import loaded_table, to_frame
from orq_nb.store.sessions import SessionStore

__all__ = ["TagFilter", "SessionExplorer", "explore", "summary_text"]

NO_PROJECT = "(no project)"
_FIGSIZE, _DPI = (7.5, 4.6), 90
EXPLORER_MAX_POINTS = 20_000
_SHOWN_ROWS = 200
_NAT = np.iinfo(np.int64).min


def summary_text(sessions: int, total_cost: float, median_duration_ms: float, tokens: float) -> str:
    """The explorer's summary line."""
    if not sessions:
        return "0 sessions match"
    per_1k = f"${total_cost / tokens * 1000:,.4f}" if tokens else "n/a"
    return (f"{sessions:,} sessions · total cost ${total_cost:,.2f} · median duration "
            f"{median_duration_ms / 1000:,.1f} s · cost per 1k tokens {per_1k}")


class TagFilter(widgets.VBox):
    """Pick tags (listed with their session counts), any/all, and tags to exclude.

    ``.filtered`` is the matching part of the frame; ``.mask`` the boolean
    rows. Observe ``selection`` (a dict of tags, match, exclude) or ``count``
    (matching sessions) to react to clicks.
    """

    selection = traitlets.Dict()
    count = traitlets.Int()

    def __init__(self, df: pd.DataFrame, index: TagIndex | None = None, rows: int = 8) -> None:
        self.df = df
        self.index = index or TagIndex.of(df)
        options = [(f"{tag} ({n:,})", tag) for tag, n in self.index.counts.items()]
        self.tags = widgets.SelectMultiple(options=options, rows=rows, description="tags")
        self.match = widgets.ToggleButtons(options=["any", "all"], value="any", description="match",
                                           style={"button_width": "4em"})
        self.exclude = widgets.SelectMultiple(options=options, rows=min(rows, 5), description="exclude")
        super().__init__([self.tags, self.match, self.exclude])
        for child in (self.tags, self.match, self.exclude):
            child.observe(self._changed, names="value")
        self._changed()

    def set_frame(self, df: pd.DataFrame) -> None:
        """Show another frame (e.g. after relabelling), keeping the chosen tags that still exist."""
        self.df, self.index = df, TagIndex.of(df)
        options = [(f"{tag} ({n:,})", tag) for tag, n in self.index.counts.items()]
        with self.hold_trait_notifications():
            for picker in (self.tags, self.exclude):
                kept = tuple(t for t in picker.value if t in self.index.counts.index)
                picker.options = options
                picker.value = kept
        self._changed()

    def _changed(self, change: dict | None = None) -> None:
        self.mask = self.index.mask(self.tags.value, self.match.value, self.exclude.value)
        self.count = int(self.mask.sum())
        self.selection = {"tags": list(self.tags.value), "match": self.match.value,
                          "exclude": list(self.exclude.value)}

    @property
    def filtered(self) -> pd.DataFrame:
        """The sessions matching the current choice."""
        return self.df[self.mask]


def _show(output: widgets.Output, data: dict) -> None:
    """Replace what ``output`` shows, in one state update (no flicker, no stray cell output)."""
    output.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class _DensityView:
    """The density plot of a large frame, kept between updates.

    Drawn once by :func:`plot_duration_vs_cost` over every session (which
    fixes the grid and the colour scale, so selections compare at a glance);
    an update only recounts the cells and redraws them and the title over the
    saved background: a full matplotlib redraw costs several times more.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, figsize: tuple, dpi: int) -> None:
        self.figure = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(self.figure)
        self.axes = plot_duration_vs_cost(pd.DataFrame({"duration_ms": x * 1000, "total_cost": y}),
                                          ax=self.figure.add_subplot(), max_points=0)
        self.figure.subplots_adjust(left=0.13, right=0.95, bottom=0.12)
        [self.mesh] = [c for c in self.axes.collections if isinstance(c, QuadMesh)]
        self.xe, self.ye = density_edges(x, y)
        self.mesh.norm.vmin, self.mesh.norm.vmax = 1, max(2, int(self.mesh.get_array().max()))
        self.mesh.set_visible(False)
        self.axes.title.set_visible(False)
        self.figure.canvas.draw()
        self.background = self.figure.canvas.copy_from_bbox(self.figure.bbox)
        self.mesh.set_visible(True)
        self.axes.title.set_visible(True)

    def render(self, x: np.ndarray, y: np.ndarray, title: str) -> bytes:
        counts = density_counts(x, y, self.xe, self.ye)
        self.mesh.set_array(np.ma.masked_equal(counts.T, 0))
        self.axes.set_title(title, y=1.01)
        canvas = self.figure.canvas
        canvas.restore_region(self.background)
        self.axes.draw_artist(self.mesh)
        for spine in self.axes.spines.values():
            self.axes.draw_artist(spine)
        self.axes.draw_artist(self.axes.title)
        buffer = io.BytesIO()
        PIL.Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
                             ).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


class SessionExplorer(widgets.VBox):
    """Tags, projects and dates on the left; plot, summary and the priciest sessions on the right.

    Parameters
    ----------
    df : DataFrame or SessionStore
        A sessions frame, or a store (read through ``to_pandas``).
    top_n : int, default 10
        Rows in the table of the most expensive matching sessions.
    color_by : {"tag", "project_id", None}, default "tag"
    max_points : int, default 20,000
        Above this many matching sessions the plot shows density (lower than
        the plot's own default: a click should redraw in well under 250 ms).
    client : OrqClient, optional
        With a client, Apply writes the relabelling to orq.ai.
    write : bool, optional
        Where the "write to orq.ai" switch starts: on when a client is given,
        unless ``False`` (as the dashboard does).
    """

    selected_ids = traitlets.List()

    def __init__(self, df: pd.DataFrame | SessionStore, top_n: int = 10, color_by: str | None = "tag",
                 max_points: int = EXPLORER_MAX_POINTS, client: OrqClient | None = None,
                 write: bool | None = None) -> None:
        self.store = df if isinstance(df, SessionStore) else None  # read through to_pandas
        if self.store is not None:
            df = self.store.to_pandas()
        self.top_n, self.color_by, self.max_points, self.client = top_n, color_by, max_points, client
        self._last: tuple | None = None
        self._selected_rows = np.zeros(0, dtype=np.int64)  # positions in the frame; kept by _reload
        self._load(df)
        self.tag_filter = TagFilter(df)
        self.projects = widgets.SelectMultiple(options=self._project_options(), description="projects",
                                               rows=min(len(self._project_options()), 6))
        first, last = self._first_day, self._last_day
        self.start = widgets.DatePicker(description="from", value=first.date() if pd.notna(first) else None)
        self.end = widgets.DatePicker(description="to", value=last.date() if pd.notna(last) else None)
        on = client is not None and (write is None or write)
        self.write = widgets.Checkbox(value=on, disabled=client is None, description="write to orq.ai")
        self.summary = widgets.HTML()
        self.status = widgets.HTML()
        known = list(self.tag_filter.index.tags)
        self.add_tag = widgets.Combobox(options=known, placeholder="tag to add", description="add",
                                        ensure_option=False)
        self.remove_tag = widgets.Combobox(options=known, placeholder="tag to remove", description="remove",
                                           ensure_option=False)
        self.preview_line = widgets.HTML()
        self.apply_button = widgets.Button(description="Apply", button_style="primary", disabled=True)
        self.undo_button = widgets.Button(description="Undo", disabled=True)
        relabel = widgets.VBox([widgets.HTML("<b>Relabel the selection</b>"), self.add_tag, self.remove_tag,
                                self.preview_line, widgets.HBox([self.apply_button, self.undo_button])])
        self.plot_output = widgets.Output()
        self.table_output = widgets.Output()
        self.selection_output = widgets.Output()
        self.figure: Figure | None = None
        self.table = pd.DataFrame()
        controls = widgets.VBox([self.tag_filter, self.projects, self.start, self.end, self.write, relabel],
                                layout={"width": "38%"})
        right = widgets.VBox([self.summary, self.status, self.plot_output, self.table_output,
                              self.selection_output], layout={"width": "62%"})
        super().__init__([widgets.HBox([controls, right])])
        self.tag_filter.observe(self.update, names="selection")
        for control in (self.projects, self.start, self.end):
            control.observe(self.update, names="value")
        self.observe(lambda change: self._render_selection(), names="selected_ids")
        for box in (self.add_tag, self.remove_tag):
            box.observe(lambda change: self._render_preview(), names="value")
        self.apply_button.on_click(lambda _: self._click(self.apply_tags, _tags_in(self.add_tag.value),
                                                         _tags_in(self.remove_tag.value)))
        self.undo_button.on_click(lambda _: self._click(self.undo))
        self.update()

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

    def _load(self, df: pd.DataFrame) -> None:
        """Take ``df`` as the explorer's frame: the arrays every update reads."""
        self.df = df
        self._ids = pd.Index(df["id"])
        # Positions, for the selection functions: the two plotted columns and nothing else to copy.
        self._xy = pd.DataFrame({"duration_ms": df["duration_ms"].to_numpy(),
                                 "total_cost": df["total_cost"].to_numpy()})
        self._cost = df["total_cost"].to_numpy(dtype=float)
        self._duration = df["duration_ms"].to_numpy(dtype=float)
        self._tokens = df["total_tokens"].to_numpy(dtype=float)
        self._positive = (self._duration > 0) & (self._cost > 0)
        self._density: _DensityView | None = None
        self._started = df["started_at"]
        self._started_us = self._started.to_numpy(dtype="datetime64[us]").view(np.int64)
        self._first_day, self._last_day = self._started.min(), self._started.max()
        self._project_codes, projects = pd.factorize(df["project_id"])
        self._project_counts = np.bincount(self._project_codes + 1, minlength=len(projects) + 1)
        self._projects = list(projects)

    def _project_options(self) -> list[tuple[str, str]]:
        counts = self._project_counts
        by_size = np.argsort(-counts[1:], kind="stable")
        options = [(f"{self._projects[i]} ({counts[i + 1]:,})", self._projects[i]) for i in by_size]
        if counts[0]:
            options.append((f"{NO_PROJECT} ({counts[0]:,})", NO_PROJECT))
        return options

    def _reload(self, df: pd.DataFrame) -> None:
        """Show a changed frame with the filters and the selection kept."""
        self._load(df)
        self.tag_filter.set_frame(df)
        self.add_tag.options = self.remove_tag.options = list(self.tag_filter.index.tags)
        with self.projects.hold_trait_notifications():
            kept = tuple(p for p in self.projects.value if p in self._projects or p == NO_PROJECT)
            self.projects.options = self._project_options()
            self.projects.value = kept
        self.update()
        self._render_selection()

    # -- the selection ------------------------------------------------------------
    def _mask(self) -> np.ndarray:
        mask = self.tag_filter.mask.copy()
        if self.projects.value:
            wanted = [self._projects.index(p) for p in self.projects.value if p != NO_PROJECT]
            if NO_PROJECT in self.projects.value:
                wanted.append(-1)
            mask &= np.isin(self._project_codes, wanted)
        # NaT is the smallest int64: it never passes a lower bound, and is kept out of an upper one.
        if self.start.value is not None:
            since = pd.Timestamp(self.start.value, tz="UTC")
            if not since <= self._first_day:
                mask &= self._started_us >= since.value // 1000
            elif self._started.hasnans:
                mask &= self._started_us != _NAT
        if self.end.value is not None:
            until = pd.Timestamp(self.end.value + dt.timedelta(days=1), tz="UTC")
            if not until > self._last_day:
                mask &= (self._started_us < until.value // 1000) & (self._started_us != _NAT)
            elif self._started.hasnans:
                mask &= self._started_us != _NAT
        return mask

    @property
    def filtered(self) -> pd.DataFrame:
        """The sessions matching every control, for the next cell."""
        return self.df[self.mask]

    # -- rendering ------------------------------------------------------------------
    def update(self, change: dict | None = None) -> None:
        """Recompute the selection and re-render summary, plot and table."""
        self.mask = self._mask()
        rows = np.flatnonzero(self.mask)
        cost, tokens = self._cost[rows], self._tokens[rows]
        median = float(np.median(self._duration[rows])) if len(rows) else math.nan
        self.summary_line = summary_text(len(rows), float(cost.sum()), median, float(tokens.sum()))
        self.summary.value = f"<b>{self.summary_line}</b>"
        self._render_plot(rows)
        self._render_table(rows, cost)

    def _render_plot(self, rows: np.ndarray) -> None:
        shown = rows[self._positive[rows]]
        if len(shown) > self.max_points:
            if self._density is None:
                everything = np.flatnonzero(self._positive)
                self._density = _DensityView(self._duration[everything] / 1000, self._cost[everything],
                                             _FIGSIZE, _DPI)
            hidden = len(rows) - len(shown)
            note = f"; {hidden:,} with zero duration or cost not shown" if hidden else ""
            title = f"Duration vs cost: {len(shown):,} sessions, shown as density{note}"
            self.png = self._density.render(self._duration[shown] / 1000, self._cost[shown], title)
            self.figure, self.axes = self._density.figure, self._density.axes
        else:
            figure = Figure(figsize=_FIGSIZE, dpi=_DPI)
            self.axes = plot_duration_vs_cost(self.df.take(rows), ax=figure.add_subplot(),
                                              color_by=self.color_by, max_points=self.max_points)
            figure.subplots_adjust(left=0.13, right=0.72, bottom=0.12)
            self.figure, self.png = figure, _png(figure)
        title = html.escape(self.axes.get_title(), quote=True)
        image = base64.b64encode(self.png).decode("ascii")
        _show(self.plot_output, {"text/html": f'<img alt="{title}" src="data:image/png;base64,{image}"/>',
                                 "text/plain": self.axes.get_title()})

    def _render_table(self, rows: np.ndarray, cost: np.ndarray) -> None:
        best = np.arange(len(cost))
        if len(cost) > self.top_n:
            best = np.argpartition(-cost, self.top_n)[: self.top_n]
        top = rows[best[np.argsort(-cost[best], kind="stable")]]
        columns = ["id", "project_id", "tags", "total_cost", "duration_ms", "total_tokens", "started_at"]
        self.table = self.df.iloc[top, [self.df.columns.get_loc(c) for c in columns]].reset_index(drop=True)
        table = self.table.to_html(index=False, na_rep="", formatters={
            "total_cost": "${:,.4f}".format, "duration_ms": "{:,.0f}".format,
            "total_tokens": "{:,.0f}".format, "tags": ", ".join})
        _show(self.table_output, {
            "text/html": f"<b>Most expensive matching sessions (top {self.top_n})</b>{table}",
            "text/plain": self.table.to_string(max_colwidth=30)})


    # -- select, inspect, relabel, undo ------------------------------------------------
    def select(self, ids) -> None:
        """Make these sessions the selection (replacing it); ids not in the frame are left out."""
        positions = self._ids.get_indexer(pd.Index(list(ids), dtype=object).astype("str"))
        self._select_rows(positions[positions >= 0])

    def _select_rows(self, positions: np.ndarray) -> None:
        self._selected_rows = np.unique(positions)
        self.selected_ids = self.df["id"].iloc[self._selected_rows].tolist()

    def select_box(self, duration: tuple[float, float], cost: tuple[float, float]) -> None:
        """Select the shown sessions inside a box (seconds, USD), as drawn on the plot's log axes."""
        self._select_rows(select_box(self._xy[self.mask], duration, cost, log_x=True, log_y=True).index)

    def select_lasso(self, polygon) -> None:
        """Select the shown sessions inside a lasso of (seconds, USD) vertices, on the plot's log axes."""
        self._select_rows(select_lasso(self._xy[self.mask], polygon, log_x=True, log_y=True).index)

    @property
    def selected(self) -> pd.DataFrame:
        """The selected sessions, whatever the filters show now."""
        return self.df.iloc[self._selected_rows]

    def preview(self, add=(), remove=()) -> str:
        """What :meth:`apply_tags` would do to the selection, from the frame alone (no requests)."""
        add, remove = tag_list(add), tag_list(remove)
        rows = self.selected
        same = sum(relabelled(tags, add, remove) == list(tags) for tags in rows["tags"])
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
        parts = [self._relabel(self.df[self.df["id"].isin(ids)], list(taken), list(added))
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

    def _relabel(self, rows: pd.DataFrame, add: list[str], remove: list[str]) -> pd.DataFrame:
        """Relabel ``rows`` on orq.ai (when writing) or in the frame; reload the frame from the result."""
        if self.writes:
            answers: dict = {}
            report = self.client.tag_sessions(rows, add=add, remove=remove, progress=False,
                                              records=answers)
            updated = to_frame(loaded_table(list(answers.values())))
            if self.store is not None and len(updated):
                self.store.write(updated)  # the store only ever takes what the server answered
        else:
            after = [relabelled(tags, add, remove) for tags in rows["tags"]]
            changed = [a != list(b) for a, b in zip(after, rows["tags"], strict=True)]
            report = pd.DataFrame({"id": rows["id"].to_numpy(), "ok": True, "changed": changed,
                                   "tags_before": [list(t) for t in rows["tags"]], "tags_after": after,
                                   "changed_elsewhere": False, "error": None}, columns=REPORT_COLUMNS)
            updated = rows.assign(tags=pd.Series(after, index=rows.index, dtype=object))
        self._reload(_replace_rows(self.df, updated))
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

    def _render_selection(self) -> None:
        self._render_preview()
        rows = self.selected
        if not len(rows):
            _show(self.selection_output, {"text/plain": "", "text/html": ""})
            return
        columns = ["id", "external_id", "project_id", "tags", "duration_ms", "total_cost", "total_tokens",
                   "started_at"]
        table = rows[columns].assign(duration_ms=rows["duration_ms"] / 1000).rename(
            columns={"duration_ms": "duration_s"})
        head = (f"{len(rows):,} selected: ${rows['total_cost'].sum():,.4f}, "
                f"{rows['total_tokens'].sum():,.0f} tokens")
        if len(rows) > _SHOWN_ROWS:
            head += f" (the {_SHOWN_ROWS} most expensive shown; explorer.selected has them all)"
            table = table.take(np.argsort(-rows["total_cost"].to_numpy(), kind="stable")[:_SHOWN_ROWS])
        body = table.to_html(index=False, na_rep="", formatters={
            "total_cost": "${:,.4f}".format, "duration_s": "{:,.1f}".format, "total_tokens": "{:,.0f}".format,
            "tags": ", ".join, "started_at": lambda t: "" if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M")})
        _show(self.selection_output, {"text/html": f"<b>{html.escape(head)}</b>{body}", "text/plain": head})


def _tags_in(text: str) -> list[str]:
    """Tags typed in a box: comma-separated, blanks dropped."""
    return [t.strip() for t in text.split(",") if t.strip()]


def _replace_rows(df: pd.DataFrame, updated: pd.DataFrame) -> pd.DataFrame:
    """A new frame: ``df`` with the rows of ``updated`` (by id) in their places; ``df`` is untouched."""
    where = pd.Index(df["id"]).get_indexer(updated["id"])
    updated = updated[where >= 0].set_axis(df.index[where[where >= 0]])
    return pd.concat([df.drop(index=updated.index), updated[df.columns]]).loc[df.index]


def explore(df: pd.DataFrame | SessionStore, **kwargs) -> SessionExplorer:
    """Return a :class:`SessionExplorer` of a sessions frame or a store (display it as a cell's last line)."""
    return SessionExplorer(df, **kwargs)
