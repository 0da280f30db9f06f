"""The fake server's traces, spans, conversations and reporting (``/v3/traces``, ``/v2/reporting``).

Its traces are the bundled sample's (serving the sample) or made by
:func:`~orq_nb.testing.synthetic_traces.generate_traces` from its sessions on first use, so that spans add
up to traces and traces to sessions. Where the real API is silent it decides, and says so here:

- a search's window (``from`` inclusive, ``to`` exclusive) applies to a trace's ``started_at``; traces come
  newest first (ties by id); pages are followed by an opaque ``page_token``;
- filters know ``thread_id``, ``session_id``, ``trace_id``, ``project_id`` and ``status`` with ``eq``,
  ``neq``, ``in``, ``not_in`` and ``exists``; ``in``/``not_in`` take 1-100 values (as the reporting
  filters are documented to), ``limit`` 1-100;
- reporting buckets the model calls (spans with a model) by their ``started_at`` in UTC (``time_zone``
  other than UTC is refused here), sorted by time then by the groups' labels, and cut at ``limit`` (at
  most 5,000) with ``has_more`` false, as the service's own docs say it does. ``report_gaps`` plants
  differences: ``{"2026-10-07": 0.9}`` reports 90% of that day's cost.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orq_nb.load.sample import SAMPLE_SPANS_PATH, SAMPLE_TRACES_PATH
from orq_nb.testing.synthetic_traces import conversation_items, generate_traces
from orq_nb.testing.wire_rules import report_problem, search_problem

__all__ = ["TraceStore", "RawAnswer"]

_GRAINS = {"minute": 16, "hour": 13, "day": 10}
_DIMENSIONS = {"model": "model", "provider": "provider", "project": "project_id"}


@dataclass(frozen=True)
class RawAnswer:
    """An answer already encoded as JSON (a page of traces joined from each trace's bytes, kept encoded)."""

    payload: bytes


def _read(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _token(offset: int, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([offset, key]).encode()).decode()


def _offset(token: str | None, key: str) -> int | None:
    """Where a page token says the next page starts: 0 without a token; None for a token that is not one of
    this query's."""
    if not token:
        return 0
    try:
        offset, made_for = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(offset) if made_for == key else None
    except (ValueError, TypeError):
        return None


class TraceStore:
    """What the fake serves under ``/v3/traces`` and ``/v2/reporting``, built on first use.

    Parameters
    ----------
    sessions : callable
        Returns the server's sessions (wire form), read when the traces are first needed.
    sample : bool
        Serve the bundled sample's traces and spans.
    """

    def __init__(self, sessions: Callable[[], list[dict]], sample: bool) -> None:
        self._sessions, self._sample = sessions, sample
        self._lock = threading.Lock()
        self._built = False
        self.traces: dict[str, dict] = {}
        self.spans: dict[str, list[dict]] = {}
        self.project: dict[str, str | None] = {}
        #: Day (``YYYY-MM-DD``) -> factor: reporting's cost that day is multiplied by it (a planted gap).
        self.report_gaps: dict[str, float] = {}

    def _build(self) -> None:
        with self._lock:
            if self._built:
                return
            if self._sample:
                traces, spans = _read(SAMPLE_TRACES_PATH), _read(SAMPLE_SPANS_PATH)
            else:
                traces, spans = generate_traces(self._sessions())
            self._keep(traces, spans)

    def set(self, traces: list[dict], spans: list[dict]) -> None:
        """Serve these traces and spans (wire form) instead."""
        with self._lock:
            self._keep(traces, spans)

    def _keep(self, traces: list[dict], spans: list[dict]) -> None:
        self.traces = {t["trace_id"]: t for t in traces}
        self._order = sorted(traces, key=lambda t: (t.get("started_at") or "", t["trace_id"]), reverse=True)
        self.spans = {}
        for span in spans:
            self.spans.setdefault(span["trace_id"], []).append(span)
        self.project = {t["trace_id"]: t.get("project_id") for t in traces}
        self._started = {t["trace_id"]: _time(t["started_at"]) for t in traces if t.get("started_at")}
        self._encoded = {t["trace_id"]: json.dumps(t).encode() for t in traces}
        self._by_thread: dict[str, list[dict]] = {}
        for trace in self._order:  # newest first, as searches answer
            self._by_thread.setdefault(trace.get("thread_id"), []).append(trace)
        self._built = True

    # -- endpoints -------------------------------------------------------------------
    def search(self, body: Any) -> tuple[int, Any]:
        """``POST /v3/traces/search``."""
        problem = search_problem(body)
        if problem:
            return 400, {"message": f"invalid search: {problem}", "code": 400}
        self._build()
        low, high = _time(body["from"]), _time(body["to"])
        tests = [self._test(f) for f in body.get("filters") or []]
        key = json.dumps({k: v for k, v in body.items() if k not in ("page_token", "limit")}, sort_keys=True)
        offset = _offset(body.get("page_token"), key)
        if offset is None:
            return 400, {"message": "invalid page_token", "code": 400}
        found = [t for t in self._candidates(body.get("filters") or [])
                 if t["trace_id"] in self._started and low <= self._started[t["trace_id"]] < high
                 and all(test(t) for test in tests)]
        limit = body.get("limit") or 50
        data = found[offset : offset + limit]
        more = offset + limit < len(found)
        rest = {"has_more": more, "next_page_token": _token(offset + limit, key) if more else None}
        payload = (b'{"object": "list", "data": [' + b", ".join(self._encoded[t["trace_id"]] for t in data)
                   + b"], " + json.dumps(rest).encode()[1:])
        return 200, RawAnswer(payload)

    def _candidates(self, filters: list[dict]) -> list[dict]:
        """The traces a search may match, newest first: by thread id when it filters on one."""
        for spec in filters:
            if spec["field"] == "thread_id" and spec["op"] in ("eq", "in"):
                threads = dict.fromkeys(spec["values"])
                picked = [t for thread in threads for t in self._by_thread.get(thread, ())]
                return sorted(picked, key=lambda t: (t.get("started_at") or "", t["trace_id"]), reverse=True)
        return self._order

    @staticmethod
    def _test(spec: dict) -> Callable[[dict], bool]:
        field, op, values = spec["field"], spec["op"], spec.get("values") or []
        if op == "exists":
            return lambda t: t.get(field) is not None
        wanted = set(values)
        if op in ("eq", "in"):
            return lambda t: t.get(field) in wanted
        return lambda t: t.get(field) not in wanted

    def list_spans(self, trace_id: str, query: dict[str, str]) -> tuple[int, Any]:
        """``GET /v3/traces/{trace_id}/spans``."""
        self._build()
        if trace_id not in self.traces:
            return 404, {"message": f"trace {trace_id} not found", "code": 404}
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            return 400, {"message": "limit must be an integer", "code": 400}
        if not 1 <= limit <= 100:
            return 400, {"message": "limit must be 1-100", "code": 400}
        offset = _offset(query.get("page_token"), trace_id)
        if offset is None:
            return 400, {"message": "invalid page_token", "code": 400}
        spans = self.spans.get(trace_id, [])
        more = offset + limit < len(spans)
        return 200, {"object": "list", "data": spans[offset : offset + limit], "has_more": more,
                     "next_page_token": _token(offset + limit, trace_id) if more else None}

    def conversation(self, trace_id: str) -> tuple[int, Any]:
        """``GET /v3/traces/{trace_id}/conversation``."""
        self._build()
        trace = self.traces.get(trace_id)
        if trace is None:
            return 404, {"message": f"trace {trace_id} not found", "code": 404}
        spans = self.spans.get(trace_id, [])
        return 200, {"trace_id": trace_id, "span_id": trace.get("root_span_id"),
                     "items": conversation_items(trace, spans)}

    def report(self, body: Any) -> tuple[int, Any]:
        """``POST /v2/reporting``: the model calls' cost, tokens or count by time and group."""
        problem = report_problem(body)
        if problem:
            return 400, {"message": f"invalid report: {problem}", "code": 400}
        self._build()
        low, high = _time(body["from"]), _time(body["to"])
        grain = body.get("grain") or "day"
        grain = "day" if grain == "auto" else grain
        dims = list(body.get("group_by") or [])
        filters = body.get("filters") or []
        buckets: dict[tuple, float] = {}
        for trace_id, spans in self.spans.items():
            project = self.project.get(trace_id)
            for span in spans:
                if not span.get("model") or not span.get("started_at"):
                    continue
                when = _time(span["started_at"])
                if not low <= when < high:
                    continue
                labels = {"model": span.get("model"), "provider": span.get("provider"), "project": project}
                if not all(self._report_match(labels, f) for f in filters):
                    continue
                stamp = span["started_at"][: _GRAINS[grain]]
                group = tuple(labels[d] or "" for d in dims)
                value = self._metric(body["metric"], span, stamp[:10])
                buckets[(stamp, group)] = buckets.get((stamp, group), 0.0) + value
        rows = []
        for (stamp, group) in sorted(buckets):
            start = stamp + {"day": "T00:00:00Z", "hour": ":00:00Z", "minute": ":00Z"}[grain]
            labels = {d: v for d, v in zip(dims, group, strict=True) if v}
            rows.append({"timestamp": start, "dimensions": labels,
                         "metrics": {body["metric"]: float(f"{buckets[(stamp, group)]:.10g}")}})
        limit = body.get("limit") or 1000
        data = rows[:limit]
        return 200, {"object": "report", "data": data, "has_more": False,
                     "meta": {"effective_grain": grain, "row_count": len(data), "currency": "USD",
                              "warnings": []}}

    @staticmethod
    def _report_match(labels: dict, spec: dict) -> bool:
        value = labels.get(spec["field"])
        inside = value in set(spec.get("values") or [])
        return inside if spec["op"] in ("eq", "in") else not inside

    def _metric(self, metric: str, span: dict, day: str) -> float:
        if metric == "genai.requests":
            return 1.0
        if metric == "genai.tokens":
            return float((span.get("usage") or {}).get("total_tokens") or 0)
        return float((span.get("cost") or {}).get("total") or 0.0) * self.report_gaps.get(day, 1.0)
