"""The explorer's "add to dataset": the selected sessions into an orq.ai evaluation dataset.

Preview runs :meth:`~orq_nb.OrqClient.to_dataset` as a dry run (nothing written) and shows its counts;
Add writes, behind the same "write to orq.ai" switch as the tags, each session once (a second Add adds
nothing).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import pandas as pd

from orq_nb.errors import DatasetWriteError, OrqError

__all__ = ["DatasetBox", "counts_text"]


def counts_text(report: pd.DataFrame, dry_run: bool) -> str:
    """A report's counts in words: "would add 12 (3 already there, 1 without a conversation)"."""
    counts = report["status"].value_counts()
    info = report.attrs.get("orq_nb", {})
    done = int(counts.get("would_add" if dry_run else "added", 0))
    parts = [f"{int(counts.get('present', 0)):,} already there",
             f"{int(counts.get('no_conversation', 0)):,} without a conversation"]
    if counts.get("failed"):
        parts.append(f"{int(counts['failed']):,} failed")
    name = info.get("name", "")
    new = " (a new dataset)" if info.get("creates") or info.get("created") else ""
    verb = "would add" if dry_run else "added"
    return f"{name!r}{new}: {verb} {done:,} datapoints ({', '.join(parts)})"


class DatasetBox(widgets.VBox):
    """Add the selection to a dataset.

    Parameters
    ----------
    selected : callable
        Returns the selected sessions (a frame).
    client : OrqClient or None
        Without one, the box says it needs one.
    write : Checkbox
        The explorer's "write to orq.ai" switch: Add writes only when it is on.
    """

    def __init__(self, selected: Callable[[], pd.DataFrame], client: Any, write: widgets.Checkbox) -> None:
        self.selected, self.client, self.write = selected, client, write
        self.name = widgets.Combobox(placeholder="dataset: a name (new or existing) or id",
                                     options=self._names(), ensure_option=False, layout={"width": "96%"})
        self.preview_button = widgets.Button(description="Preview dataset", disabled=client is None)
        self.add_button = widgets.Button(description="Add to dataset", button_style="primary", disabled=True)
        self.line = widgets.HTML("" if client is not None else
                                 "<i>Adding to a dataset needs a client: explore(df, client=OrqClient())</i>")
        self.last: pd.DataFrame | None = None
        self.previewed: tuple | None = None  # (name, selected ids) of the last preview
        self.preview_button.on_click(lambda _: self._run(True))
        self.add_button.on_click(lambda _: self._run(False))
        self.name.observe(lambda change: self._ready(), names="value")
        write.observe(lambda change: self._ready(), names="value")
        super().__init__([widgets.HTML("<b>Add the selection to a dataset</b>"), self.name,
                          widgets.HBox([self.preview_button, self.add_button]), self.line])
        self.add_class("orq-dataset")

    def _names(self) -> list[str]:
        if self.client is None:
            return []
        try:
            return sorted(set(self.client.datasets()["display_name"]))
        except OrqError:
            return []

    def _ready(self) -> None:
        previewed = self.previewed is not None and self.previewed[0] == self.name.value.strip()
        self.add_button.disabled = not (self.client is not None and self.write.value and previewed)

    def preview(self, name: str) -> pd.DataFrame:
        """A dry run of adding the selection to ``name``: nothing is written; the counts are shown."""
        return self._call(name, dry_run=True)

    def add(self, name: str) -> pd.DataFrame:
        """Add the selection to ``name`` (only with the "write to orq.ai" switch on)."""
        if not self.write.value:
            raise ValueError("turn on 'write to orq.ai' to add to a dataset (Preview writes nothing)")
        if self.previewed != (name.strip(), tuple(self.selected()["id"])):
            raise ValueError("preview first: the dataset's name or the selection changed since the last "
                             "preview")
        return self._call(name, dry_run=False)

    def _call(self, name: str, dry_run: bool) -> pd.DataFrame:
        if self.client is None:
            raise ValueError("adding to a dataset needs a client: explore(df, client=OrqClient())")
        rows = self.selected()
        if not len(rows):
            raise ValueError("no sessions are selected: select some on the plot first")
        if not name.strip():
            raise ValueError("name the dataset (a new name creates it when you Add)")
        report = self.client.to_dataset(rows, name.strip(), dry_run=dry_run, progress=False)
        self.last = report
        if dry_run:
            self.previewed = (name.strip(), tuple(rows["id"]))
        self.line.value = html.escape(("Dry run, nothing written: " if dry_run else "On orq.ai: ")
                                      + counts_text(report, dry_run), quote=False)
        self._ready()
        return report

    def _run(self, dry_run: bool) -> None:
        try:
            self._call(self.name.value, dry_run) if dry_run else self.add(self.name.value)
        except DatasetWriteError as error:
            self.last = error.report
            self.line.value = html.escape(str(error)).replace("\n", "<br>")
        except (ValueError, OrqError) as error:
            self.line.value = html.escape(str(error))
