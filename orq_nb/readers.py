"""``read_sessions``: session files (JSON, JSON lines, gzipped) to a DataFrame."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from orq_nb import arrowload
from orq_nb.errors import Reject, SessionFileError
from orq_nb.fastload import gc_paused
from orq_nb.frame import (
    Errors,
    check_errors,
    finish,
    is_envelope,
    load_batch,
    load_checked,
    page_data,
    session_records,
)

__all__ = ["read_sessions"]

_LINES_SUFFIXES = {".jsonl", ".ndjson"}
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NON_SPACE = re.compile(r"[^ \t\n\r]")
_DECODER = json.JSONDecoder()


class _BadLine:
    """A JSON-lines line that is not JSON: rejected with its parse error."""

    def __init__(self, text: str, number: int, error: json.JSONDecodeError) -> None:
        self.text, self.number, self.error = text, number, error

    def reject(self, position: int) -> Reject:
        reason = f"line {self.number}: invalid JSON: {self.error.msg} (column {self.error.colno})"
        return Reject(position, None, {"(json)": [reason]}, self.text)


def _file_error(name: str, error: json.JSONDecodeError) -> SessionFileError:
    return SessionFileError(
        f"{name} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
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
            document = json.loads(text)
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
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield _BadLine(line.rstrip("\n"), number, error)
            continue
        if is_envelope(item):
            yield from page_data(item, number)
        else:
            yield item


def _open_text(source: str | os.PathLike | IO) -> tuple[IO[str], str, bool]:
    """Open ``source`` as text; return it, its name, and whether it is JSON lines."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffixes = path.suffixes[-2:] if path.suffix == ".gz" else path.suffixes[-1:]
        opener = gzip.open if path.suffix == ".gz" else open
        stream = opener(path, "rt", encoding="utf-8")
        return stream, str(path), bool(suffixes and suffixes[0] in _LINES_SUFFIXES)
    name = str(getattr(source, "name", "<file>"))
    stream = source
    if isinstance(source.read(0), bytes):
        stream = io.TextIOWrapper(source, encoding="utf-8")
    lines = Path(name).suffix in _LINES_SUFFIXES
    return stream, name, lines


def _sniff_lines(text: str) -> bool:
    """Guess JSON lines: a first line that is a whole object, and more after it."""
    start = _WHITESPACE.match(text).end()
    end = text.find("\n", start)
    if end < 0 or not text.startswith("{", start) or not _NON_SPACE.search(text, end):
        return False
    try:
        json.loads(text[start:end])
    except json.JSONDecodeError:
        return False
    return True


def read_sessions(
    path_or_file: str | os.PathLike | IO,
    errors: Errors = "raise",
    rejects: list | None = None,
    chunk_size: int = 100_000,
) -> pd.DataFrame:
    """Read sessions from a JSON or JSON-lines file, plain or gzipped.

    Parameters
    ----------
    path_or_file : str, path or file-like
        ``.json`` (an array of sessions, a list envelope, or an array of
        envelopes), ``.jsonl`` / ``.ndjson`` (one session or envelope per
        line), or either with ``.gz``. An open file is read as it is; its
        format is taken from its name or its content.
    errors : {"raise", "skip"}, default "raise"
        As in :func:`sessions_frame`. In JSON lines a line that is not JSON is
        a rejected record; a malformed ``.json`` file raises
        :class:`SessionFileError` naming the line and column.
    rejects : list, optional
        With ``errors="skip"``, collects every :class:`Reject`.
    chunk_size : int, default 100_000
        Records validated at a time; bounds the memory the raw records take.

    Returns
    -------
    DataFrame
        As :func:`sessions_frame` returns it.
    """
    check_errors(errors)
    if isinstance(path_or_file, (str, os.PathLike)) and arrowload.available():
        fast = _read_with_arrow(Path(path_or_file))
        if fast is not None:
            frame, bad, total = fast
            return finish([frame], bad, total, errors, rejects)
    stream, name, lines = _open_text(path_or_file)
    frames, bad, total = [], [], 0
    with gc_paused():
        try:
            if lines:
                items = _line_records(stream)
            else:
                text = stream.read()
                items = _line_records(io.StringIO(text)) if _sniff_lines(text) else _json_records(text, name)
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
        finally:
            if isinstance(path_or_file, (str, os.PathLike)):
                stream.close()
    return finish(frames, bad, total, errors, rejects)


def _read_with_arrow(path: Path) -> tuple[pd.DataFrame, list[Reject], int] | None:
    """Read ``path`` through pyarrow; None when the file needs the plain reader."""
    data = _read_bytes(path)
    suffix = Path(path.stem).suffix if path.suffix == ".gz" else path.suffix
    if suffix in _LINES_SUFFIXES:
        starts = _line_starts(data)
    else:
        starts = arrowload.array_to_lines(data)
    if starts is None or not len(data):
        return None
    checked = arrowload.read_lines(data, starts)
    if checked is None:
        return None
    values, flagged, record_at = checked
    frame, bad = load_checked(values, flagged, record_at)
    return frame, bad, len(flagged)


def _read_bytes(path: Path) -> bytearray:
    """The file's bytes (unzipped), read into one buffer without a second copy."""
    if path.suffix == ".gz":
        data = bytearray()
        with gzip.open(path, "rb") as f:
            while block := f.read(1 << 24):
                data += block
        return data
    data = bytearray(path.stat().st_size)
    with open(path, "rb") as f:
        f.readinto(data)
    return data


def _line_starts(data: bytearray) -> np.ndarray | None:
    """Start of every line of JSON lines; None if any line is blank."""
    view = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(view == 10)
    if len(ends) and ends[-1] == len(view) - 1:
        ends = ends[:-1]
    starts = np.concatenate([[0], ends + 1]).astype(np.int64)
    if (np.diff(np.append(starts, len(view) + 1)) <= 1).any():
        return None
    return starts


def _load_chunk(chunk: list, positions: list[int], bad: list[Reject]) -> pd.DataFrame:
    """Validate one chunk of records, given their positions in the file."""
    frame, rejects = load_batch(chunk, np.array(positions, dtype=np.int64))
    bad.extend(rejects)
    return frame
