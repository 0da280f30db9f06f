"""Pick tags to require (any or all) and tags to exclude: type them, no Ctrl-click."""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd
import traitlets

from orq_nb.analysis.filters import unknown_tags
from orq_nb.analysis.tags import TagIndex

__all__ = ["TagFilter", "counts_html"]


def counts_html(counts: pd.Series, top: int, what: str) -> str:
    """The ``top`` most common values with their session counts, as a hint under a picker."""
    # One unbreakable unit per value: a name never breaks at its hyphens ("gpt-4o-mini").
    shown = ", ".join(f"<span style='white-space:nowrap'>{html.escape(str(k))}&nbsp;({v:,})</span>"
                      for k, v in counts.head(top).items())
    more = f" and {len(counts) - top:,} more" if len(counts) > top else ""
    return f"<span style='font-size:90%;color:#555'>{what}: {shown}{more}</span>" if len(counts) else ""


class TagFilter(widgets.VBox):
    """Tags to require (matching any or all of them) and tags to exclude.

    Tags are typed, with completion from the frame's tags; the most common
    are listed with their session counts. ``.filtered`` is the matching part
    of the frame, ``.mask`` the boolean rows. Observe ``selection`` (a dict of
    tags, match, exclude) or ``count`` (matching sessions) to react.
    """

    selection = traitlets.Dict()
    count = traitlets.Int()

    def __init__(self, df: pd.DataFrame, index: TagIndex | None = None, top: int = 12) -> None:
        self.df, self.top, self._quiet = df, top, False
        self.index = index or TagIndex.of(df)
        known = list(self.index.tags)
        # Tags are typed in a box with completion; a known one becomes a chip in the picker below it
        # (where x removes it), an unknown one is said so under the box, with the closest that exist.
        self.tags = widgets.TagsInput(allowed_tags=known, allow_duplicates=False, layout={"width": "95%"})
        self.tags_entry = self._entry("type a tag to require", known)
        self.match = widgets.ToggleButtons(options=["any", "all"], value="any", description="match",
                                           style={"button_width": "4em"})
        self.exclude = widgets.TagsInput(allowed_tags=known, allow_duplicates=False, layout={"width": "95%"})
        self.exclude_entry = self._entry("type a tag to exclude", known)
        self.hint = widgets.HTML()
        self.counts = widgets.HTML(counts_html(self.index.counts, top, "tags"))
        super().__init__([widgets.HTML("<b>Tags</b>"), self.tags_entry, self.tags, self.match,
                          widgets.HTML("<b>Exclude</b>"), self.exclude_entry, self.exclude, self.hint,
                          self.counts])
        for child in (self.tags, self.match, self.exclude):
            child.observe(self._changed, names="value")
        for entry, picker in ((self.tags_entry, self.tags), (self.exclude_entry, self.exclude)):
            entry.observe(lambda change, picker=picker: self._typed(change["owner"], picker), names="value")
        self._changed()

    @staticmethod
    def _entry(placeholder: str, known: list[str]) -> widgets.Combobox:
        return widgets.Combobox(options=known, placeholder=placeholder, ensure_option=False,
                                continuous_update=False, layout={"width": "95%"})

    def _typed(self, entry: widgets.Combobox, picker: widgets.TagsInput) -> None:
        """Tags typed in a box (comma-separated): known ones join the picker, unknown ones are named."""
        typed = [t.strip() for t in entry.value.split(",") if t.strip()]
        if not typed:
            return
        known = [t for t in typed if t in self.index.counts.index and t not in picker.value]
        self.hint.value = html.escape(unknown_tags(typed, self.index))
        entry.value = ""
        if known:
            picker.value = [*picker.value, *known]

    def add(self, tags: list[str] | str, exclude: bool = False) -> None:
        """Type ``tags`` as a user would: into the require (or exclude) box."""
        entry = self.exclude_entry if exclude else self.tags_entry
        entry.value = tags if isinstance(tags, str) else ", ".join(tags)

    def set_frame(self, df: pd.DataFrame, index: TagIndex | None = None) -> None:
        """Show another frame (e.g. after relabelling), keeping the chosen tags that still exist."""
        self.df, self.index = df, index or TagIndex.of(df)
        known = list(self.index.tags)
        self._quiet = True
        try:
            for picker in (self.tags, self.exclude):
                kept = [t for t in picker.value if t in self.index.counts.index]
                picker.allowed_tags = known
                picker.value = kept
            self.tags_entry.options = self.exclude_entry.options = known
        finally:
            self._quiet = False
        self.counts.value = counts_html(self.index.counts, self.top, "tags")
        self._changed()

    def reset(self) -> None:
        """Require and exclude nothing."""
        self._quiet = True
        try:
            self.tags.value, self.match.value, self.exclude.value = [], "any", []
            self.hint.value = ""
        finally:
            self._quiet = False
        self._changed()

    def _changed(self, change: dict | None = None) -> None:
        if self._quiet:
            return
        for picker in (self.tags, self.exclude):  # an empty picker is no box of its own
            picker.layout.display = None if picker.value else "none"
        self.mask = self.index.mask(self.tags.value, self.match.value, self.exclude.value)
        self.count = int(self.mask.sum())
        self.selection = {"tags": list(self.tags.value), "match": self.match.value,
                          "exclude": list(self.exclude.value)}

    @property
    def filtered(self) -> pd.DataFrame:
        """The sessions matching the current choice."""
        return self.df[self.mask]
