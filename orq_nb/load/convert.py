"""The one conversion: a validated Arrow table to the sessions DataFrame.

Text stays in Arrow (pandas' ``str`` dtype), numbers and times become numpy
arrays, and ``tags`` / ``contact_ids`` become Python lists built straight from
the Arrow offsets: pandas' Arrow list dtype would make ``"rag" in tags`` many
times slower and mangles ``df.at[i, "tags"] = [...]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from orq_nb.load.columns import COLUMNS, TEXT_DTYPE, VALID_SCHEMA

__all__ = ["to_frame", "loaded_table", "empty_frame", "string_lists"]


def string_lists(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Python lists of str, one per row (``[]`` for null), sharing one str per distinct value."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    items = pc.list_flatten(array)
    encoded = pc.dictionary_encode(items)
    shared = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
    codes = encoded.indices.fill_null(len(shared) - 1).to_numpy()
    flat = shared[codes].tolist()
    ends = pc.list_value_length(array).fill_null(0).to_numpy().cumsum().tolist()
    starts = [0, *ends[:-1]]
    return np.fromiter((flat[a:b] for a, b in zip(starts, ends, strict=True)), dtype=object,
                       count=len(array))


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Return the sessions DataFrame of a table in :data:`~orq_nb.load.columns.VALID_SCHEMA`.

    A table holding only some of the columns gives those, in the fixed order.
    """
    data = {}
    for column in COLUMNS:
        if column.name not in table.column_names:
            continue
        values = table.column(column.name)
        if column.kind == "text":
            data[column.name] = pd.array(values, dtype=TEXT_DTYPE)
        elif column.kind == "number":
            data[column.name] = values.to_numpy()
        elif column.kind == "count":
            data[column.name] = _counts(values)
        elif column.kind == "datetime":
            data[column.name] = values.to_pandas().array.astype(column.dtype)
        else:
            data[column.name] = string_lists(values)
    return pd.DataFrame(data, copy=False)


def _counts(values: pa.ChunkedArray | pa.Array) -> pd.arrays.IntegerArray:
    """An int64 column as pandas' nullable Int64, its numbers not copied where there is no null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    missing = (values.is_null().to_numpy(zero_copy_only=False) if values.null_count
               else np.zeros(len(values), dtype=bool))
    return pd.arrays.IntegerArray(values.fill_null(0).to_numpy(zero_copy_only=False), missing)


def empty_frame() -> pd.DataFrame:
    """Return a sessions DataFrame with no rows and the fixed columns and dtypes."""
    return to_frame(VALID_SCHEMA.empty_table())


def _dig(record: Mapping, attrs: tuple[str, ...]):
    for attr in attrs:
        record = record.get(attr)
        if record is None:
            return None
    return record


def loaded_table(loaded: list[dict]) -> pa.Table:
    """The validated table of records that ``SessionSchema`` loaded (by attribute name)."""
    arrays = [pa.array([_dig(r, column.attrs) for r in loaded], type=column.valid_type) for column in COLUMNS]
    return pa.Table.from_arrays(arrays, schema=VALID_SCHEMA)
