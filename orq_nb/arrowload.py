"""Fast path for session files: pyarrow's C++ JSON reader, when pyarrow is installed.

A JSON array of sessions is rewritten in place to JSON lines (one session per
line), parsed by ``pyarrow.json`` against a schema derived from the columns,
and checked column by column with the rules :mod:`orq_nb.fastload` applies to
in-memory records (its ``flag_lengths``, ``flag_numbers``, ``parse_times``). Anything this path is not
sure of (a value of the wrong JSON type, duplicate keys, envelopes, an
ambiguous null) makes it give up the file or flag the record, so that results
never differ from the plain Python reader.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from orq_nb.columns import COLUMNS, TEXT_DTYPE
from orq_nb.fastload import (
    LEVEL_GROUPS,
    LEVEL_KEYS,
    VALIDATORS,
    flag_lengths,
    flag_numbers,
    gc_paused,
    parse_times,
)

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pa_json
except ImportError:  # the "fast" extra is not installed
    pa = None

__all__ = ["available", "array_to_lines", "read_lines"]

_BLOCK = 1 << 24
_SPACE = (32, 9, 10, 13)
_OPEN, _CLOSE = (ord("{"), ord("[")), (ord("}"), ord("]"))


def _brackets(buf: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of brackets in ``buf`` and their steps (+1 opens, -1 closes)."""
    mask = mask[: len(buf)]
    np.equal(buf, _OPEN[0], out=mask)
    for char in (*_OPEN[1:], *_CLOSE):
        mask |= buf == char
    marks = np.flatnonzero(mask)
    chars = buf[marks]
    steps = np.where((chars == _OPEN[0]) | (chars == _OPEN[1]), 1, -1)
    return marks, steps


def available() -> bool:
    """Return whether pyarrow is importable."""
    return pa is not None


def _arrow_type(kind: str):
    return {"text": pa.string(), "datetime": pa.string(), "number": pa.float64(),
            "strings": pa.list_(pa.string())}[kind]


def _schema(level: tuple = ()) -> pa.Schema:
    """Every key read at ``level``, typed from its column; parents become structs."""
    types: dict[str, Any] = {}
    for column in COLUMNS:
        path = column.path
        if path[: len(level)] != level or len(path) <= len(level):
            continue
        aliases = path[len(level)]
        kind = _arrow_type(column.kind) if len(path) == len(level) + 1 else pa.struct(
            _schema(level + (aliases,)))
        for key in aliases:
            types[key] = kind
    fields = [pa.field(key, types[key]) for key in LEVEL_KEYS[level]]
    if not level:
        # A page envelope's "data" must never pass for a session: make it an error.
        fields.append(pa.field("data", pa.null()))
    return pa.schema(fields)


def _first_non_space(view: np.ndarray, pos: np.ndarray, limit: int = 64) -> np.ndarray | None:
    """For each start, the position of the first non-blank byte (None if too far)."""
    pos = pos.copy()
    for _ in range(limit):
        pos = np.minimum(pos, len(view) - 1)
        blank = np.isin(view[pos], _SPACE)
        if not blank.any():
            return pos
        pos[blank] += 1
    return None


def array_to_lines(data: bytearray) -> np.ndarray | None:
    """Rewrite a compact JSON array of objects, in place, as one object per line.

    Only brackets are tracked (not strings), block by block: the comma after
    each ``}`` that returns to the array's depth becomes a newline. A bracket
    inside a string can only break the split, and a broken split fails to
    parse or to give one row per line, so the caller then falls back to the
    plain reader; so does any array with line breaks in it (pretty-printed, or
    a raw line break inside a string, which is not JSON). Returns the start of
    each line, or None.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    head = _first_non_space(view, np.array([0]), 4096)
    if head is None or view[head[0]] != ord("["):
        return None
    opened, depth, closed, ends = int(head[0]), 0, -1, []
    mask = np.empty(min(_BLOCK, len(view)), dtype=bool)
    for base in range(0, len(view), _BLOCK):
        marks, steps = _brackets(view[base : base + _BLOCK], mask)
        after = depth + np.cumsum(steps, dtype=np.int64)
        if len(after) and after.min() < 0:
            return None
        zero = np.flatnonzero(after == 0)
        if len(zero):
            closed = base + int(marks[zero[0]])
            marks, steps, after = marks[: zero[0]], steps[: zero[0]], after[: zero[0]]
        ends.append(base + marks[(steps == -1) & (after == 1)])
        depth = int(after[-1]) if len(after) else depth
        if closed >= 0:
            break
    if closed < 0 or not np.isin(view[closed + 1 :], _SPACE).all():
        return None
    if data.find(b"\n", opened, closed) >= 0 or data.find(b"\r", opened, closed) >= 0:
        return None
    ends = np.concatenate(ends)
    if not len(ends):
        return None
    commas = _first_non_space(view, ends + 1)
    if commas is None or (view[commas[:-1]] != ord(",")).any() or commas[-1] != closed:
        return None
    view[commas[:-1]] = 10
    view[opened] = view[closed] = 32
    return np.concatenate([[0], commas[:-1] + 1]).astype(np.int64)


def _objects_only(data: bytearray, starts: np.ndarray, indent: int = 64) -> bool:
    """Whether every line's first non-blank character opens an object."""
    view = np.frombuffer(data, dtype=np.uint8)
    if not len(view):
        return False
    first = _first_non_space(view, starts, indent)
    return first is not None and bool((view[first] == ord("{")).all())


class _Lines:
    """The text of each line, zero-copy over the buffer, and which ones say ``null``."""

    def __init__(self, data: bytearray, starts: np.ndarray) -> None:
        offsets = np.append(starts, len(data)).astype(np.int64)
        self.text = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data))
        self._any_null = data.find(b"null") >= 0
        self._nulls: np.ndarray | None = None

    def with_null(self, rows: np.ndarray) -> np.ndarray:
        """The given rows whose line contains ``null`` somewhere."""
        if not self._any_null:
            return rows[:0]
        if self._nulls is None:
            self._nulls = pc.match_substring(self.text, "null").to_numpy(zero_copy_only=False)
        return rows[self._nulls[rows]]


def _level(arrays: dict[str, pa.Array], level: tuple, lines, flag, levels) -> None:
    """Fill ``levels[level]`` with ``{key: (array, given)}``, and nested levels below it."""
    read = {}
    for key in LEVEL_KEYS[level]:
        array = arrays[key]
        given = ~array.is_null().to_numpy(zero_copy_only=False)
        if pa.types.is_struct(array.type):
            inner = level + (_ALIASES[key],)
            children = {f.name: pc.struct_field(array, [i]) for i, f in enumerate(array.type)}
            _level(children, inner, lines, flag, levels)
        read[key] = (array, given)
    _settle_nulls(read, level, lines, flag)
    levels[level] = read


_ALIASES = {alias: aliases for c in COLUMNS for aliases in c.path for alias in aliases}


def _settle_nulls(read: dict, level: tuple, lines, flag: np.ndarray) -> None:
    """A null reads as an absent key, unless the line shows the key holding null.

    That matters only where another alias of the field is given (a clash the
    schema refuses): such rows are checked against their text.
    """
    for aliases in LEVEL_GROUPS[level]:
        if len(aliases) < 2:
            continue
        for alias in aliases:
            others = np.logical_or.reduce([read[a][1] for a in aliases if a != alias])
            rows = np.flatnonzero(~read[alias][1] & others)
            if not len(rows):
                continue
            rows = lines.with_null(rows)
            if not len(rows):
                continue
            text = lines.text.take(pa.array(rows))
            pattern = '"' + re.escape(alias) + r'"\s*:\s*null'
            named = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
            unsure = pc.match_substring(text, "\\").to_numpy(zero_copy_only=False)
            flag[rows[unsure & ~named]] = True
            read[alias][1][rows[named]] = True  # present, holding null


def _resolve(read: dict, aliases: tuple[str, ...], flag: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    array, given = read[aliases[0]]
    for alias in aliases[1:]:
        other, other_given = read[alias]
        if not other_given.any():
            continue
        flag |= given & other_given
        array = pc.coalesce(array, other)
        given = given | other_given
    return array, given


def _check(column, array: pa.Array, given: np.ndarray, flag: np.ndarray):
    field = column.field
    if field.required:
        flag |= ~given
    ok = given & ~array.is_null().to_numpy(zero_copy_only=False)
    if not field.allow_none:
        flag |= given & ~ok
    validators = VALIDATORS[column.name]
    if column.kind == "text":
        if validators:
            lengths = pc.utf8_length(array).to_numpy(zero_copy_only=False)
            flag_lengths(lengths, ok, validators, flag)
        return pd.array(array, dtype=TEXT_DTYPE)
    if column.kind == "number":
        numbers = array.to_numpy(zero_copy_only=False)
        flag_numbers(numbers, ok, validators, flag)
        return numbers
    if column.kind == "datetime":
        return parse_times(pd.Series(pd.array(array, dtype=TEXT_DTYPE)), ok, flag)
    return _string_lists(array, flag)


def _string_lists(array, flag: np.ndarray) -> np.ndarray:
    """Python lists of str, one per row ([] where null), sharing one str per distinct value."""
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    items = pc.list_flatten(array)
    if items.null_count:
        holders = pc.list_parent_indices(array).to_numpy()[items.is_null().to_numpy(zero_copy_only=False)]
        flag[holders] = True
    encoded = pc.dictionary_encode(items)
    shared = np.array(encoded.dictionary.to_pylist() + [None], dtype=object)
    codes = encoded.indices.fill_null(len(shared) - 1).to_numpy()
    flat = shared[codes].tolist()
    offsets = pc.list_value_length(array).fill_null(0).to_numpy().cumsum()
    starts = np.concatenate([[0], offsets[:-1]]).tolist()
    lists = (flat[a:b] for a, b in zip(starts, offsets.tolist(), strict=True))
    return np.fromiter(lists, dtype=object, count=len(array))


def check_arrow(levels: dict, flag: np.ndarray) -> dict[str, Any]:
    """Resolve aliases and check every column of a parsed table."""
    out = {}
    for column in COLUMNS:
        level: tuple = ()
        for aliases in column.parents:
            _, given = _resolve(levels[level], aliases, flag)
            flag |= ~given
            level = level + (aliases,)
        array, given = _resolve(levels[level], column.aliases, flag)
        out[column.name] = _check(column, array, given, flag)
    return out


def read_lines(data: bytearray, starts: np.ndarray):
    """Parse JSON lines with pyarrow and check them; None when pyarrow cannot.

    Returns ``(values, flagged, records)`` as :func:`orq_nb.fastload.columnar`
    does, plus a function giving the raw record of row ``i`` for the schema.
    """
    if not _objects_only(data, starts):
        return None  # pyarrow may crash on a line that is not an object: leave it to Python
    schema = _schema()
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pa_json.read_json(pa.py_buffer(data), parse_options=options,
                                  read_options=pa_json.ReadOptions(block_size=1 << 24))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(starts):
        return None
    lines = _Lines(data, starts)
    flag = np.zeros(table.num_rows, dtype=bool)
    with gc_paused():
        columns = {name: table.column(name) for name in table.column_names}
        levels: dict = {}
        _level(columns, (), lines, flag, levels)
        values = check_arrow(levels, flag)

    def record(i: int) -> Any:
        return json.loads(lines.text[i].as_py())

    return values, flag, record
