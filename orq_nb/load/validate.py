"""The one validator: the schema's rules over typed Arrow arrays, column by column.

A source (:mod:`~orq_nb.load.from_json`, :mod:`~orq_nb.load.from_arrow`,
:mod:`~orq_nb.load.from_records`) hands over a :class:`Parsed` batch: for each
key it read, under any key style, a typed Arrow array and where the key was
given. :func:`validate` folds the key styles into one column each, checks every
rule the schema states, and *flags* each row it cannot vouch for; marshmallow
judges exactly those rows, so flagging too much costs time, never correctness.
The rules are read from the schema's fields and validators; one this module
cannot mirror is refused at import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from marshmallow import validate as rules

from orq_nb.load.columns import COLUMNS, DATETIME_DTYPE, TEXT_DTYPE, Column
from orq_nb.load.fields import ISO_DATETIME

__all__ = ["Parsed", "validate", "valid_mask", "VALIDATORS"]

_ISO_FULL = "^(?:" + ISO_DATETIME + ")$"
_MICROS = pa.timestamp("us", tz="UTC")
#: The instants the schema accepts (years 1-9999 UTC), in microseconds since the epoch.
_FIRST_US = pa.scalar(dt.datetime(1, 1, 1, tzinfo=dt.UTC), _MICROS).cast(pa.int64())
_LAST_US = pa.scalar(dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), _MICROS).cast(pa.int64())


@dataclass
class Parsed:
    """A batch of session records as typed Arrow arrays, before any rule is checked.

    Attributes
    ----------
    size : int
        Records in the batch.
    keys : dict
        Key path (e.g. ``("billing", "inputCost")``) to ``(array, given)``: the
        values as the column's JSON type (None for an object level) and a bool
        mask of the records that gave the key (a null given counts).
    flag : numpy.ndarray of bool
        Records the source already knows marshmallow must judge (a value of
        the wrong JSON type, a record that is not an object, ...).
    record_at : callable
        The raw record at a position, for marshmallow and for rejects.
    typed : callable, optional
        For a source that hands over Python objects (numpy object arrays):
        ``typed(column, values, given, flag)`` returns them as an Arrow array
        of the column's JSON type, flagging values of the wrong type. Called
        once per column, after the key styles are folded.
    """

    size: int
    keys: dict[tuple[str, ...], tuple[pa.Array | np.ndarray | None, np.ndarray]]
    flag: np.ndarray
    record_at: Callable[[int], Any]
    typed: Callable[[Column, np.ndarray, np.ndarray, np.ndarray], pa.Array] | None = None
    #: Count column name -> positions whose value has a fraction (flagged: the schema rounds them).
    fractions: dict[str, np.ndarray] = field(default_factory=dict)

    def release(self) -> None:
        """Drop the arrays and the raw records (and with them the source's buffers)."""
        self.keys.clear()
        self.record_at = _released
        self.typed = None
        pa.default_memory_pool().release_unused()  # hand Arrow's freed blocks back to the system


def _released(i: int) -> Any:
    raise RuntimeError("this batch was loaded and released; parse the source again")


def _supported(column: Column) -> tuple:
    """The column's validators, refusing any this module cannot mirror."""
    known = {"text": rules.Length, "number": rules.Range, "count": rules.Range}
    for validator in column.field.validators:
        if type(validator) is not known.get(column.kind):
            raise TypeError(f"the validator cannot mirror {validator!r} on {column.name!r}")
    return tuple(column.field.validators)


VALIDATORS = {column.name: _supported(column) for column in COLUMNS}


def valid_mask(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Where ``array`` holds a value (not null), as a numpy bool array."""
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _resolve(parsed: Parsed, column: Column) -> tuple[pa.Array, np.ndarray]:
    """One column from its keys in every style; a record giving several is flagged."""
    prefix = column.wire_path[:-1]
    array, given = None, np.zeros(parsed.size, dtype=bool)
    for alias in column.aliases:
        entry = parsed.keys.pop(prefix + (alias,), None)  # consumed: its memory goes as we go
        if entry is None or not entry[1].any():
            continue
        other, other_given = entry
        if array is None:
            array, given = other, other_given
            continue
        parsed.flag |= given & other_given  # both styles: the schema compares the values
        array = np.where(given, array, other) if isinstance(array, np.ndarray) else pc.coalesce(array, other)
        given = given | other_given
    if array is None:
        return pa.nulls(parsed.size, column.json_type), given
    if isinstance(array, np.ndarray):
        array = parsed.typed(column, array, given, parsed.flag)
    return array, given


def _flag_lengths(array: pa.Array, ok: np.ndarray, validators: tuple, flag: np.ndarray) -> None:
    if not validators:
        return
    lengths = pc.utf8_length(array).fill_null(-1).to_numpy(zero_copy_only=False)
    for rule in validators:
        if rule.equal is not None:
            flag |= ok & (lengths != rule.equal)
        if rule.min is not None:
            flag |= ok & (lengths < rule.min)
        if rule.max is not None:
            flag |= ok & (lengths > rule.max)


def _flag_numbers(array: pa.Array, ok: np.ndarray, validators: tuple, flag: np.ndarray) -> np.ndarray:
    """Flag numbers the rules refuse; return the numbers."""
    numbers = array.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(numbers)
        for rule in validators:
            if rule.min is not None:
                bad |= (numbers < rule.min) if rule.min_inclusive else (numbers <= rule.min)
            if rule.max is not None:
                bad |= (numbers > rule.max) if rule.max_inclusive else (numbers >= rule.max)
    flag |= ok & bad
    return numbers


def _counts(array: pa.Array, ok: np.ndarray, validators: tuple,
            flag: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """A count column as int64, and where a value has a fraction: flagged, for the schema to round and the
    loader to report (flagged values here are meaningless, 0)."""
    refused = np.zeros_like(flag)
    numbers = _flag_numbers(array, ok, validators, refused)
    with np.errstate(invalid="ignore"):
        fraction = ok & ~refused & (numbers != np.floor(numbers))
    flag |= refused | fraction
    keep = ok & ~flag
    return pa.array(np.where(keep, numbers, 0).astype(np.int64), mask=~ok), np.flatnonzero(fraction)


def _times(array: pa.Array, ok: np.ndarray, flag: np.ndarray) -> pa.Array:
    """ISO 8601 strings (or Arrow timestamps) as UTC microseconds; flag what the schema refuses."""
    if pa.types.is_timestamp(array.type):
        stamps = _micros(array)
    else:
        shaped = pc.match_substring_regex(array, _ISO_FULL).fill_null(False)
        text = array if pc.all(shaped).as_py() is not False else pc.if_else(shaped, array, None)
        try:  # Arrow's parser takes the common forms; pandas' the rest (naive, 7-9 digits, ...)
            stamps = pc.cast(text, _MICROS, safe=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            parsed = pd.to_datetime(pd.Series(pd.array(text, dtype=TEXT_DTYPE)), utc=True, format="ISO8601",
                                    errors="coerce")
            stamps = pa.array(parsed.astype(DATETIME_DTYPE).array, type=_MICROS)
    micros = stamps.cast(pa.int64())
    in_range = pc.and_(pc.greater_equal(micros, _FIRST_US), pc.less_equal(micros, _LAST_US))
    flag |= ok & ~in_range.fill_null(False).to_numpy(zero_copy_only=False)
    return stamps


def _micros(array: pa.Array) -> pa.Array:
    """Arrow timestamps as UTC microseconds, finer units truncated as the schema truncates digits."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type.unit != "ns":  # us is exact; ms and s scale up exactly
        return pc.cast(array, pa.timestamp("us", tz=array.type.tz or "UTC")).cast(_MICROS)
    ticks = array.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    valid = valid_mask(array)
    whole = np.floor_divide(ticks, 1000)  # floor, also before 1970
    return pa.array(whole, type=pa.int64(), mask=~valid).cast(_MICROS)


def _flag_null_items(array: pa.Array | pa.ChunkedArray, flag: np.ndarray) -> None:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    items = pc.list_flatten(array)
    if items.null_count:
        holders = pc.list_parent_indices(array).to_numpy()
        flag[holders[~valid_mask(items)]] = True


def _check(column: Column, array: pa.Array, given: np.ndarray, flag: np.ndarray,
           parsed_fractions: dict[str, np.ndarray]) -> pa.Array:
    """Check one column's rules; return it in its validated Arrow type."""
    field = column.field
    ok = given & valid_mask(array)
    if field.required:
        flag |= ~given
    if not field.allow_none:
        flag |= given & ~ok
    validators = VALIDATORS[column.name]
    if column.kind == "text":
        _flag_lengths(array, ok, validators, flag)
    elif column.kind == "number":
        _flag_numbers(array, ok, validators, flag)
    elif column.kind == "count":
        counts, fractions = _counts(array, ok, validators, flag)
        if len(fractions):
            parsed_fractions[column.name] = fractions
        return counts
    elif column.kind == "datetime":
        return _times(array, ok, flag)
    else:
        _flag_null_items(array, flag)
    return array


def validate(parsed: Parsed) -> dict[str, pa.Array]:
    """Fold key styles and check every rule; flags go to ``parsed.flag``.

    The arrays of ``parsed.keys`` are consumed (popped) on the way.

    Returns
    -------
    dict
        Column name to an Arrow array of ``parsed.size`` in the column's
        validated type. Values at flagged positions are meaningless.
    """
    flag = parsed.flag
    checked_parents: set[tuple[str, ...]] = set()
    out = {}
    for column in COLUMNS:
        for depth in range(1, len(column.path)):
            parent = column.wire_path[:depth]
            if parent not in checked_parents:
                # Nested objects are required and not nullable (the schema's billing and usage).
                entry = parsed.keys.get(parent)
                flag |= ~entry[1] if entry is not None else True
                checked_parents.add(parent)
        array, given = _resolve(parsed, column)
        out[column.name] = _check(column, array, given, flag, parsed.fractions)
        _flag_invalid_utf8(out[column.name], flag)
    return out


def _flag_invalid_utf8(array: Any, flag: np.ndarray) -> None:
    """Flag rows whose text is not valid UTF-8 (pyarrow's JSON reader passes such bytes through).

    The schema then rejects each with the field named; a frame never holds a string
    that would raise on display or kill the process when written out.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not isinstance(array, pa.Array):
        return
    strings = array.flatten() if pa.types.is_list(array.type) or pa.types.is_large_list(array.type) else array
    if not (pa.types.is_string(strings.type) or pa.types.is_large_string(strings.type)):
        return
    try:
        strings.validate(full=True)
        return
    except pa.ArrowInvalid:
        pass
    raw = strings.cast(pa.large_binary()).to_pylist()
    bad = np.zeros(len(raw), dtype=bool)
    for i, value in enumerate(raw):
        if value is not None:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                bad[i] = True
    if strings is array:
        flag |= bad
    else:  # a list column: the rows of the bad values
        rows = pc.list_parent_indices(array).to_numpy()
        flag[np.unique(rows[bad])] = True
