"""Pick tags to require (any or all) and tags to exclude: type them, no Ctrl-click."""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd
import traitlets

from orq_nb.analysis.tags import TagIndex

__all__ = ["TagFilter", "counts_html"]


def counts_html(counts: pd.Series, top: int, what: str) -> str:
    """The ``top`` most common values with their session counts, as a hint under a picker."""
    shown = ", ".join(f"{html.escape(str(k))}&nbsp;({v:,})" for k, v in counts.head(top).items())
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
        self.tags = widgets.TagsInput(allowed_tags=known, allow_duplicates=False,
                                      placeholder="type a tag to require", layout={"width": "95%"})
        self.match = widgets.ToggleButtons(options=["any", "all"], value="any", description="match",
                                           style={"button_width": "4em"})
        self.exclude = widgets.TagsInput(allowed_tags=known, allow_duplicates=False,
                                         placeholder="type a tag to exclude", layout={"width": "95%"})
        self.counts = widgets.HTML(counts_html(self.index.counts, top, "tags"))
        super().__init__([widgets.HTML("<b>Tags</b>"), self.tags, self.match, widgets.HTML("<b>Exclude</b>"),
                          self.exclude, self.counts])
        for child in (self.tags, self.match, self.exclude):
            child.observe(self._changed, names="value")
        self._changed()

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
        finally:
            self._quiet = False
        self.counts.value = counts_html(self.index.counts, self.top, "tags")
        self._changed()

    def reset(self) -> None:
        """Require and exclude nothing."""
        self._quiet = True
        try:
            self.tags.value, self.match.value, self.exclude.value = [], "any", []
        finally:
            self._quiet = False
        self._changed()

    def _changed(self, change: dict | None = None) -> None:
        if self._quiet:
            return
        self.mask = self.index.mask(self.tags.value, self.match.value, self.exclude.value)
        self.count = int(self.mask.sum())
        self.selection = {"tags": list(self.tags.value), "match": self.match.value,
                          "exclude": list(self.exclude.value)}

    @property
    def filtered(self) -> pd.DataFrame:
        """The sessions matching the current choice."""
        return self.df[self.mask]
