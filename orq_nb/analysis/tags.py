"""Which session has which tag: a boolean matrix, built from the frame as it is now."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import numpy as np
import pandas as pd

__all__ = ["TagIndex", "as_tags"]


def as_tags(value) -> list:
    """A session's tags as a list: None, NaN (after a merge or a hand edit) and non-lists are no tags."""
    if isinstance(value, list):
        return value
    if isinstance(value, tuple | np.ndarray | pd.Series):
        return list(value)
    return []


class TagIndex:
    """Which session has which tag, as a boolean matrix (sessions x distinct tags).

    Parameters
    ----------
    tags : Series of list of str
        The ``tags`` column of a sessions frame; None or NaN counts as no tags.
    """

    def __init__(self, tags: pd.Series) -> None:
        tags = [t if isinstance(t, list) else as_tags(t) for t in tags]
        lengths = np.fromiter(map(len, tags), dtype=np.int64, count=len(tags))
        codes, uniques = pd.factorize(pd.Series(list(chain.from_iterable(tags)), dtype=object))
        order = np.argsort(-np.bincount(codes, minlength=len(uniques)), kind="stable")
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[order] = np.arange(len(uniques))
        self.tags: list[str] = [str(uniques[i]) for i in order]
        self.matrix = np.zeros((len(tags), len(self.tags)), dtype=bool)
        rows = np.repeat(np.arange(len(tags)), lengths)
        self.matrix[rows, rank[codes]] = True
        self.counts = pd.Series(self.matrix.sum(axis=0), index=pd.Index(self.tags, name="tag"),
                                name="sessions")
        self._column = {tag: i for i, tag in enumerate(self.tags)}

    @classmethod
    def of(cls, df: pd.DataFrame) -> TagIndex:
        """The index of ``df`` as it is now.

        Never cached between calls: an in-place edit of the tags column
        (``df.at[i, "tags"] = [...]``) is seen by the next filter. The explorer,
        which owns its frame, keeps its own index and updates it on relabelling.
        """
        return cls(df["tags"])

    def with_rows(self, positions: np.ndarray, tags: Iterable) -> TagIndex:
        """A new index: this one with the rows at ``positions`` holding ``tags`` instead.

        What relabelling a few sessions costs, instead of rebuilding from every row;
        new tags get columns at the end, and ``counts`` stays sorted by count.
        """
        tags = [as_tags(t) for t in tags]
        new = [t for t in dict.fromkeys(chain.from_iterable(tags)) if t not in self._column]
        out = object.__new__(TagIndex)
        out.tags = self.tags + new
        out._column = {tag: i for i, tag in enumerate(out.tags)}
        out.matrix = np.zeros((len(self.matrix), len(out.tags)), dtype=bool)
        out.matrix[:, : len(self.tags)] = self.matrix
        out.matrix[positions] = False
        rows = np.repeat(np.asarray(positions), [len(t) for t in tags])
        out.matrix[rows, [out._column[t] for t in chain.from_iterable(tags)]] = True
        counts = out.matrix.sum(axis=0)
        keep = counts > 0
        if not keep.all():  # a tag no session has anymore: gone, as a rebuild would drop it
            out.matrix, out.tags = out.matrix[:, keep], [t for t, k in zip(out.tags, keep, strict=True) if k]
            out._column, counts = {tag: i for i, tag in enumerate(out.tags)}, counts[keep]
        out.counts = pd.Series(counts, index=pd.Index(out.tags, name="tag"), name="sessions").sort_values(
            ascending=False, kind="stable")
        return out

    def columns(self, tags: Iterable[str]) -> list[int]:
        """Matrix columns of ``tags`` (unknown tags have none)."""
        return [self._column[t] for t in tags if t in self._column]

    def mask(self, tags: Iterable[str] | None = None, match: str = "any",
             exclude: Iterable[str] | None = None) -> np.ndarray:
        """Rows with any (or all) of ``tags`` and none of ``exclude``."""
        keep = np.ones(len(self.matrix), dtype=bool)
        if tags:
            tags = list(dict.fromkeys(tags))
            cols = self.columns(tags)
            if match == "all":
                # A tag no session has cannot be matched by all: then nothing is.
                keep = self.matrix[:, cols].all(axis=1) if len(cols) == len(tags) else ~keep
            else:
                keep = self.matrix[:, cols].any(axis=1)
        if exclude:
            keep &= ~self.matrix[:, self.columns(exclude)].any(axis=1)
        return keep

