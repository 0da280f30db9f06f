"""Which session has which tag: a boolean matrix built once per frame and reused."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from itertools import chain

import numpy as np
import pandas as pd

__all__ = ["TagIndex"]

_INDEXES: dict[int, tuple[weakref.ref, np.ndarray, TagIndex]] = {}


class TagIndex:
    """Which session has which tag, as a boolean matrix (sessions x distinct tags).

    Parameters
    ----------
    tags : Series of list of str
        The ``tags`` column of a sessions frame.
    """

    def __init__(self, tags: pd.Series) -> None:
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
        """The index of ``df``, built on first use and kept while ``df`` and its tags live."""
        key = id(df)
        cached = _INDEXES.get(key)
        tags = df["tags"].to_numpy()
        if cached and cached[0]() is df and _same_buffer(cached[1], tags):
            return cached[2]
        index = cls(df["tags"])
        # Holding the array keeps its buffer alive, so its address cannot be reused.
        _INDEXES[key] = (weakref.ref(df, lambda _: _INDEXES.pop(key, None)), tags, index)
        return index

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


def _same_buffer(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
