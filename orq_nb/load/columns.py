"""The DataFrame layout, derived from :class:`~orq_nb.load.schemas.SessionSchema`.

Each schema field becomes one column (a ``Nested`` field becomes one column per
inner field), in declared order, with a dtype chosen by the field's class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from marshmallow import Schema, fields

from orq_nb.load.fields import NonNegativeCount, NonNegativeNumber, StringList, UtcDateTime
from orq_nb.load.schemas import SessionSchema, key_aliases, wire_key

__all__ = [
    "Column", "COLUMNS", "NUMERIC", "COLUMN_NAMES", "DTYPES", "VALID_SCHEMA", "LEVEL_KEYS", "LEVEL_GROUPS",
    "COLUMN_AT", "schema_columns", "empty_frame", "column_values",
]

TEXT_DTYPE = pd.StringDtype(na_value=np.nan)
DATETIME_DTYPE = pd.DatetimeTZDtype(unit="us", tz="UTC")

#: Column kind by field class, most specific first.
_KINDS: tuple[tuple[type, str, object], ...] = (
    (NonNegativeCount, "count", pd.Int64Dtype()),
    (NonNegativeNumber, "number", np.dtype("float64")),
    (UtcDateTime, "datetime", DATETIME_DTYPE),
    (fields.Boolean, "bool", pd.BooleanDtype()),
    (StringList, "strings", np.dtype("object")),
    (fields.String, "text", TEXT_DTYPE),
)
#: Arrow type of each kind as JSON carries it, and once validated.
JSON_TYPES = {"text": pa.large_string(), "number": pa.float64(), "count": pa.float64(),
              "strings": pa.list_(pa.string()), "datetime": pa.large_string(), "bool": pa.bool_()}
VALID_TYPES = {**JSON_TYPES, "count": pa.int64(), "datetime": pa.timestamp("us", tz="UTC")}
#: The kinds whose values are JSON numbers.
NUMERIC = ("number", "count")


@dataclass(frozen=True)
class Column:
    """One column: its name, where it sits in a record, and how it loads.

    ``attrs`` locates the value in a record loaded by the schema; ``path`` gives,
    for each level of a raw record, the keys it may arrive under.
    """

    name: str
    attrs: tuple[str, ...]
    path: tuple[tuple[str, ...], ...]
    field: fields.Field
    kind: str
    dtype: object

    @property
    def json_type(self) -> pa.DataType:
        """The Arrow type its JSON value parses to."""
        return JSON_TYPES[self.kind]

    @property
    def valid_type(self) -> pa.DataType:
        """The Arrow type it has once validated."""
        return VALID_TYPES[self.kind]

    @property
    def wire_path(self) -> tuple[str, ...]:
        """Its keys in the wire form, outermost first, e.g. ``("billing", "input_cost")``."""
        return tuple(aliases[0] for aliases in self.path)

    @property
    def parents(self) -> tuple[tuple[str, ...], ...]:
        """Key aliases of each enclosing object, outermost first."""
        return self.path[:-1]

    @property
    def aliases(self) -> tuple[str, ...]:
        """Keys this column's value may arrive under in its own object."""
        return self.path[-1]


def _columns(schema: Schema, attrs: tuple = (), parents: tuple = ()) -> list[Column]:
    out: list[Column] = []
    for name, field in schema.fields.items():
        aliases = key_aliases(wire_key(name, field))
        if isinstance(field, fields.Nested):
            if len(aliases) > 1:  # a nested object is read under one key only
                raise TypeError(f"nested field {name!r} must have one key style, not {aliases}")
            out.extend(_columns(field.schema, attrs + (name,), parents + (aliases,)))
            continue
        for cls, kind, dtype in _KINDS:
            if isinstance(field, cls):
                column = Column(name, attrs + (name,), parents + (aliases,), field, kind, dtype)
                out.append(column)
                break
        else:
            raise TypeError(f"no column kind for schema field {name!r} ({type(field).__name__})")
    return out


def schema_columns(schema: Schema) -> tuple[Column, ...]:
    """The columns a schema defines, in declared order (a nested object's fields flattened)."""
    return tuple(_columns(schema))


def column_values(column: Column, values: list) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """One column's values (as marshmallow loaded them, None for missing) in the column's dtype."""
    if column.kind == "datetime":
        stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
        return stamps.astype(column.dtype).array
    if column.kind == "strings":
        out = np.empty(len(values), dtype=object)
        out[:] = [list(v) if v is not None else [] for v in values]
        return out
    if column.kind == "number":
        return np.array([np.nan if v is None else v for v in values], dtype="float64")
    return pd.array(values, dtype=column.dtype)


def empty_frame(columns: tuple[Column, ...]) -> pd.DataFrame:
    """A frame with no rows and every column in its dtype."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in columns})


def _level_groups() -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    """For each object level (its wire path), the alias groups of the keys read there."""
    levels: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for column in COLUMNS:
        for depth, aliases in enumerate(column.path):
            groups = levels.setdefault(column.wire_path[:depth], [])
            if aliases not in groups:
                groups.append(aliases)
    return levels


COLUMNS: tuple[Column, ...] = tuple(_columns(SessionSchema()))
COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
DTYPES: dict[str, object] = {column.name: column.dtype for column in COLUMNS}
VALID_SCHEMA = pa.schema([pa.field(column.name, column.valid_type) for column in COLUMNS])
#: Wire path of each object level -> the key groups (aliases) read there, and all their keys.
LEVEL_GROUPS = _level_groups()
LEVEL_KEYS = {level: [key for group in groups for key in group] for level, groups in LEVEL_GROUPS.items()}
#: Key path under any key style (e.g. ``("billing", "inputCost")``) -> its column.
COLUMN_AT = {column.wire_path[:-1] + (alias,): column for column in COLUMNS for alias in column.aliases}

