"""A session's tags as lists, and what relabelling does to them (the HTTP client, the store and the
explorer all relabel)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["as_tags", "tag_list", "relabelled", "REPORT_COLUMNS"]

#: The columns of every relabelling report (tag_sessions, SessionExplorer.apply_tags and undo).
REPORT_COLUMNS = ["id", "ok", "changed", "tags_before", "tags_after", "changed_elsewhere", "error"]

def as_tags(value) -> list:
    """A session's tags as a list: None, NaN (after a merge or a hand edit) and non-lists are no tags."""
    if isinstance(value, list):
        return value
    if isinstance(value, tuple | np.ndarray | pd.Series):
        return list(value)
    return []


def tag_list(value: Iterable[str] | str) -> list[str]:
    """Tags given as one string or several."""
    return [value] if isinstance(value, str) else [str(t) for t in value]


def relabelled(tags: Iterable[str], add: Iterable[str], remove: Iterable[str],
               restore: Iterable[str] | None = None) -> list[str]:
    """The tags after a relabelling: ``remove`` first, then ``add``, keeping order, no repeats.

    With ``restore`` (the tags a session had before an earlier relabelling): when the result holds
    exactly those tags, they come back in their old order (an undo puts a re-added tag where it was).
    """
    remove = set(remove)
    after = list(dict.fromkeys([t for t in tags if t not in remove] + list(add)))
    restore = None if restore is None else list(restore)
    if restore is not None and set(after) == set(restore) and len(after) == len(restore):
        return restore
    return after
