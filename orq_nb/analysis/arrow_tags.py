"""Tag matching and counting in Arrow compute, for one partition of a Dask frame at a time.

:class:`~orq_nb.analysis.tags.TagIndex` suits an interactive frame, where one index
serves many filters. A partition is read once: these functions turn its ``tags``
lists into one Arrow list array and work on the flattened tags and their row
numbers, with no Python loop over the rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["tag_mask", "tag_count_parts", "explode_columns"]


def _flat(tags: pd.Series) -> tuple[pa.Array, np.ndarray]:
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
    items, rows = _flat(tags)
    if wanted:
        wanted = list(dict.fromkeys(wanted))
        found = _rows_with(items, rows, wanted, n)
        keep = found == len(wanted) if match == "all" else found > 0
    if exclude:
        keep &= _rows_with(items, rows, list(dict.fromkeys(exclude)), n) == 0
    return keep


def tag_count_parts(tags: pd.Series, part: int) -> pd.DataFrame:
    """Sessions per tag in one partition, and where each tag first appears (``part``, position)."""
    items, rows = _flat(tags)
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
    items, rows = _flat(df["tags"])
    out = {name: df[name].to_numpy()[rows] for name in columns}
    out["tag"] = pd.array(items, dtype="str")
    return pd.DataFrame(out)
