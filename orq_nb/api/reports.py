"""Server-side reports (``POST /v2/reporting``) without silent truncation.

The service caps an answer at :data:`REPORT_CAP` rows and has no cursor: a full answer means "maybe
more". A full window is split in two at a grain boundary, again and again; a single grain unit that is
still full is split by the first ``group_by`` dimension: each label seen gets a call of its own, and the
labels not seen one more (``not_in`` those seen), until none is full. Where a single unit of a single
group still comes back full, a :class:`~orq_nb.errors.ReportTruncatedWarning` says so rather than loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from orq_nb.api.trace_bodies import MAX_VALUES, REPORT_CAP, report_body
from orq_nb.errors import OrqAPIError, ReportTruncatedWarning, listing, warn_user
from orq_nb.load.columns import DATETIME_DTYPE, TEXT_DTYPE
from orq_nb.load.times import utc_timestamp

__all__ = ["fetch_report", "GRAINS"]

_FREQ = {"minute": "min", "hour": "h", "day": "D"}
GRAINS = {"minute": pd.Timedelta(minutes=1), "hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1)}


def fetch_report(request: Callable, metric: str, start: Any, end: Any, grain: str, group_by: Sequence[str],
                 filters: Sequence[dict]) -> pd.DataFrame:
    """The report as a tidy frame: ``time``, one column per ``group_by`` dimension, the metric."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {list(GRAINS)}, not {grain!r}")
    start, end = utc_timestamp(start), utc_timestamp(end)
    if not start < end:
        raise ValueError(f"start ({start}) must be before end ({end})")
    calls, full = [0], []

    def ask(low: pd.Timestamp, high: pd.Timestamp, extra: list[dict]) -> list:
        calls[0] += 1
        answer = request("POST", "/v2/reporting",
                         report_body(metric, low, high, grain, group_by, [*filters, *extra]))
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise OrqAPIError(200, f"the report is not {{data: [...]}}: {str(answer)[:200]!r}")
        return answer["data"]

    def window(low: pd.Timestamp, high: pd.Timestamp, extra: list[dict]) -> list:
        rows = ask(low, high, extra)
        if len(rows) < REPORT_CAP:
            return rows
        middle = _middle(low, high, grain)
        if middle is not None:  # split at a bucket's boundary, so that no bucket is cut in two
            return window(low, middle, extra) + window(middle, high, extra)
        fixed = {f["field"] for f in extra if f["op"] == "eq"}
        free = [d for d in group_by if d not in fixed]
        if not free:
            full.append(f"{low.isoformat()} {extra or 'all groups'}")
            return rows
        return by_label(low, high, extra, free, rows)

    def by_label(low: pd.Timestamp, high: pd.Timestamp, extra: list[dict], free: list[str],
                 rows: list) -> list:
        """A full single bucket, split by the first free dimension's labels: each label seen a call of its
        own, the rest (``not_in`` those) one more, until that is not full. Rows without a label for it
        cannot be asked for alone: then the next free dimension splits them, and without one the full
        answer is kept and warned about."""
        dim = free[0]
        seen: list[str] = []
        out: list = []
        while True:
            labels = [v for v in dict.fromkeys((r.get("dimensions") or {}).get(dim) for r in rows)
                      if isinstance(v, str) and v not in seen]
            if not labels or len(seen) + len(labels) > MAX_VALUES:
                if not labels and len(free) > 1:
                    return out + by_label(low, high, extra, free[1:], rows)
                why = "no label" if not labels else f"more than {MAX_VALUES} labels"
                full.append(f"{low.isoformat()} {dim}: {why} to split by")
                return out + rows
            for label in labels:
                out += window(low, high, [*extra, {"field": dim, "op": "eq", "values": [label]}])
            seen += labels
            rows = ask(low, high, [*extra, {"field": dim, "op": "not_in", "values": seen}])
            if len(rows) < REPORT_CAP:
                return out + rows

    rows = window(start, end, [])
    frame = _tidy(rows, metric, group_by)
    frame.attrs["orq_nb"] = {"calls": calls[0], "full": full, "rows": len(frame)}
    if full:
        warn_user(ReportTruncatedWarning(listing(
            f"{len(full)} report windows came back full ({REPORT_CAP:,} rows) for a single {grain} of a "
            "single group, so they may be cut:", full)))
    return frame


def _middle(low: pd.Timestamp, high: pd.Timestamp, grain: str) -> pd.Timestamp | None:
    """A bucket boundary near the middle of ``(low, high)``; None when the window is within one bucket."""
    freq = _FREQ[grain]
    middle = (low + (high - low) / 2).floor(freq)
    if not low < middle < high:
        middle = low.ceil(freq)
    return middle if low < middle < high else None


def _tidy(rows: list, metric: str, group_by: Sequence[str]) -> pd.DataFrame:
    times = pd.to_datetime(pd.Series([r.get("timestamp") for r in rows], dtype=object), utc=True,
                           format="ISO8601")
    data: dict[str, Any] = {"time": times.astype(DATETIME_DTYPE).array}
    for dim in group_by:
        data[dim] = pd.array([(r.get("dimensions") or {}).get(dim) for r in rows], dtype=TEXT_DTYPE)
    keys = list(dict.fromkeys(k for r in rows for k in (r.get("metrics") or {}))) or [metric]
    for key in keys:
        data[key] = np.array([(r.get("metrics") or {}).get(key, np.nan) for r in rows], dtype="float64")
    frame = pd.DataFrame(data)
    return frame.sort_values(["time", *group_by], ignore_index=True, kind="stable")
