"""The DataFrame layout, derived from :class:`~orq_nb.schemas.SessionSchema`.

Each schema field becomes one column (a ``Nested`` field becomes one column per
inner field), in declared order, with a dtype chosen by the field's class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from marshmallow import Schema, fields

from orq_nb.fields import NonNegativeNumber, StringList, UtcDateTime
from orq_nb.schemas import SessionSchema, key_aliases, wire_key

__all__ = ["Column", "COLUMNS", "COLUMN_NAMES", "DTYPES", "empty_frame"]

TEXT_DTYPE = pd.StringDtype(na_value=np.nan)
DATETIME_DTYPE = pd.DatetimeTZDtype(unit="us", tz="UTC")

#: Column kind by field class, most specific first.
_KINDS: tuple[tuple[type, str, object], ...] = (
    (NonNegativeNumber, "number", np.dtype("float64")),
    (UtcDateTime, "datetime", DATETIME_DTYPE),
    (StringList, "strings", np.dtype("object")),
    (fields.String, "text", TEXT_DTYPE),
)


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


COLUMNS: tuple[Column, ...] = tuple(_columns(SessionSchema()))
COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in COLUMNS)
DTYPES: dict[str, object] = {column.name: column.dtype for column in COLUMNS}


def empty_frame() -> pd.DataFrame:
    """Return a sessions DataFrame with no rows and the fixed columns and dtypes."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in COLUMNS})
