"""``read_sessions``: session files to a DataFrame, each file read once.

Parquet and Feather files go to :mod:`~orq_nb.load.from_arrow`; JSON to
:mod:`~orq_nb.load.from_json`, or, when pyarrow cannot be sure of it, the same
bytes to Python's ``json`` and :mod:`~orq_nb.load.from_records`.
"""

from __future__ import annotations

import io
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from orq_nb.errors import Reject, SessionFileError
from orq_nb.load.frame import Errors, check_errors, finish, load_parsed
from orq_nb.load.from_arrow import parse_table
from orq_nb.load.from_json import DECODER as _DECODER
from orq_nb.load.from_json import parse_json
from orq_nb.load.from_records import gc_paused, is_envelope, page_data, parse_records, session_records

__all__ = ["read_sessions"]

_LINES_SUFFIXES = {".jsonl", ".ndjson"}
#: What read_sessions reads, as said in its errors.
SUPPORTED = "JSON (.json), JSON lines (.jsonl, .ndjson), either gzipped (.gz), Parquet or Feather"
_OTHER_FORMATS = {".csv": "CSV", ".tsv": "TSV", ".xlsx": "Excel", ".xls": "Excel", ".txt": "text",
                  ".xml": "XML", ".avro": "Avro", ".orc": "ORC"}
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NON_SPACE = re.compile(r"[^ \t\n\r]")


class _BadLine:
    """A JSON-lines line that is not JSON: rejected with its parse error."""

    def __init__(self, text: str, number: int, error: json.JSONDecodeError) -> None:
        self.text, self.number, self.error = text, number, error

    def reject(self, position: int) -> Reject:
        reason = f"line {self.number}: invalid JSON: {self.error.msg} (column {self.error.colno})"
        return Reject(position, None, {"(json)": [reason]}, self.text)


def _file_error(name: str, error: json.JSONDecodeError) -> SessionFileError:
    """The error for a document that is not JSON; a name that does not say JSON hears what is read."""
    known = _suffix(name).lower() in {".json", *_LINES_SUFFIXES} or name == "<file>"
    return SessionFileError(
        f"{name} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        + ("" if known else f"; read_sessions reads {SUPPORTED}")
    )


def _array_items(text: str, pos: int, name: str) -> Iterator[Any]:
    """Decode the items of a JSON array one at a time, from just after its ``[``."""
    ws = _WHITESPACE.match
    pos = ws(text, pos).end()
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            try:
                item, pos = _DECODER.raw_decode(text, pos)
            except json.JSONDecodeError as error:
                raise _file_error(name, error) from None
            yield item
            pos = ws(text, pos).end()
            if text.startswith(",", pos):
                pos = ws(text, pos + 1).end()
            elif text.startswith("]", pos):
                pos += 1
                break
            else:
                error = json.JSONDecodeError("Expecting ',' delimiter", text, pos)
                raise _file_error(name, error)
    if ws(text, pos).end() != len(text):
        raise _file_error(name, json.JSONDecodeError("Extra data", text, ws(text, pos).end()))


def _json_records(text: str, name: str) -> Iterator[Any]:
    """Session records of a JSON document: an array, an envelope, or pages of them."""
    start = _WHITESPACE.match(text).end()
    if not text.startswith("[", start):
        try:
            document = _DECODER.decode(text)
        except json.JSONDecodeError as error:
            raise _file_error(name, error) from None
        yield from session_records(document)
        return
    for number, item in enumerate(_array_items(text, start + 1, name)):
        if is_envelope(item):
            yield from page_data(item, number)
        else:
            yield item


def _line_records(lines: IO[str]) -> Iterator[Any]:
    """Session records of JSON lines; a line may also hold a whole list page."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = _DECODER.decode(line)
        except json.JSONDecodeError as error:
            yield _BadLine(line.rstrip("\n"), number, error)
            continue
        if is_envelope(item):
            yield from page_data(item, number)
        else:
            yield item


def _sniff_lines(text: str | bytes) -> bool:
    """Guess JSON lines: a first line that is a whole object, and more after it."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "ignore")  # a prefix may end inside a character
    start = _WHITESPACE.match(text).end()
    end = text.find("\n", start)
    if end < 0 or not text.startswith("{", start) or not _NON_SPACE.search(text, end):
        return False
    try:
        json.loads(text[start:end])
    except json.JSONDecodeError:
        return False
    return True


_PARQUET, _FEATHER, _GZIP = b"PAR1", b"ARROW1", b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"


def _name_of(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", "<file>"))


def _suffix(name: str) -> str:
    """The format suffix of a name, looking through ``.gz``."""
    path = Path(name)
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def _gunzip(f: IO[bytes]) -> tuple[bytearray, bool]:
    """The unzipped bytes of a gzip stream (members one after another), and whether it was cut short.

    Everything before a cut is kept, to the last byte that could be unzipped.
    """
    data, unzip = bytearray(), zlib.decompressobj(wbits=31)
    try:
        while block := f.read(1 << 24):
            while block:
                data += unzip.decompress(block)
                block = unzip.unused_data if unzip.eof else b""
                if unzip.eof and block:
                    unzip = zlib.decompressobj(wbits=31)  # the next member
    except zlib.error:
        return data, True
    return data, not unzip.eof


def _read_all(f: IO[bytes]) -> tuple[bytearray, bool]:
    """Every byte of an open binary file (unzipped if it is gzip), into one buffer; and whether cut."""
    if f.peek(2)[:2] == _GZIP:
        return _gunzip(f)
    size = os.fstat(f.fileno()).st_size
    data = bytearray(size)  # regular files: one allocation, read in place
    got = f.readinto(data) if size else 0
    del data[got:]
    while block := f.read(1 << 24):  # pipes and files that grew
        data += block
    return data, False


def _source(source: str | os.PathLike | IO) -> tuple[pa.Table | None, bytearray | None, bool]:
    """A Parquet or Feather table, or the source's (unzipped) bytes and whether a .gz was cut short."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            head = f.peek(6)[:6]
            if not head.startswith((_PARQUET, _FEATHER)):
                return None, *_read_all(f)
        table = pq.read_table(source) if head.startswith(_PARQUET) else feather.read_table(source)
        return table, None, False
    raw = source.read()
    data, cut = bytearray(raw.encode("utf-8") if isinstance(raw, str) else raw), False
    if data[:2] == _GZIP:
        data, cut = _gunzip(io.BytesIO(data))
    if data.startswith(_PARQUET):
        return pq.read_table(pa.BufferReader(data)), None, False
    if data.startswith(_FEATHER):
        return feather.read_table(pa.BufferReader(data)), None, False
    return None, data, cut


def read_sessions(
    path_or_file: str | os.PathLike | IO,
    errors: Errors = "raise",
    rejects: list | None = None,
    chunk_size: int = 100_000,
) -> pd.DataFrame:
    """Read sessions from a JSON, JSON-lines, Parquet or Feather file (JSON plain or gzipped).

    Parameters
    ----------
    path_or_file : str, path or file-like
        ``.json`` (an array of sessions, a list envelope, or an array of
        envelopes), ``.jsonl`` / ``.ndjson`` (one session or envelope per
        line), either with ``.gz``, or a Parquet or Feather file (in the wire
        form, or a sessions frame as ``df.to_parquet`` writes it). An open
        file is read as it is; its format is taken from its name or content.
    errors : {"raise", "skip"}, default "raise"
        As in :func:`sessions_frame`. In JSON lines a line that is not JSON is
        a rejected record; a malformed ``.json`` file raises
        :class:`SessionFileError` naming the line and column.
    rejects : list, optional
        With ``errors="skip"``, collects every :class:`Reject`.
    chunk_size : int, default 100_000
        Records validated at a time when Python's ``json`` must read the file
        (pretty-printed arrays, JSON that pyarrow refuses); bounds the memory
        the raw records take.

    Returns
    -------
    DataFrame
        As :func:`sessions_frame` returns it.
    """
    check_errors(errors)
    name = _name_of(path_or_file)
    other = _OTHER_FORMATS.get(_suffix(name).lower())
    if other is not None:
        raise SessionFileError(f"{name} looks like {other}, which read_sessions does not read; it reads "
                               f"{SUPPORTED}. (A table of sessions: pd.read_csv it, then sessions_frame.)")
    table, data, cut = _source(path_or_file)
    if table is not None:
        size = table.num_rows
        parsed = parse_table(table)
        del table
        frame, bad = load_parsed(parsed)
        return finish([frame], bad, size, errors, rejects)
    if data.startswith(_BOM):
        data[:3] = b"   "
    lines = _suffix(name) in _LINES_SUFFIXES or (_suffix(name) != ".json" and _sniff_lines(data[:1 << 20]))
    lost = _cut_to_whole_lines(data, name, lines, errors) if cut else None
    parsed = parse_json(data, lines)
    if parsed is not None:
        del data  # the parsed batch holds what it still needs of the buffer
        frame, bad = load_parsed(parsed)
        return _finish([frame], bad, parsed.size, errors, rejects, lost)
    return _read_with_python(data, name, lines, errors, rejects, chunk_size, lost)


def _finish(frames: list, bad: list[Reject], total: int, errors: Errors, rejects: list | None,
            lost: str | None) -> pd.DataFrame:
    """:func:`finish`, with the cut of a truncated file reported as one more reject after the records."""
    if lost is not None:
        bad = [*bad, Reject(total, None, {"(file)": [lost]}, None)]
        total += 1
    return finish(frames, bad, total, errors, rejects)


def _cut_to_whole_lines(data: bytearray, name: str, lines: bool, errors: Errors) -> str:
    """Keep (in place) what a cut-short .gz holds that can be trusted, its whole lines; say what was lost.

    Only JSON lines with ``errors="skip"``: otherwise the cut raises, naming the file.
    """
    if errors == "raise" or not lines:
        raise SessionFileError(
            f"{name} ends mid-way (a truncated gzip file: {len(data):,} bytes could be unzipped)"
            + ("; errors='skip' keeps the whole records before the cut" if lines else ""))
    del data[data.rfind(b"\n") + 1 :]
    whole = data.count(b"\n")
    return f"{name} ends mid-way (a truncated gzip file): everything after line {whole:,} is lost"


def _read_with_python(data: bytearray, name: str, lines: bool, errors: Errors, rejects: list | None,
                      chunk_size: int, lost: str | None = None) -> pd.DataFrame:
    """Python's ``json`` over the same bytes, validated chunk by chunk.

    Bytes that are not UTF-8 become lone surrogates, which the schema refuses in
    whichever field holds them: their record is rejected, not the file.
    """
    try:
        text, hint = data.decode("utf-8"), ""
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", "surrogateescape")
        hint = (f" (nor is it all UTF-8: {error.reason} at byte {error.start}); read_sessions reads "
                f"{SUPPORTED}")
    del data
    try:
        return _records_with_python(text, name, lines, errors, rejects, chunk_size, lost)
    except SessionFileError as error:
        if not hint:
            raise
        raise SessionFileError(str(error) + hint) from None


def _records_with_python(text: str, name: str, lines: bool, errors: Errors, rejects: list | None,
                         chunk_size: int, lost: str | None) -> pd.DataFrame:
    frames, bad, total = [], [], 0
    with gc_paused():
        if lines or _sniff_lines(text):
            items: Iterable = _line_records(io.StringIO(text))
        else:
            items = _json_records(text, name)
        chunk: list = []
        positions: list[int] = []
        for item in items:
            if isinstance(item, _BadLine):
                bad.append(item.reject(total))
            else:
                chunk.append(item)
                positions.append(total)
            total += 1
            if len(chunk) >= chunk_size:
                frames.append(_load_chunk(chunk, positions, bad))
                chunk, positions = [], []
        if chunk or not frames:
            frames.append(_load_chunk(chunk, positions, bad))
    return _finish(frames, bad, total, errors, rejects, lost)


def _load_chunk(chunk: list, positions: list[int], bad: list[Reject]) -> pd.DataFrame:
    """Validate one chunk of records, given their positions in the file."""
    frame, rejects = load_parsed(parse_records(chunk), np.array(positions, dtype=np.int64))
    bad.extend(rejects)
    return frame
