"""Traces, spans and conversations to typed DataFrames, through their marshmallow schemas.

Records come as the ``/v3/traces`` API sends them (dicts, or list envelopes ``{"data": [...]}``), or
as the official SDK hands them out (``TraceSummary``, ``SpanSummary``, a ``SearchTracesResponse``...):
a model is read through its JSON dump by alias. Each record is loaded by the schema, so the messages
of a rejected record are marshmallow's own, naming the record and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from marshmallow import Schema, ValidationError

from orq_nb.errors import Reject, TracesSkippedWarning, TraceValidationError, warn_user
from orq_nb.load.columns import TEXT_DTYPE, Column, column_values, empty_frame
from orq_nb.load.fields import ISO_DATETIME, NonNegativeCount
from orq_nb.load.frame import check_errors
from orq_nb.load.from_models import is_model, model_record
from orq_nb.load.trace_schemas import (
    MESSAGE_COLUMNS,
    SPAN_COLUMNS,
    TRACE_COLUMNS,
    MessageSchema,
    SpanSchema,
    TraceSchema,
)

__all__ = ["load_records", "check_policy", "with_sessions", "traces_frame", "spans_frame",
           "conversation_frame", "trace_dtypes", "span_dtypes", "wire_records", "join_sessions",
           "message_text"]

_TRACE, _SPAN, _MESSAGE = TraceSchema(), SpanSchema(), MessageSchema()
_LIMIT = NonNegativeCount.LIMIT
_ISO = re.compile(ISO_DATETIME)


def _camel_keys() -> dict[str, frozenset]:
    """For each object level (by its key, ``""`` for the record), the camelCase keys of its fields."""
    levels: dict[str, set] = {}
    for c in (*TRACE_COLUMNS, *SPAN_COLUMNS):
        for depth, aliases in enumerate(c.path):
            level = c.wire_path[depth - 1] if depth else ""
            levels.setdefault(level, set()).update(aliases[1:])
    return {level: frozenset(keys) for level, keys in levels.items()}


_CAMEL = _camel_keys()
_NUMBERS = (int, float)
_EMPTY: dict = {}


def wire_records(records: Any) -> list:
    """The records of a list, an envelope, an iterable of envelopes, or the SDK's models, as dicts."""
    if is_model(records):
        records = model_record(records)
    if isinstance(records, Mapping):
        return list(records["data"]) if isinstance(records.get("data"), list) else [records]
    out: list = []
    for item in records:
        item = model_record(item) if is_model(item) else item
        if isinstance(item, Mapping) and isinstance(item.get("data"), list) and "trace_id" not in item:
            out.extend(model_record(r) if is_model(r) else r for r in item["data"])
        else:
            out.append(item)
    return out


def _dtypes(columns: tuple[Column, ...]) -> dict[str, object]:
    return {"session_id": TEXT_DTYPE, **{c.name: c.dtype for c in columns}}


def trace_dtypes() -> dict[str, object]:
    """Each column of a traces frame and its dtype, ``session_id`` first."""
    return _dtypes(TRACE_COLUMNS)


def span_dtypes() -> dict[str, object]:
    """Each column of a spans frame and its dtype, ``session_id`` first."""
    return _dtypes(SPAN_COLUMNS)


def _value(loaded: Mapping, attrs: tuple[str, ...]) -> Any:
    for attr in attrs:
        if not isinstance(loaded, Mapping):
            return None
        loaded = loaded.get(attr)
    return loaded


def _valid(kind: str, values: list) -> list[bool]:
    """Which values of a column of ``kind`` are surely valid as they are (the rest marshmallow judges)."""
    if kind == "text":  # a lone surrogate (half an emoji) is not text: marshmallow says so
        return [v is None or (type(v) is str and (v.isascii() or _utf8(v))) for v in values]
    if kind == "number":
        return [v is None or (type(v) in _NUMBERS and 0 <= v <= _LIMIT) for v in values]
    if kind == "count":
        return [v is None or (type(v) is int and 0 <= v <= _LIMIT) for v in values]
    if kind == "datetime":
        match = _ISO.fullmatch
        return [v is None or (type(v) is str and match(v) is not None) for v in values]
    if kind == "strings":
        return [v is None or (type(v) is list and all(type(x) is str for x in v)) for v in values]
    return [v is None or type(v) is bool for v in values]


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _real_dates(values: list, plain: list[bool]) -> list[bool]:
    """Which plain rows' times are real dates (``2024-02-30`` matches the pattern but is none)."""
    picked = [v if p and v is not None else None for v, p in zip(values, plain, strict=True)]
    if not any(v is not None for v in picked):
        return plain
    parsed = pd.to_datetime(pd.Series(picked, dtype=object), utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy() & pd.Series(picked, dtype=object).notna().to_numpy()
    return [p and not b for p, b in zip(plain, bad.tolist(), strict=True)]


def _objects(raw: list, plain: list[bool], key: str) -> tuple[list, list[bool]]:
    """Each plain record's object under ``key`` ({} when absent), and which records stay plain."""
    camel = _CAMEL[key]
    objects = [r.get(key) if p else None for r, p in zip(raw, plain, strict=True)]
    ok = [p and (o is None or (type(o) is dict and camel.isdisjoint(o)))
          for o, p in zip(objects, plain, strict=True)]
    return [o if type(o) is dict else _EMPTY for o in objects], ok


def check_policy(rejects: list[Reject], total: int, errors: str, collect: list | None, what: str) -> None:
    """Apply the ``errors`` policy (checked by the caller) to what was rejected: raise, or warn (and
    collect)."""
    if rejects and errors == "raise":
        raise TraceValidationError(rejects, total, what)
    if rejects:
        if collect is not None:
            collect.extend(rejects)
        warn_user(TracesSkippedWarning(rejects, total, what))


def load_records(raw: list, schema: Schema, columns: tuple[Column, ...]) -> tuple[pd.DataFrame, list[Reject]]:
    """The frame of the valid records, and the rejected ones. Values every column can vouch for are read
    as they are; a record with a value that is not plainly valid, or with camelCase keys, is loaded by the
    schema, which has the last word (and whose messages name the record and the field)."""
    camel = _CAMEL[""]
    plain = [type(r) is dict and camel.isdisjoint(r) for r in raw]
    nested: dict[str, tuple[list, list[bool]]] = {}
    values: dict[str, list] = {}
    for c in columns:
        path = c.wire_path
        if len(path) == 1:
            objects = [r if p else _EMPTY for r, p in zip(raw, plain, strict=True)]
        else:
            if path[0] not in nested:
                nested[path[0]] = _objects(raw, plain, path[0])
            objects, ok = nested[path[0]]
            plain = [a and b for a, b in zip(plain, ok, strict=True)]
        values[c.name] = vals = [o.get(path[-1]) for o in objects]
        plain = [a and b for a, b in zip(plain, _valid(c.kind, vals), strict=True)]
        if c.kind == "datetime":
            plain = _real_dates(vals, plain)
        if c.field.required:
            plain = [a and v is not None and v != "" for a, v in zip(plain, vals, strict=True)]
    slow = [i for i, p in enumerate(plain) if not p]
    bad, dropped = [], set()
    for i in slow:
        try:
            loaded = schema.load(raw[i])
        except ValidationError as error:
            bad.append(Reject.from_error(i, raw[i], error))
            dropped.add(i)
            continue
        for c in columns:
            value = _value(loaded, c.attrs)
            values[c.name][i] = value.isoformat() if c.kind == "datetime" and value is not None else value
    if len(dropped) == len(raw):
        return empty_frame(columns), bad
    keep = [i for i in range(len(raw)) if i not in dropped] if dropped else None
    data = {c.name: column_values(c, values[c.name] if keep is None else [values[c.name][i] for i in keep])
            for c in columns}
    return pd.DataFrame(data), bad


def with_sessions(frame: pd.DataFrame, session_ids: Any, total: int, rejects: list[Reject]) -> pd.DataFrame:
    """``frame`` with ``session_id`` first: ``session_ids`` gives one per record (``total``), the rejected
    ones' left out; missing when None."""
    if session_ids is None:
        values = pd.array([None] * len(frame), dtype=TEXT_DTYPE)
    else:
        ids = list(session_ids)
        if len(ids) != total:
            raise ValueError(f"session_ids must give one id per record ({total}), not {len(ids)}")
        dropped = {r.position for r in rejects}
        values = pd.array([s for i, s in enumerate(ids) if i not in dropped], dtype=TEXT_DTYPE)
    frame.insert(0, "session_id", values)
    return frame


def _load(records: Any, schema: Schema, columns: tuple[Column, ...], what: str, session_ids: Any,
          errors: str, rejects: list | None) -> pd.DataFrame:
    check_errors(errors)
    raw = wire_records(records)
    frame, bad = load_records(raw, schema, columns)
    check_policy(bad, len(raw), errors, rejects, what)
    return with_sessions(frame, session_ids, len(raw), bad)


def traces_frame(records: Any, *, session_ids: Iterable[str | None] | None = None,
                 errors: str = "raise", rejects: list | None = None) -> pd.DataFrame:
    """Validate trace records (``TraceSummary``) and load them into a typed DataFrame.

    Parameters
    ----------
    records : list of dict, envelope(s) or the SDK's models
    session_ids : iterable of str, optional
        The orq.ai session of each record, in order (what :meth:`OrqClient.query_traces` joined
        them to); missing by default.
    errors : {"raise", "skip"}
        As in :func:`orq_nb.sessions_frame`: invalid records raise
        :class:`~orq_nb.errors.TraceValidationError`, or are skipped with a warning.
    rejects : list, optional
        Filled with the rejected records, their reasons by field.

    Returns
    -------
    DataFrame
        One row per trace; columns and dtypes fixed, even empty: ``session_id``, then the fields of
        :class:`TraceSchema` (usage and cost flattened, costs as ``input_cost``... ``total_cost``).
    """
    return _load(records, _TRACE, TRACE_COLUMNS, "trace", session_ids, errors, rejects)


def spans_frame(records: Any, *, session_ids: Iterable[str | None] | None = None,
                errors: str = "raise", rejects: list | None = None) -> pd.DataFrame:
    """Validate span records (``SpanSummary``) and load them into a typed DataFrame.

    Parameters and the answer as for :func:`traces_frame`, one row per span, the fields of
    :class:`SpanSchema` after ``session_id``.
    """
    return _load(records, _SPAN, SPAN_COLUMNS, "span", session_ids, errors, rejects)


def message_text(item: Mapping) -> str | None:
    """A conversation item's text: its ``content`` (or ``text``) when a string, else the text of its parts
    joined by newlines; None without any."""
    content = item.get("content", item.get("text"))
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") if isinstance(p, Mapping) else p for p in content]
        texts = [p for p in parts if isinstance(p, str)]
        return "\n".join(texts) if texts else None
    return None


def conversation_frame(answer: Any, trace_id: str | None = None) -> pd.DataFrame:
    """A trace's conversation (``{span_id, items: [...]}``) as one row per message, in order.

    Columns: ``trace_id``, ``position`` (0-based), ``role``, ``type``, ``text`` (a string content, or
    the text parts of a list content, joined by newlines) and ``item`` (the item as sent: tool calls and
    whatever else it carries). The SDK's model of an item is empty; pass the JSON, not the model.
    """
    record = model_record(answer) if is_model(answer) else answer
    if not isinstance(record, Mapping) or not isinstance(record.get("items", []), list):
        raise ValueError(f"a conversation is {{'items': [...]}}, not {str(record)[:200]!r}")
    items = record.get("items") or []
    trace_id = trace_id or record.get("trace_id")
    rows = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TraceValidationError([Reject(position, None, {"item": ["Not a JSON object."]}, item)],
                                       len(items), "conversation item")
        try:
            loaded = _MESSAGE.load(item)
        except ValidationError as error:
            raise TraceValidationError([Reject.from_error(position, item, error)], len(items),
                                       "conversation item") from None
        text = message_text(item)
        rows.append((trace_id, position, loaded.get("role"), loaded.get("type"), text, dict(item)))
    frame = pd.DataFrame(rows, columns=list(MESSAGE_COLUMNS))
    for name in ("trace_id", "role", "type", "text"):
        frame[name] = frame[name].astype(TEXT_DTYPE)
    frame["position"] = frame["position"].astype(np.int64)
    frame["item"] = frame["item"].astype(object)
    return frame


def join_sessions(thread_ids: pd.Series, sessions: pd.DataFrame) -> pd.Series:
    """The session each thread id names: the session whose ``id`` it is, else the one whose ``external_id``
    it is (missing when none is). Which of the two orq.ai puts in a trace's ``thread_id`` is unconfirmed."""
    by_external = dict(zip(sessions["external_id"], sessions["id"], strict=True))
    by_id = {i: i for i in sessions["id"]}
    joined = [by_id.get(t, by_external.get(t)) if isinstance(t, str) else None for t in thread_ids]
    return pd.Series(pd.array(joined, dtype=TEXT_DTYPE), index=thread_ids.index)
