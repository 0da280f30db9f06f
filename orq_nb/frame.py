"""``sessions_frame``: validated session records to a typed DataFrame."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from marshmallow import ValidationError

from orq_nb.errors import (
    DuplicateSessionsWarning,
    Reject,
    SessionsSkippedWarning,
    SessionValidationError,
)
from orq_nb.fastload import assemble, columnar, from_loaded
from orq_nb.schemas import SessionSchema
from orq_nb.warn import warn_user

__all__ = ["sessions_frame", "session_records", "load_batch", "load_checked", "finish"]

Errors = Literal["raise", "skip"]
_SCHEMA = SessionSchema()


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
    """Flatten what ``sessions_frame`` accepts into one list of raw session records.

    Accepts an iterable of records, a list envelope, or an iterable of envelopes.
    """
    if isinstance(obj, Mapping):
        return page_data(obj, 0) if is_envelope(obj) else [obj]
    if isinstance(obj, (str, bytes)):
        raise TypeError("sessions_frame takes records, not text; use read_sessions for files")
    items = obj if isinstance(obj, list) else list(obj)
    if not (items and is_envelope(items[0])):
        return items
    out: list = []
    for number, item in enumerate(items):
        if is_envelope(item):
            out.extend(page_data(item, number))
        else:
            out.append(item)
    return out


def load_batch(
    records: list, positions: np.ndarray | None = None
) -> tuple[pd.DataFrame, list[Reject]]:
    """Validate and load one batch; rows are indexed by ``positions`` (default 0..n-1)."""
    values, flagged = columnar(records)
    return load_checked(values, flagged, records.__getitem__, positions)


def load_checked(
    values: dict, flagged: np.ndarray, record_at: Callable[[int], Any], positions: np.ndarray | None = None
) -> tuple[pd.DataFrame, list[Reject]]:
    """Build the frame from checked columns; marshmallow judges each flagged record.

    The columnar pass handles the records it can vouch for; the schema decides
    on the rest, so the messages users see are the schema's own.
    """
    if positions is None:
        positions = np.arange(len(flagged))
    slow = np.flatnonzero(flagged)
    frame = assemble(values, ~flagged if len(slow) else None)
    frame.index = positions[~flagged]
    loaded, rescued, rejects = [], [], []
    for i in slow.tolist():
        record = record_at(i)
        try:
            loaded.append(_SCHEMA.load(record))
            rescued.append(positions[i])
        except ValidationError as error:
            rejects.append(Reject.from_error(int(positions[i]), record, error))
    if loaded:
        extra = assemble(from_loaded(loaded))
        extra.index = np.array(rescued)
        frame = pd.concat([frame, extra]).sort_index(kind="stable")
    return frame, rejects


def _drop_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    repeated = frame["id"].duplicated(keep=False)
    if not repeated.any():
        return frame
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
    records: Iterable[Any] | Mapping[str, Any],
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
        ``orq_nb.DTYPES``, whatever the input (empty input included). When ids
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
    batch = session_records(records)
    frame, bad = load_batch(batch)
    return finish([frame], bad, len(batch), errors, rejects)
