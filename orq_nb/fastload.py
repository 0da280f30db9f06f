"""Columnar validation of session records, derived rule for rule from the schema.

:func:`columnar` reads all the keys of a batch of raw records at once and
checks the schema's rules with vectorised operations. Any record it cannot
vouch for is *flagged*; the caller runs marshmallow on exactly those, so
flagging too much costs time, never correctness. Records it does not flag must
be ones ``SessionSchema`` loads, to the same values.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd
from marshmallow import validate

from orq_nb.columns import COLUMNS, DATETIME_DTYPE, TEXT_DTYPE, Column
from orq_nb.fields import ISO_DATETIME

try:  # the "fast" extra: build str columns straight in Arrow
    import pyarrow as pa
except ImportError:  # pragma: no cover - depends on the install
    pa = None

try:  # pandas' own reader of dict rows (what DataFrame(list_of_dicts) uses)
    from pandas._libs.lib import dicts_to_array
except ImportError:  # pragma: no cover - depends on the pandas build
    dicts_to_array = None

__all__ = [
    "columnar", "assemble", "from_loaded", "gc_paused", "LEVEL_KEYS", "LEVEL_GROUPS",
    "VALIDATORS",
    "flag_lengths", "flag_numbers", "parse_times",
]

_NUMBER = frozenset({int, float})
_BASE_TYPES = {"text": {str}, "number": set(_NUMBER), "strings": {list}, "datetime": {str}}
_FIRST_UTC = pd.Timestamp("0001-01-01", tz="UTC")
_LAST_UTC = pd.Timestamp("9999-12-31 23:59:59.999999", tz="UTC")
_MISSING = object()
_BLOCK = 512


def _supported(column: Column) -> tuple:
    """Return the column's validators, refusing any this module cannot mirror."""
    known = {"text": validate.Length, "number": validate.Range}
    for validator in column.field.validators:
        if type(validator) is not known.get(column.kind):
            raise TypeError(f"fastload cannot mirror {validator!r} on {column.name!r}")
    return tuple(column.field.validators)


def _level_groups() -> dict[tuple, list[tuple[str, ...]]]:
    """For each level of nesting (a path of parent aliases), the alias groups read there."""
    levels: dict[tuple, list[tuple[str, ...]]] = {}
    for column in COLUMNS:
        for depth, aliases in enumerate(column.path):
            groups = levels.setdefault(column.path[:depth], [])
            if aliases not in groups:
                groups.append(aliases)
    return levels


VALIDATORS = {column.name: _supported(column) for column in COLUMNS}
LEVEL_GROUPS = _level_groups()
LEVEL_KEYS = {level: [key for group in groups for key in group] for level, groups in LEVEL_GROUPS.items()}


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


def _is(values: np.ndarray, obj: object) -> np.ndarray:
    """Elementwise identity test (``==`` would compare element contents)."""
    found = np.fromiter((v is obj for v in values.flat), dtype=bool, count=values.size)
    return found.reshape(values.shape)


def _slow_table(objs: Sequence[dict], keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``keys`` from each dict in plain Python, block by block while in cache."""
    n, width = len(objs), len(keys)
    values = np.empty((n, width), dtype=object)
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
        return _slow_table(objs, keys)
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
            values[redo], missing[redo] = _slow_table([objs[i] for i in redo], keys)
    return values, missing


def _resolve(table: dict, aliases: tuple[str, ...], flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One field's values under any of its aliases; flag objects giving several."""
    values, missing = table[aliases[0]]
    for alias in aliases[1:]:
        other, other_missing = table[alias]
        if other_missing.all():
            continue
        flag |= ~missing & ~other_missing
        values = np.where(missing, other, values)
        missing = missing & other_missing
    return values, missing


def _read_level(objs: list, keys: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    values, missing = _table(objs, keys)
    return {key: (values[:, j], missing[:, j]) for j, key in enumerate(keys)}


def _objects(values: Sequence, present: np.ndarray, flag: np.ndarray, keys: list[str]):
    """Read the nested objects at ``present`` positions; anything but a dict is flagged."""
    if set(map(type, values)) == {dict}:
        return _read_level(values if isinstance(values, list) else values.tolist(), keys)
    is_dict = np.fromiter((type(v) is dict for v in values), dtype=bool, count=len(values))
    flag |= present & ~is_dict
    rows = np.flatnonzero(is_dict)
    inner = _read_level([values[i] for i in rows.tolist()], keys)
    out = {}
    for key, (vals, miss) in inner.items():
        full_vals = np.empty(len(values), dtype=object)
        full_miss = np.ones(len(values), dtype=bool)
        full_vals[rows], full_miss[rows] = vals, miss
        out[key] = (full_vals, full_miss)
    return out


def _kinds_ok(values: np.ndarray, given: np.ndarray, allowed: frozenset) -> np.ndarray:
    """Mask of given values whose type is in ``allowed``."""
    if set(map(type, values if given.all() else values[given])) <= allowed:
        return given
    return given & np.fromiter((type(v) in allowed for v in values), dtype=bool, count=len(values))


def flag_lengths(lengths: np.ndarray, ok: np.ndarray, validators: tuple, flag: np.ndarray) -> None:
    """Flag given strings whose length breaks a ``Length`` rule."""
    for rule in validators:
        if rule.equal is not None:
            flag |= ok & (lengths != rule.equal)
        if rule.min is not None:
            flag |= ok & (lengths < rule.min)
        if rule.max is not None:
            flag |= ok & (lengths > rule.max)


def flag_numbers(numbers: np.ndarray, ok: np.ndarray, validators: tuple, flag: np.ndarray) -> None:
    """Flag given numbers that are not finite or break a ``Range`` rule."""
    bad = ~np.isfinite(numbers)
    for rule in validators:
        if rule.min is not None:
            bad |= (numbers < rule.min) if rule.min_inclusive else (numbers <= rule.min)
        if rule.max is not None:
            bad |= (numbers > rule.max) if rule.max_inclusive else (numbers >= rule.max)
    flag |= ok & bad


def parse_times(text: pd.Series, ok: np.ndarray, flag: np.ndarray):
    """Parse ISO 8601 strings to UTC; flag given ones the schema would refuse."""
    shaped = text.str.fullmatch(ISO_DATETIME).to_numpy(dtype=bool, na_value=False)
    stamps = pd.to_datetime(text.where(shaped), utc=True, format="ISO8601", errors="coerce")
    in_range = (stamps >= _FIRST_UTC) & (stamps <= _LAST_UTC)
    flag |= ok & ~in_range.to_numpy(dtype=bool, na_value=False)
    return stamps.astype(DATETIME_DTYPE).array


def _strings_array(values: np.ndarray, ok: np.ndarray):
    """A pandas str array of ``values`` where ``ok`` (str objects there), missing elsewhere."""
    if not ok.all():
        values = np.where(ok, values, None)
    if pa is None:
        return pd.array(values, dtype=TEXT_DTYPE)
    return pd.array(pa.array(values, type=pa.large_string()), dtype=TEXT_DTYPE)


def _text(values, ok, validators, flag):
    if validators:
        lengths = np.fromiter((len(v) if k else -1 for v, k in zip(values, ok, strict=True)),
                              dtype=np.int64, count=len(values))
        flag_lengths(lengths, ok, validators, flag)
    return _strings_array(values, ok)


def _floats(values: np.ndarray, flag: np.ndarray) -> np.ndarray:
    try:
        return values.astype(np.float64)
    except OverflowError:
        out = np.empty(len(values))
        for i, v in enumerate(values):
            try:
                out[i] = float(v)
            except OverflowError:
                out[i], flag[i] = np.nan, True
        return out


def _number(values, ok, validators, flag):
    numbers = np.full(len(values), np.nan)
    rows = np.flatnonzero(ok)
    too_large = np.zeros(len(rows), dtype=bool)
    numbers[rows] = _floats(values[rows], too_large)
    flag[rows[too_large]] = True
    flag_numbers(numbers, ok, validators, flag)
    return numbers


def _strings(values, ok, validators, flag):
    lists = values[ok]
    if not set(map(type, chain.from_iterable(lists))) <= {str}:
        not_str = np.zeros(len(values), dtype=bool)
        not_str[ok] = [any(type(t) is not str for t in v) for v in lists]
        flag |= not_str
    if ok.all():
        return values
    lists = (v if k else [] for v, k in zip(values, ok, strict=True))
    return np.fromiter(lists, dtype=object, count=len(values))


def _datetime(values, ok, validators, flag):
    return parse_times(pd.Series(_strings_array(values, ok)), ok, flag)


_CONVERT = {"text": _text, "number": _number, "strings": _strings, "datetime": _datetime}


def _column(column: Column, values: np.ndarray, missing: np.ndarray, flag: np.ndarray):
    field = column.field
    given = ~missing
    if field.required:
        flag |= missing
    ok = _kinds_ok(values, given, frozenset(_BASE_TYPES[column.kind]))
    wrong = given & ~ok
    if field.allow_none and wrong.any():
        wrong &= ~_is(values, None)
    flag |= wrong
    return _CONVERT[column.kind](values, ok, VALIDATORS[column.name], flag)


def columnar(records: list) -> tuple[dict[str, Any], np.ndarray]:
    """Read and check every column of ``records`` at once.

    Parameters
    ----------
    records : list
        Raw session records (anything; what is not a dict is flagged).

    Returns
    -------
    values : dict
        Column name to an array of ``len(records)``, in the column's dtype.
        Values at flagged positions are meaningless.
    flagged : numpy.ndarray of bool
        Records the schema must judge one by one.
    """
    n = len(records)
    flag = np.zeros(n, dtype=bool)
    out: dict[str, Any] = {}
    with gc_paused():
        levels = {(): _objects(records, np.ones(n, dtype=bool), flag, LEVEL_KEYS[()])}
        for column in COLUMNS:
            level: tuple = ()
            for aliases in column.parents:
                inner = level + (aliases,)
                if inner not in levels:
                    values, missing = _resolve(levels[level], aliases, flag)
                    flag |= missing
                    levels[inner] = _objects(values, ~missing, flag, LEVEL_KEYS[inner])
                level = inner
            values, missing = _resolve(levels[level], column.aliases, flag)
            out[column.name] = _column(column, values, missing, flag)
    return out, flag


def assemble(values: dict[str, Any], keep: np.ndarray | None = None) -> pd.DataFrame:
    """Build the sessions frame from column arrays, keeping rows where ``keep``."""
    if keep is not None:
        values = {name: array[keep] for name, array in values.items()}
    return pd.DataFrame({c.name: values[c.name] for c in COLUMNS}, copy=False)


def _dig(record: dict, attrs: tuple[str, ...]) -> Any:
    for attr in attrs:
        record = record.get(attr)
        if record is None:
            return None
    return record


def from_loaded(loaded: list[dict]) -> dict[str, Any]:
    """Column arrays, as :func:`columnar` gives them, for records the schema loaded."""
    unused = np.zeros(len(loaded), dtype=bool)
    out: dict[str, Any] = {}
    for column in COLUMNS:
        raw = np.fromiter((_dig(r, column.attrs) for r in loaded), dtype=object, count=len(loaded))
        if column.kind == "datetime":
            stamps = pd.to_datetime(pd.Series(raw, dtype=object), utc=True)
            out[column.name] = stamps.astype(DATETIME_DTYPE).array
        else:
            ok = ~_is(raw, None)
            out[column.name] = _CONVERT[column.kind](raw, ok, (), unused)
    return out
