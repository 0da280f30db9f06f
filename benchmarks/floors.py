"""The floor the load and store benchmarks compare with: pyarrow's own conversion to pandas."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def to_pandas_with_lists(table: pa.Table) -> pd.DataFrame:
    """``table.to_pandas()``, with every list column built as Python lists from the Arrow offsets."""
    lists = {}
    for name in table.column_names:
        if pa.types.is_list(table.schema.field(name).type):
            array = table.column(name).combine_chunks()
            items = pc.list_flatten(array).to_pylist()
            ends = pc.list_value_length(array).fill_null(0).to_numpy().cumsum().tolist()
            lists[name] = [items[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    frame = table.drop_columns(list(lists)).to_pandas()
    for name, values in lists.items():
        frame[name] = values
    return frame
