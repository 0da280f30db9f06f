"""JSON bytes into typed Arrow arrays with pyarrow's C++ JSON reader.

JSON lines are parsed as they are; a compact JSON array is first rewritten in
place to one item per line. Items may be sessions or list pages (envelopes,
whose ``data`` lists are flattened). The parse uses an explicit schema derived
from the columns, every key style included. Whatever this path is not sure of
(a value of the wrong JSON type, a line that is not an object, blank lines, a
pretty-printed array) makes :func:`parse_json` return None, and the caller
reads the same bytes with Python's ``json`` instead: the results never differ.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from orq_nb.load.columns import COLUMN_AT, LEVEL_GROUPS, LEVEL_KEYS
from orq_nb.load.from_arrow import read_levels
from orq_nb.load.from_records import gc_paused
from orq_nb.load.validate import Parsed

__all__ = ["parse_json", "array_to_lines", "line_starts"]

_BLOCK = 1 << 24
_MAX_BLOCK = (1 << 31) - 1
_SPACE = (32, 9, 10, 13)
_OPEN, _CLOSE = (ord("{"), ord("[")), (ord("}"), ord("]"))
_ENVELOPE_HEAD = re.compile(rb'\s*\{\s*"(?:object|data|has_more|hasMore)"\s*:')


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


def array_to_lines(data: bytearray) -> np.ndarray | None:
    """Rewrite a compact JSON array of objects, in place, as one object per line; see :func:`_split`."""
    split = _split(data)
    return None if split is None else split[0]


def _split(data: bytearray) -> tuple[np.ndarray, int, int] | None:
    """Rewrite a compact JSON array of objects, in place, as one object per line.

    Only brackets are tracked (not strings), block by block: the comma after
    each ``}`` that returns to the array's depth becomes a newline. A bracket
    inside a string can only break the split, and a broken split fails to
    parse or to give one row per line, so the caller then falls back to the
    plain reader; so does any array with line breaks in it (pretty-printed, or
    a raw line break inside a string, which is not JSON). Returns the start of
    each line and the positions of the two brackets it blanked, or None.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    if not len(view):
        return None
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
    return np.concatenate([[0], commas[:-1] + 1]).astype(np.int64), opened, closed


def _undo(data: bytearray, starts: np.ndarray, opened: int, closed: int) -> None:
    """Restore what :func:`array_to_lines` rewrote, for the reader that takes over."""
    view = np.frombuffer(data, dtype=np.uint8)
    view[starts[1:] - 1] = ord(",")
    view[opened], view[closed] = ord("["), ord("]")


def line_starts(data: bytearray) -> np.ndarray | None:
    """Start of every line of JSON lines; None if any line is blank."""
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    if len(ends) and ends[-1] == len(view) - 1:
        ends = ends[:-1]
    starts = np.concatenate([[0], ends + 1]).astype(np.int64)
    if (np.diff(np.append(starts, len(view) + 1)) <= 1).any():
        return None
    return starts


def _one_document(data: bytearray) -> np.ndarray | None:
    """A single compact JSON object (such as one list page) as one line, or None."""
    view = np.frombuffer(data, dtype=np.uint8)
    head = _first_non_space(view, np.array([0]), 4096) if len(view) else None
    if head is None or view[head[0]] != ord("{") or len(data) >= _MAX_BLOCK:
        return None
    if data.find(b"\n", 0, len(data.rstrip())) >= 0 or data.find(b"\r") >= 0:
        return None
    return np.array([0], dtype=np.int64)


def _objects_only(data: bytearray, starts: np.ndarray, indent: int = 64) -> bool:
    """Whether every line's first non-blank character opens an object."""
    view = np.frombuffer(data, dtype=np.uint8)
    if not len(view):
        return False
    first = _first_non_space(view, starts, indent)
    return first is not None and bool((view[first] == ord("{")).all())


def _struct(level: tuple[str, ...]) -> list[pa.Field]:
    """Every key read at ``level``, typed from its column; nested objects become structs."""
    fields = []
    for key in LEVEL_KEYS[level]:
        path = level + (key,)
        kind = pa.struct(_struct(path)) if path in LEVEL_KEYS else COLUMN_AT[path].json_type
        fields.append(pa.field(key, kind))
    return fields


# A session line holding "data" is a page, never a session: the null type makes it an error.
_SESSIONS = pa.schema([*_struct(()), pa.field("data", pa.null())])
# A page is a line with a "data" list and one of the page's own keys (as is_envelope decides).
_PAGE_KEYS = ("object", "has_more", "hasMore")
_PAGES = pa.schema([pa.field("data", pa.list_(pa.struct(_struct(())))), pa.field("object", pa.string()),
                    pa.field("has_more", pa.bool_()), pa.field("hasMore", pa.bool_())])


class TooLongNumber:
    """A JSON number with more digits than Python's int parser takes: its record is rejected.

    Neither a number nor a string to the schema, so the field that holds it
    names itself in the reason; the rest of the file loads.
    """

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text)

    def __repr__(self) -> str:
        return f"<a number of {self.digits:,} digits>"


def _parse_int(text: str) -> int | TooLongNumber:
    try:
        return int(text)
    except ValueError:  # past sys.get_int_max_str_digits()
        return TooLongNumber(text)


#: Python's JSON decoder, but a number too long for ``int`` becomes a :class:`TooLongNumber`.
DECODER = json.JSONDecoder(parse_int=_parse_int)


class _Lines:
    """The text of each line, zero-copy over the buffer, and the line of each session."""

    def __init__(self, data: bytearray, starts: np.ndarray, line_of: np.ndarray | None,
                 item_of: np.ndarray | None) -> None:
        offsets = np.append(starts, len(data)).astype(np.int64)
        self.text = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data))
        self.line_of, self.item_of = line_of, item_of
        self._any_null = data.find(b"null") >= 0
        self._nulls: np.ndarray | None = None
        self.decoded = lru_cache(maxsize=4)(lambda line: DECODER.decode(self._line(line)))

    def lines(self, rows: np.ndarray) -> np.ndarray:
        return rows if self.line_of is None else self.line_of[rows]

    def with_null(self, rows: np.ndarray) -> np.ndarray:
        """The given rows whose line contains ``null`` somewhere."""
        if not self._any_null:
            return rows[:0]
        if self._nulls is None:
            self._nulls = pc.match_substring(self.text, "null").to_numpy(zero_copy_only=False)
        return rows[self._nulls[self.lines(rows)]]

    def _line(self, line: int) -> str:
        # Bytes that are not UTF-8 become lone surrogates, which the schema refuses by field.
        return self.text[line].as_buffer().to_pybytes().decode("utf-8", "surrogateescape")

    def record(self, row: int) -> Any:
        """The raw record of a session, decoded from its line by Python's json."""
        if self.line_of is None:
            return DECODER.decode(self._line(row))
        return self.decoded(int(self.line_of[row]))["data"][int(self.item_of[row])]


def _settle_nulls(keys: dict, lines: _Lines, flag: np.ndarray) -> None:
    """A null reads as an absent key, unless the line shows the key holding null.

    That matters only where another style of the same key is given (a clash the
    schema refuses): those rows are checked against their line's text, and
    flagged when the text cannot tell.
    """
    for level, groups in LEVEL_GROUPS.items():
        for aliases in groups:
            if len(aliases) < 2:
                continue
            for alias in aliases:
                given = keys[level + (alias,)][1]
                others = np.logical_or.reduce([keys[level + (a,)][1] for a in aliases if a != alias])
                rows = lines.with_null(np.flatnonzero(~given & others))
                if not len(rows):
                    continue
                text = lines.text.take(pa.array(lines.lines(rows)))
                pattern = '"' + re.escape(alias) + r'"\s*:\s*null'
                named = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
                unsure = pc.match_substring(text, "\\").to_numpy(zero_copy_only=False)
                flag[rows[unsure & ~named]] = True
                given[rows[named]] = True  # present, holding null


def _parse(data: bytearray, schema: pa.Schema, block: int) -> pa.Table | None:
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        return pa_json.read_json(pa.py_buffer(data), parse_options=options,
                                 read_options=pa_json.ReadOptions(block_size=block))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _sessions(data: bytearray, starts: np.ndarray, pages: bool, block: int) -> tuple | None:
    """The session columns, and for pages the line and item of each session."""
    table = _parse(data, _PAGES if pages else _SESSIONS, block)
    if table is None or table.num_rows != len(starts):
        return None
    if not pages:
        return {name: table.column(name) for name in table.column_names}, None, None
    data_column = table.column("data")
    valid = [table.column(key).is_valid() for key in _PAGE_KEYS]
    marked = pc.or_kleene(pc.or_kleene(valid[0], valid[1]), valid[2])
    if data_column.null_count or not pc.all(marked).as_py():
        return None  # a line that is not a page (or a session with a "data" key): leave it to Python
    sessions = pc.list_flatten(data_column)
    line_of, item_of, row = [], [], 0
    for chunk in data_column.chunks:
        parents = pc.list_parent_indices(chunk).to_numpy()
        offsets = chunk.offsets.to_numpy()
        line_of.append(parents + row)
        item_of.append(np.arange(len(parents)) - (offsets[parents] - offsets[0]))
        row += len(chunk)
    columns = {f.name: pc.struct_field(sessions, [i]) for i, f in enumerate(sessions.type)}
    return columns, np.concatenate(line_of), np.concatenate(item_of)


def parse_json(data: bytearray, lines: bool) -> Parsed | None:
    """Parse JSON lines (``lines``) or a compact JSON array or page; None when Python must.

    ``data`` is rewritten in place while parsing (array separators become
    newlines) and restored when this returns None.
    """
    split = None if lines else _split(data)
    parsed = _parse_lines(data, line_starts(data) if lines else split and split[0])
    if parsed is None and split is not None:
        _undo(data, *split)
    return parsed


def _parse_lines(data: bytearray, starts: np.ndarray | None) -> Parsed | None:
    block = _BLOCK
    if starts is None:
        starts = _one_document(data)
        block = max(_BLOCK, len(data) + 1)
    if starts is None or not len(data) or not _objects_only(data, starts):
        return None  # pyarrow may crash on a line that is not an object: leave it to Python
    pages = _ENVELOPE_HEAD.match(data, int(starts[0])) is not None
    with gc_paused():
        found = _sessions(data, starts, pages, block) or _sessions(data, starts, not pages, block)
        if found is None:
            return None
        columns, line_of, item_of = found
        size = len(line_of) if line_of is not None else len(starts)
        lines_ = _Lines(data, starts, line_of, item_of)
        parsed = Parsed(size, {}, np.zeros(size, dtype=bool), lines_.record)
        read_levels(columns, (), parsed.keys, parsed.flag)  # typed by the parse: no cast has work
        _settle_nulls(parsed.keys, lines_, parsed.flag)
    return parsed
