"""The bodies orq_nb sends to ``/v3/traces`` and ``/v2/reporting``, and the guesses they rest on.

Every guess about the traces API that no source settles lives here, in one place:

- **Which trace belongs to which session.** A trace carries ``thread_id`` and ``session_id``; orq.ai's docs
  say requests are grouped into a thread by the ``thread.id`` the caller sends. orq_nb asks for traces whose
  ``thread_id`` is ``in`` the session's ``id`` *or* its ``external_id`` (:data:`JOIN_FIELD`), within the
  session's start and last update widened by :data:`MARGIN`, and checks what comes back against the
  session's ``traces_count``: if the service joins differently, the shortfall shows at once
  (:class:`~orq_nb.errors.TracesIncompleteWarning`).
- **How many values an ``in`` takes**: :data:`MAX_VALUES` (the reporting filters are documented to take
  1-100; the traces search does not say).
- **Page size**: :data:`SEARCH_LIMIT` traces or spans a page (the reference says to keep it at 100 or less).
- **Reporting's cap**: :data:`REPORT_CAP` rows an answer, no cursor (the SDK's docstring says so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from orq_nb.load.times import utc_timestamp

__all__ = ["JOIN_FIELD", "MARGIN", "MAX_VALUES", "SEARCH_LIMIT", "REPORT_CAP", "rfc3339", "search_body",
           "report_body", "EARLIEST"]

JOIN_FIELD = "thread_id"
MARGIN = pd.Timedelta(hours=1)
MAX_VALUES = 100
SEARCH_LIMIT = 100
REPORT_CAP = 5000
#: The window's start for sessions without a time.
EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")


def rfc3339(when: Any) -> str:
    """A time as the API takes it: RFC 3339 in UTC, milliseconds, ``Z`` (naive means UTC)."""
    stamp = utc_timestamp(when).to_pydatetime().astimezone(dt.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def search_body(threads: Sequence[str], start: Any, end: Any, page_token: str | None = None) -> dict:
    """The body of one traces search: traces of these thread ids started in ``[start, end)``, a page."""
    if not 1 <= len(threads) <= MAX_VALUES:
        raise ValueError(f"a search takes 1-{MAX_VALUES} thread ids, not {len(threads)}")
    body = {"from": rfc3339(start), "to": rfc3339(end),
            "filters": [{"field": JOIN_FIELD, "op": "in", "values": list(threads)}],
            "limit": SEARCH_LIMIT}
    if page_token:
        body["page_token"] = page_token
    return body


def report_body(metric: str, start: Any, end: Any, grain: str, group_by: Sequence[str],
                filters: Sequence[dict]) -> dict:
    """The body of one reporting call, asked in UTC at the cap."""
    body: dict[str, Any] = {"metric": metric, "from": rfc3339(start), "to": rfc3339(end), "grain": grain,
                            "limit": REPORT_CAP, "time_zone": "UTC"}
    if group_by:
        body["group_by"] = list(group_by)
    if filters:
        body["filters"] = [dict(f) for f in filters]
    return body
