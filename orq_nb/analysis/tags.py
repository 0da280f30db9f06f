"""Which session has which tag.

:class:`TagIndex` suits an interactive frame: a boolean matrix built from the frame as it is now, where
one index serves many filters. A partition of a Dask frame is read once: :func:`tag_mask`,
:func:`tag_count_parts` and :func:`explode_columns` turn its ``tags`` lists into one Arrow list array and
work on the flattened tags and their row numbers, with no Python loop over the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from orq_nb.load.tags import as_tags

__all__ = ["TagIndex", "tag_mask", "tag_count_parts", "explode_columns", "flat_tags"]


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


# Arrow compute, one partition at a time.

def flat_tags(tags: pd.Series) -> tuple[pa.Array, np.ndarray]:
    """The tags of every row, flattened, and the row each came from."""
    lists = pa.array(tags.to_numpy(), type=pa.list_(pa.string()), from_pandas=True)
    return pc.list_flatten(lists), pc.list_parent_indices(lists).to_numpy()


def _rows_with(items: pa.Array, rows: np.ndarray, wanted: list[str], n: int) -> np.ndarray:
    """For each row, how many of ``wanted`` it has (each counted once)."""
    codes = pc.index_in(items, value_set=pa.array(wanted, type=pa.string())).to_numpy(zero_copy_only=False)
    hit = ~np.isnan(codes) if codes.dtype.kind == "f" else np.ones(len(codes), dtype=bool)
    pairs = np.unique(rows[hit] * len(wanted) + codes[hit].astype(np.int64))
    return np.bincount(pairs // len(wanted), minlength=n)


def tag_mask(tags: pd.Series, wanted: Iterable[str] | None = None, match: str = "any",
             exclude: Iterable[str] | None = None) -> np.ndarray:
    """Rows with any (or all) of ``wanted`` and none of ``exclude``, as :meth:`TagIndex.mask` gives."""
    n = len(tags)
    keep = np.ones(n, dtype=bool)
    if not (wanted or exclude):
        return keep
    items, rows = flat_tags(tags)
    if wanted:
        wanted = list(dict.fromkeys(wanted))
        found = _rows_with(items, rows, wanted, n)
        keep = found == len(wanted) if match == "all" else found > 0
    if exclude:
        keep &= _rows_with(items, rows, list(dict.fromkeys(exclude)), n) == 0
    return keep


def tag_count_parts(tags: pd.Series, part: int) -> pd.DataFrame:
    """Sessions per tag in one partition, and where each tag first appears (``part``, position)."""
    items, rows = flat_tags(tags)
    encoded = pc.dictionary_encode(items)
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    pairs = np.unique(rows * max(len(names), 1) + codes)  # a tag twice in one session counts once
    counts = np.bincount(pairs % max(len(names), 1), minlength=len(names))
    order = np.arange(len(names), dtype=np.int64)  # dictionary order is the order of first appearance
    return pd.DataFrame({"tag": pd.array(names, dtype="str"), "sessions": counts.astype(np.int64),
                         "first": (part << 32) + order})


def explode_columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per (session, tag) with ``columns`` alongside, as ``df.explode("tags")`` gives them."""
    items, rows = flat_tags(df["tags"])
    out = {name: df[name].to_numpy()[rows] for name in columns}
    out["tag"] = pd.array(items, dtype="str")
    return pd.DataFrame(out)
