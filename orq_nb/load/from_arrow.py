"""Arrow tables (from Parquet or Feather files, or given) into typed Arrow arrays.

Two shapes are read: the wire form (keys as the API or the Node SDK writes
them, ``billing`` and ``usage`` as structs) and the frame form (the columns of
a sessions DataFrame, as ``df.to_parquet`` writes them). Each column is cast to
its JSON type (times may stay Arrow timestamps); a column that cannot be cast
is left null and every record giving it is flagged, so that marshmallow names
the field. A null counts as an absent key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orq_nb.load.columns import COLUMN_AT, COLUMN_NAMES, COLUMNS, LEVEL_KEYS, Column
from orq_nb.load.from_records import is_frame_form, wire_record
from orq_nb.load.validate import Parsed, valid_mask

__all__ = ["parse_table", "read_levels"]



def _text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or (
        pa.types.is_large_binary(t))


#: The Arrow types whose values the schema's field takes for each kind (a null column fits any).
_FITS = {
    "text": _text,
    "number": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t),
    "count": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t),
    "datetime": lambda t: _text(t) or pa.types.is_timestamp(t),
    "strings": lambda t: (pa.types.is_list(t) or pa.types.is_large_list(t)) and (
        _text(t.value_type) or pa.types.is_null(t.value_type)),
}


def _cast(column: Column, array: pa.Array, flag: np.ndarray) -> pa.Array:
    """``array`` as the column's JSON type (timestamps stay timestamps); flag what does not fit.

    Only types holding what the schema's field takes are cast: a string column
    is no number column, even where every string reads as one.
    """
    if column.kind == "datetime" and pa.types.is_timestamp(array.type):
        return array
    if pa.types.is_null(array.type) or _FITS[column.kind](array.type):
        try:
            return array.cast(column.json_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass
    flag |= valid_mask(array)
    return pa.nulls(len(array), column.json_type)


def read_levels(arrays: dict[str, Any], level: tuple[str, ...], keys: dict, flag: np.ndarray) -> None:
    """Fill ``keys`` with ``path: (array, given)`` for every known key of this level and below.

    ``arrays`` are a wire-form table's columns (or a struct's fields); nested objects must be
    structs. Arrays stay chunked as they came: combining them would copy every column.
    """
    for key in LEVEL_KEYS[level]:
        if key not in arrays:
            continue
        array, path = arrays[key], level + (key,)
        given = valid_mask(array)
        if path in LEVEL_KEYS:
            if not pa.types.is_struct(array.type):
                flag |= given
                given = np.zeros(len(array), dtype=bool)
                keys[path] = (None, given)
                continue
            keys[path] = (None, given)
            fields = {f.name: pc.struct_field(array, [i]) for i, f in enumerate(array.type)}
            read_levels(fields, path, keys, flag)
        else:
            keys[path] = (_cast(COLUMN_AT[path], array, flag), given)


_WIRE_NAMES = set(COLUMN_NAMES)


def _plain(value: Any) -> Any:
    """A table value as JSON gives it (times as ISO 8601 text)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


def parse_table(table: pa.Table) -> Parsed:
    """Read a table of sessions, in the wire form or the frame form, into a :class:`Parsed`."""
    n = table.num_rows
    flag = np.zeros(n, dtype=bool)
    keys: dict = {}
    frame_form = is_frame_form(table.column_names)
    if frame_form:
        all_given = np.ones(n, dtype=bool)
        for column in COLUMNS:
            for depth in range(1, len(column.path)):
                keys[column.wire_path[:depth]] = (None, all_given)
            if column.name in table.column_names:
                array = table.column(column.name)
                keys[column.wire_path] = (_cast(column, array, flag), valid_mask(array))
    else:
        read_levels({name: table.column(name) for name in table.column_names}, (), keys, flag)

    def record_at(i: int) -> dict:
        row = table.slice(i, 1).to_pylist()[0]
        if not frame_form:
            return _plain(row)
        return wire_record(((name, _plain(value)) for name, value in row.items()
                            if name in _WIRE_NAMES and value is not None), frame_form=True)

    return Parsed(n, keys, flag, record_at)
