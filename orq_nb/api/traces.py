"""Fetching the traces, spans and conversations under sessions: batched, paged, side by side.

Sessions are sorted by start and batched into searches of at most :data:`MAX_VALUES` thread ids (a
session's ``id`` and ``external_id``), no fewer batches than workers when there are enough sessions; each
search follows its page tokens (a chain of sequential calls) while the searches run side by side, up to
``max_workers`` at once. Spans are listed per trace the same way.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd

from orq_nb.api.progress import progress_bar
from orq_nb.api.trace_bodies import EARLIEST, MARGIN, MAX_VALUES, SEARCH_LIMIT, search_body
from orq_nb.api.transport import Call
from orq_nb.errors import OrqAPIError, OrqPagingError, Reject, TracesIncompleteWarning, listing, warn_user
from orq_nb.load.columns import empty_frame
from orq_nb.load.trace_schemas import SPAN_COLUMNS, TRACE_COLUMNS, SpanSchema, TraceSchema
from orq_nb.load.traces import check_policy, conversation_frame, load_records, with_sessions

__all__ = ["SessionRef", "session_refs", "fetch_traces", "fetch_spans", "fetch_conversation",
           "conversation_answer", "Tally"]

_SCHEMAS = {TRACE_COLUMNS: TraceSchema(), SPAN_COLUMNS: SpanSchema()}
#: Most pages one search may take before it is taken for pages that never end.
_MAX_PAGES = 10_000


@dataclass(frozen=True)
class SessionRef:
    """What finding a session's traces needs: its ids, its window and how many traces it counts."""

    id: str
    external_id: str | None
    start: pd.Timestamp
    end: pd.Timestamp
    traces_count: int | None


@dataclass
class Tally:
    """Calls a fetch made: searches (independent queries), pages (calls in all) and the longest chain."""

    queries: int = 0
    pages: int = 0
    chain: int = 0
    lengths: list[int] = field(default_factory=list)

    def add(self, pages: int) -> None:
        self.queries += 1
        self.pages += pages
        self.lengths.append(pages)


def _stamp(value: Any, default: pd.Timestamp) -> pd.Timestamp:
    return default if value is None or pd.isna(value) else pd.Timestamp(value)


def session_refs(sessions: pd.DataFrame, now: pd.Timestamp) -> list[SessionRef]:
    """One ref per row of a sessions frame (``id``, ``external_id``, ``started_at``, ``updated_at``,
    ``traces_count``)."""
    missing = [c for c in ("id", "started_at") if c not in sessions.columns]
    if missing:
        raise ValueError(f"sessions has no column {', '.join(map(repr, missing))}: pass a sessions frame "
                         "(or session ids, which are fetched first)")
    n = len(sessions)
    external = sessions["external_id"] if "external_id" in sessions.columns else [None] * n
    updated = sessions["updated_at"] if "updated_at" in sessions.columns else sessions["started_at"]
    counts = sessions["traces_count"] if "traces_count" in sessions.columns else [None] * n
    refs = []
    columns = (list(sessions["id"]), list(external), list(sessions["started_at"]), list(updated),
               list(counts))
    for sid, ext, start, end, count in zip(*columns, strict=True):
        first = _stamp(start, EARLIEST)
        last = _stamp(end, now if pd.isna(start) else first)
        refs.append(SessionRef(str(sid), ext if isinstance(ext, str) and ext else None,
                               first - MARGIN, max(last, first) + MARGIN,
                               None if count is None or pd.isna(count) else int(count)))
    return refs


def _batches(refs: list[SessionRef], workers: int) -> list[list[SessionRef]]:
    ordered = sorted(refs, key=lambda r: r.start)
    size = max(1, min(MAX_VALUES // 2, math.ceil(len(ordered) / workers)))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _pages(fetch: Callable[[str | None], Any], what: str) -> tuple[list, int]:
    """Follow a query's page tokens; return its records and how many pages it took."""
    records: list = []
    token, pages = None, 0
    while True:
        answer = fetch(token)
        pages += 1
        if not (isinstance(answer, dict) and isinstance(answer.get("data"), list)):
            raise OrqAPIError(200, f"{what}: page {pages} is not a list page: {str(answer)[:200]!r}")
        records.extend(answer["data"])
        more = bool(answer.get("has_more"))
        next_token = answer.get("next_page_token")
        if not more:
            return records, pages
        if not isinstance(next_token, str) or not next_token or next_token == token:
            raise OrqPagingError(200, f"{what}: page {pages} says has_more but gives no new page token")
        if pages >= _MAX_PAGES:
            raise OrqPagingError(200, f"{what}: more than {_MAX_PAGES:,} pages: they would never end")
        token = next_token


def _owners(records: list, batch: list[SessionRef]) -> list[str | None]:
    """The session of each trace: the one whose ``id`` is its thread id, else the one whose ``external_id``
    is; sessions sharing an external id get the traces that started in their own window."""
    by_id = {r.id: r for r in batch}
    by_external: dict[str, list[SessionRef]] = {}
    for ref in batch:
        if ref.external_id:
            by_external.setdefault(ref.external_id, []).append(ref)
    owners = []
    for record in records:
        thread = record.get("thread_id") if isinstance(record, dict) else None
        found = [by_id[thread]] if thread in by_id else by_external.get(thread, [])
        if len(found) > 1:
            start = pd.to_datetime(record.get("started_at"), utc=True, errors="coerce", format="ISO8601")
            inside = [r for r in found if pd.notna(start) and r.start <= start <= r.end]
            found = inside or found
        owners.append(found[0].id if found else None)
    return owners


def _batch_frame(records: list, owners: list, columns: tuple) -> tuple[pd.DataFrame, list[Reject], int]:
    frame, bad = load_records(records, _SCHEMAS[columns], columns)
    return with_sessions(frame, owners, len(records), bad), bad, len(records)


def _combine(run: Callable, fetch: Callable, items: list, tally: Tally, progress: bool | None, unit: str,
             errors: str, rejects: list | None, what: str) -> pd.DataFrame:
    """Run ``fetch`` over ``items``; one frame of every batch's valid records, in order. Rejected records are
    numbered across all batches, then the ``errors`` policy applies."""
    frames, bad, total = [], [], 0
    with progress_bar(progress, len(items), unit) as bar:
        for (frame, rejected, size), pages in run(fetch, items):
            tally.add(pages)
            frames.append(frame)
            bad += [dataclasses.replace(r, position=r.position + total) for r in rejected]
            total += size
            bar.update(1)
    check_policy(bad, total, errors, rejects, what)
    filled = [f for f in frames if len(f)]
    if not filled:
        return with_sessions(empty_frame(TRACE_COLUMNS if what == "trace" else SPAN_COLUMNS), None, 0, [])
    return filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)


def fetch_traces(request: Callable, run: Callable, refs: list[SessionRef], *, workers: int,
                 progress: bool | None, errors: str, rejects: list | None, call: Call) -> pd.DataFrame:
    """The traces of these sessions, one row each, ``session_id`` joined; completeness checked."""
    batches = _batches(refs, workers)
    tally = Tally()

    def search(batch: list[SessionRef]) -> tuple[list, list[SessionRef], int]:
        threads = list(dict.fromkeys(t for r in batch for t in (r.id, r.external_id) if t))
        start, end = min(r.start for r in batch), max(r.end for r in batch)
        records, pages = _pages(
            lambda token: request("POST", "/v3/traces/search", search_body(threads, start, end, token),
                                  call=call), "traces search")
        owners = _owners(records, batch)
        # Each search's frame is built in its worker, while the other searches wait on the network.
        return _batch_frame(records, owners, TRACE_COLUMNS), pages

    frame = _combine(run, search, batches, tally, progress, "searches", errors, rejects, "trace")
    ids = frame["trace_id"].tolist()
    if len(set(ids)) < len(ids):  # a trace found by two searches (a thread id shared by two sessions)
        frame = frame.drop_duplicates("trace_id", ignore_index=True)
    tally.chain = max(tally.lengths, default=0)
    found = frame["session_id"].value_counts()
    short = [(r.id, int(found.get(r.id, 0)), r.traces_count) for r in refs
             if r.traces_count is not None and found.get(r.id, 0) < r.traces_count]
    over = [r.id for r in refs if r.traces_count is not None and found.get(r.id, 0) > r.traces_count]
    frame.attrs["orq_nb"] = {"sessions": len(refs), "traces": len(frame), "searches": tally.queries,
                             "pages": tally.pages, "chain": tally.chain, "short": [s[0] for s in short],
                             "over": over}
    if short:
        missing = sum(expected - got for _, got, expected in short)
        head = (f"{len(short):,} of {len(refs):,} sessions came back with fewer traces than their "
                f"traces_count ({missing:,} traces missing). Traces are matched to sessions by thread_id = "
                "the session's id or external_id within its active window, a rule orq.ai does not confirm: "
                "if it joins "
                "differently, traces are missing here (frame.attrs['orq_nb']['short'] lists the sessions):")
        warn_user(TracesIncompleteWarning(listing(head, [f"{s}: {got} of {want}" for s, got, want in short])))
    return frame


def fetch_spans(request: Callable, run: Callable, traces: Iterable[tuple[str, str | None]], *,
                progress: bool | None, errors: str, rejects: list | None, call: Call) -> pd.DataFrame:
    """The spans of these ``(trace_id, session_id)`` pairs, one row each."""
    pairs = list(dict.fromkeys(traces))
    tally = Tally()

    def spans(pair: tuple[str, str | None]) -> tuple[list, str | None, int]:
        trace_id, session_id = pair
        path = "/v3/traces/" + quote(trace_id, safe="") + "/spans"

        def page(token: str | None) -> Any:
            query = {"limit": SEARCH_LIMIT, **({"page_token": token} if token else {})}
            return request("GET", path + "?" + urlencode(query), call=call)

        records, pages = _pages(page, f"spans of trace {trace_id!r}")
        return _batch_frame(records, [session_id] * len(records), SPAN_COLUMNS), pages

    frame = _combine(run, spans, pairs, tally, progress, "traces", errors, rejects, "span")
    frame.attrs["orq_nb"] = {"traces": len(pairs), "spans": len(frame), "calls": tally.pages,
                             "chain": max(tally.lengths, default=0)}
    return frame


def conversation_answer(request: Callable, trace_id: str) -> Any:
    """A trace's conversation as the API answers it (``{span_id, items}``)."""
    return request("GET", "/v3/traces/" + quote(str(trace_id), safe="") + "/conversation")


def fetch_conversation(request: Callable, trace_id: str) -> pd.DataFrame:
    """A trace's conversation, one row per message."""
    return conversation_frame(conversation_answer(request, trace_id), str(trace_id))
