"""Session records as Python objects (dicts in either key style, pages) into typed Arrow arrays.

The short route for dicts: every key of every object level is read at once
(pandas' C reader of dict rows where it can vouch for the result) into numpy
object arrays. Once :mod:`orq_nb.load.validate` has folded the key styles,
each column's values are checked for their JSON type and become an Arrow array
of the column's type (:func:`_typed`); a value of the wrong type is left null
and its record flagged. The rules themselves are checked by the validator.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import compress
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from orq_nb.load.columns import COLUMN_NAMES, COLUMNS, LEVEL_KEYS, NUMERIC, Column
from orq_nb.load.from_models import is_model, model_record
from orq_nb.load.validate import Parsed

try:  # pandas' own reader of dict rows (what DataFrame(list_of_dicts) uses)
    from pandas._libs.lib import dicts_to_array
except ImportError:  # pragma: no cover - depends on the pandas build
    dicts_to_array = None

__all__ = [
    "parse_records", "session_records", "frame_records", "wire_record", "is_frame_form", "is_envelope",
    "page_data", "gc_paused",
]

_PYTHON_TYPES = {"text": {str}, "number": {int, float}, "count": {int, float}, "strings": {list},
                 "datetime": {str}}
_MISSING = object()
_BLOCK = 512


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading creates objects, never cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def is_envelope(obj: Any) -> bool:
    """Return whether ``obj`` looks like a list page ``{"object", "data", "has_more"}``."""
    return isinstance(obj, Mapping) and "data" in obj and (
        "object" in obj or "has_more" in obj or "hasMore" in obj
    )


def page_data(page: Mapping, number: int) -> list:
    """Return a list page's records, refusing a page whose ``data`` is not a list."""
    data = page["data"]
    if not isinstance(data, list):
        raise ValueError(f"page {number}: 'data' must be a list of sessions, not {type(data).__name__}")
    return data


def session_records(obj: Any) -> list:
    """Flatten records, a list envelope, or an iterable of envelopes into one list of records.

    pydantic models among them (the official SDK's) become the records they dump to.
    """
    if isinstance(obj, Mapping):
        return page_data(obj, 0) if is_envelope(obj) else [obj]
    if isinstance(obj, (str, bytes)):
        raise TypeError("sessions_frame takes records, not text; use read_sessions for files")
    items = obj if isinstance(obj, list) else list(obj)
    if not any(type(item) is not dict or ("data" in item and is_envelope(item)) for item in items):
        return items  # plain records, the common case: one scan
    out: list = []
    for number, item in enumerate(items):
        if is_model(item):
            item = model_record(item)
        if is_envelope(item):
            out.extend(page_data(item, number))
        else:
            out.append(item)
    return out


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value)


_WIRE_PATH = {column.name: column.wire_path for column in COLUMNS}
_OBJECTS = {level[-1] for level in LEVEL_KEYS if level}
_FRAME_ONLY = set(COLUMN_NAMES) - {alias for column in COLUMNS for alias in column.aliases}


def is_frame_form(names: Iterable[str]) -> bool:
    """Column names of a sessions frame (``duration_ms``, ``total_cost``), no nested objects."""
    names = set(names)
    return not names & _OBJECTS and bool(names & _FRAME_ONLY)


def wire_record(items: Iterable[tuple[str, Any]], frame_form: bool) -> dict:
    """A raw session record from ``(key, value)`` pairs; frame-form names go back to their wire
    places (``duration_ms`` to ``duration``, ``total_cost`` to ``billing.total_cost``)."""
    record: dict = {}
    for key, value in items:
        path = _WIRE_PATH.get(key, (key,)) if frame_form else (key,)
        holder = record
        for parent in path[:-1]:
            holder = holder.setdefault(parent, {})
        holder[path[-1]] = value
    return record


def frame_records(df: pd.DataFrame) -> list[dict]:
    """The rows of a DataFrame as raw session records, for frames Arrow cannot type column by column.

    A frame with a sessions frame's column names gets the wire form back; other frames keep
    their keys. A missing value is an absent key; times become ISO 8601.
    """
    frame_form = is_frame_form(df.columns)
    return [wire_record(((key, value.isoformat() if isinstance(value, pd.Timestamp) else value)
                         for key, value in row.items() if not _missing(value)), frame_form)
            for row in df.to_dict("records")]


def _is(values: np.ndarray, obj: object) -> np.ndarray:
    """Elementwise identity test (``==`` would compare element contents)."""
    found = np.fromiter((v is obj for v in values.flat), dtype=bool, count=values.size)
    return found.reshape(values.shape)


def _python_table(objs: Sequence[dict], keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``keys`` from each dict in plain Python, block by block while in cache."""
    n = len(objs)
    values = np.empty((n, len(keys)), dtype=object)
    for start in range(0, n, _BLOCK):
        block = objs[start : start + _BLOCK]
        for j, key in enumerate(keys):
            values[start : start + len(block), j] = np.fromiter(
                [o.get(key, _MISSING) for o in block], dtype=object, count=len(block)
            )
    return values, _is(values, _MISSING)


def _table(objs: list[dict], keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``keys`` from each dict: an object array and a mask of absent keys.

    pandas' C reader puts NaN for an absent key, as it does for a key holding
    NaN; a row is trusted when its present, non-missing values account for all
    of its keys. Other rows (unknown keys, NaN values) are read again in Python.
    """
    if dicts_to_array is None:
        return _python_table(objs, keys)
    values = dicts_to_array(objs, list(keys))
    missing = pd.isna(values)
    found = len(keys) - missing.sum(axis=1)
    sizes = np.fromiter(map(len, objs), dtype=np.int64, count=len(objs))
    short = np.flatnonzero(found < sizes)
    if len(short):
        nulls = _is(values[short], None)
        missing[short] &= ~nulls
        found[short] += nulls.sum(axis=1)
        redo = np.flatnonzero(found < sizes)
        if len(redo):
            values[redo], missing[redo] = _python_table([objs[i] for i in redo], keys)
    return values, missing


def _kinds_ok(values: np.ndarray, given: np.ndarray, allowed: set) -> np.ndarray:
    """Mask of given values whose type is in ``allowed`` (exactly: a bool is no number)."""
    if set(map(type, values if given.all() else compress(values, given))) <= allowed:
        return given
    return given & np.fromiter((type(v) in allowed for v in values), dtype=bool, count=len(values))


def _floats(values: np.ndarray, flag: np.ndarray) -> np.ndarray:
    try:
        return values.astype(np.float64)
    except OverflowError:  # an int too large for a float: the schema judges it
        out = np.empty(len(values))
        for i, v in enumerate(values):
            try:
                out[i] = float(v)
            except OverflowError:
                out[i], flag[i] = np.nan, True
        return out


def _iso_times(values: np.ndarray, given: np.ndarray) -> np.ndarray:
    """``datetime`` and ``Timestamp`` values as the ISO 8601 text JSON would carry (naive stays naive,
    so it reads as UTC; aware keeps its offset); NaT is a null. Strings pass as they are."""
    kinds = set(map(type, values if given.all() else compress(values, given)))
    if kinds <= {str}:
        return values
    out = values.copy()
    for i in np.flatnonzero(given).tolist():
        value = out[i]
        if isinstance(value, dt.datetime):
            out[i] = None if value is pd.NaT else value.isoformat()
    return out


def _typed(column: Column, values: np.ndarray, given: np.ndarray, flag: np.ndarray) -> pa.Array:
    """One key's values as an Arrow array of the column's JSON type; wrong types flagged, null."""
    values = np.ascontiguousarray(values)  # a column of the row-major table: one copy, then fast reads
    if column.kind == "datetime":
        values = _iso_times(values, given)
    if column.kind == "text":
        # pyarrow takes exactly what the schema's String takes (str, UTF-8 bytes) and refuses the rest.
        try:
            return pa.array(values, type=column.json_type, mask=~given)
        except (pa.ArrowException, UnicodeError):
            pass
    ok = _kinds_ok(values, given, _PYTHON_TYPES[column.kind])
    wrong = given & ~ok
    if wrong.any():
        flag |= wrong & ~_is(values, None)  # a given None is a null, for the validator to judge
    if column.kind in NUMERIC:
        numbers = np.zeros(len(values))
        rows = np.flatnonzero(ok)
        too_large = np.zeros(len(rows), dtype=bool)
        numbers[rows] = _floats(values[rows], too_large)
        flag[rows[too_large]] = True
        return pa.array(numbers, mask=~ok)
    if column.kind == "strings":
        # pyarrow refuses items that are not str (or UTF-8 bytes, which the schema takes too).
        try:
            return pa.array(values, type=column.json_type, mask=~ok)
        except (pa.ArrowException, UnicodeError):
            bad = np.zeros(len(values), dtype=bool)
            bad[ok] = [any(type(t) is not str or not _encodable(t) for t in v) for v in values[ok]]
            flag |= bad
            ok = ok & ~bad
    try:
        return pa.array(values, type=column.json_type, mask=~ok)
    except UnicodeEncodeError:  # a lone surrogate: the schema refuses it, with the field's name
        bad = ok & np.fromiter((type(v) is str and not _encodable(v) for v in values), dtype=bool,
                               count=len(values))
        flag |= bad
        return pa.array(values, type=column.json_type, mask=~(ok & ~bad))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_level(objs: Sequence, level: tuple[str, ...], present: np.ndarray, parsed: Parsed) -> None:
    """Read every key of one object level into ``parsed.keys``; non-objects are flagged."""
    n, flag = len(objs), parsed.flag
    if present.all() and set(map(type, objs)) == {dict}:
        rows = None
        values, missing = _table(objs if isinstance(objs, list) else list(objs), LEVEL_KEYS[level])
    else:
        is_dict = np.fromiter((type(v) is dict for v in objs), dtype=bool, count=n) & present
        flag |= present & ~is_dict
        rows = np.flatnonzero(is_dict)
        values = np.empty((n, len(LEVEL_KEYS[level])), dtype=object)
        missing = np.ones(values.shape, dtype=bool)
        values[rows], missing[rows] = _table([objs[i] for i in rows.tolist()], LEVEL_KEYS[level])
    for j, key in enumerate(LEVEL_KEYS[level]):
        path, given = level + (key,), ~missing[:, j]
        if path in LEVEL_KEYS:  # a nested object
            parsed.keys[path] = (None, given)
            _read_level(values[:, j], path, given, parsed)
        else:
            parsed.keys[path] = (values[:, j], given)


def parse_records(records: list) -> Parsed:
    """Read raw session records (anything; what is not a dict is flagged) into a :class:`Parsed`."""
    n = len(records)
    parsed = Parsed(n, {}, np.zeros(n, dtype=bool), records.__getitem__, _typed)
    with gc_paused():
        _read_level(records, (), np.ones(n, dtype=bool), parsed)
    return parsed
