"""``sessions_frame``: validated session records to a typed DataFrame."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from marshmallow import ValidationError

from orq_nb.errors import (
    DuplicateSessionsWarning,
    Reject,
    RoundedCountsWarning,
    SessionsSkippedWarning,
    SessionValidationError,
    listing,
    record_name,
    warn_user,
)
from orq_nb.load.columns import COLUMNS, VALID_SCHEMA
from orq_nb.load.convert import loaded_table, to_frame
from orq_nb.load.from_arrow import parse_table
from orq_nb.load.from_json import parse_json
from orq_nb.load.from_models import is_model, models_json
from orq_nb.load.from_records import frame_records, gc_paused, parse_records, session_records
from orq_nb.load.schemas import SessionSchema
from orq_nb.load.validate import Parsed, validate

__all__ = ["sessions_frame", "load_parsed", "finish", "check_errors"]

Errors = Literal["raise", "skip"]
_SCHEMA = SessionSchema()


def load_parsed(parsed: Parsed, positions: np.ndarray | None = None) -> tuple[pd.DataFrame, list[Reject]]:
    """Validate a parsed batch and convert it; marshmallow judges each flagged record.

    The validator handles the records it can vouch for; the schema decides on
    the rest, so the messages users see are the schema's own. Rows are indexed
    by ``positions`` (default 0..n-1). ``parsed`` is consumed: its arrays and
    raw records are released before the frame is built, to keep the peak low.
    """
    if positions is None:
        positions = np.arange(parsed.size)
    with gc_paused():
        return _load_parsed(parsed, positions)


def _load_parsed(parsed: Parsed, positions: np.ndarray) -> tuple[pd.DataFrame, list[Reject]]:
    columns = validate(parsed)
    table = pa.Table.from_arrays([columns[c.name] for c in COLUMNS], schema=VALID_SCHEMA)
    del columns
    flagged = parsed.flag
    slow = np.flatnonzero(flagged)
    if len(slow):
        table = table.filter(pa.array(~flagged))
    index = positions[~flagged]
    loaded, rescued, rejects = [], [], []
    fractions: dict[int, list[str]] = {}
    for name, where in parsed.fractions.items():
        for i in where.tolist():
            fractions.setdefault(i, []).append(name)
    rounded = []
    for i in slow.tolist():
        record = parsed.record_at(i)
        try:
            loaded.append(_SCHEMA.load(record))
            rescued.append(positions[i])
            if i in fractions:
                rounded.append((int(positions[i]), loaded[-1].get("id"), fractions[i]))
        except ValidationError as error:
            rejects.append(Reject.from_error(int(positions[i]), record, error))
    parsed.release()  # the source's buffers: gone before the frame is built
    if rounded:
        _warn_rounded(rounded, parsed.size)
    if loaded:
        index = np.concatenate([index, np.array(rescued, dtype=index.dtype)])
        order = np.argsort(index, kind="stable")
        table = pa.concat_tables([table, loaded_table(loaded)]).take(pa.array(order))
        index = index[order]
    frame = to_frame(table)
    frame.index = index
    return frame, rejects


def _warn_rounded(rounded: list[tuple[int, str | None, list[str]]], total: int) -> None:
    """Say which records had counts with a fraction, now rounded."""
    head = (f"{len(rounded):,} of {total:,} session records carry counts with a fraction (the API sends "
            "whole numbers; its reference's placeholder example does not); they loaded rounded to the "
            "nearest whole number:")
    named = [f"{record_name(p, i)}: {', '.join(names)}" for p, i, names in rounded]
    warn_user(RoundedCountsWarning(listing(head, named)))


def _drop_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    if frame["id"].is_unique:
        return frame
    repeated = frame["id"].duplicated(keep=False)
    latest = frame[["id", "updated_at"]].sort_values("updated_at", kind="stable", na_position="first")
    keep = frame.index.isin(latest.drop_duplicates("id", keep="last").index)
    dropped = len(frame) - int(keep.sum())
    warn_user(
        DuplicateSessionsWarning(
            f"{dropped:,} records repeated {frame['id'][repeated].nunique():,} session ids; "
            "kept the most recently updated of each (on a tie, the later record)."
        )
    )
    return frame[keep]


def finish(
    frames: list[pd.DataFrame],
    rejects: list[Reject],
    total: int,
    errors: Errors,
    collect: list | None,
) -> pd.DataFrame:
    """Apply the ``errors`` policy, drop duplicate ids, and index rows 0..n-1."""
    rejects = sorted(rejects, key=lambda r: r.position)
    if rejects and errors == "raise":
        raise SessionValidationError(rejects, total)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames)
    frame = _drop_duplicates(frame).reset_index(drop=True)
    if rejects:
        if collect is not None:
            collect.extend(rejects)
        warn_user(SessionsSkippedWarning(rejects, total))
    return frame


def check_errors(errors: str) -> None:
    """Refuse an ``errors`` policy other than ``"raise"`` or ``"skip"``."""
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', not {errors!r}")


def sessions_frame(
    records: Iterable[Any] | Mapping[str, Any] | pa.Table | pd.DataFrame,
    errors: Errors = "raise",
    rejects: list | None = None,
) -> pd.DataFrame:
    """Validate session records and load them into a typed DataFrame.

    Parameters
    ----------
    records : iterable of dict, or dict
        Session records in either key style (wire snake_case or Node SDK
        camelCase, mixed freely), a list envelope ``{"object": "list", "data":
        [...], "has_more": ...}``, or an iterable of such envelopes (pages).
        The official SDK's models load too (its ``Thread`` objects, a
        ``ListThreadsResponse``, or a list of either), as do times given as
        ``datetime`` or ``Timestamp`` (aware ones converted to UTC, naive ones
        read as UTC).
        An Arrow table or a DataFrame is read by column, in the wire form or
        as a sessions frame (as ``df.to_parquet`` would store it).
    errors : {"raise", "skip"}, default "raise"
        ``"raise"``: any invalid record raises :class:`SessionValidationError`,
        which names the first few and carries all in ``.rejects``. ``"skip"``:
        invalid records are left out and a :class:`SessionsSkippedWarning`
        counts them.
    rejects : list, optional
        With ``errors="skip"``, rejected records are appended here as
        :class:`Reject` (position, id, reasons by field, the record itself).

    Returns
    -------
    DataFrame
        One row per session with the columns and dtypes of
        ``orq_nb.schemas.DTYPES``, whatever the input (empty input included). When ids
        repeat, the most recently updated record is kept, with a
        :class:`DuplicateSessionsWarning`.

    Examples
    --------
    >>> df = sessions_frame([{"_id": "s1", "external_id": "t1", "duration": 1200,
    ...     "contact_ids": [], "tags": ["rag"], "traces_count": 2,
    ...     "billing": {"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.3},
    ...     "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}])
    >>> df.loc[0, ["id", "duration_ms", "total_cost"]].tolist()
    ['s1', 1200.0, 0.3]
    """
    check_errors(errors)
    if isinstance(records, pd.DataFrame):
        try:
            records = pa.Table.from_pandas(records, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            records = frame_records(records)  # a column Arrow cannot type: judge its rows one by one
    if not isinstance(records, (pa.Table, Mapping, list, str, bytes)) and not is_model(records):
        records = list(records)  # a generator of records or of the SDK's models
    if isinstance(records, pa.Table):
        parsed = parse_table(records)
    elif (data := models_json(records)) is not None:  # the official SDK's models, through their JSON dump
        parsed = parse_json(data, lines=False) or parse_records(session_records(json.loads(data)))
    else:
        parsed = parse_records(session_records(records))
    frame, bad = load_parsed(parsed)
    return finish([frame], bad, parsed.size, errors, rejects)
