"""``FakeOrqServer``: the orq.ai sessions API on loopback, for tests, notebooks and demos.

It speaks the real wire format (snake_case, ``_id``) over real HTTP from an
in-memory store, checks the Bearer key, filters, pages, and injects faults on
request. Where the real API is silent it decides, and says so here:

- sessions are listed newest ``started_at`` first (ties by id);
- the interval and ``start_date``/``end_date`` windows apply to ``updated_at``
  (the session's last activity; start inclusive, end exclusive), relative to the
  server's ``now``; sessions without ``updated_at`` only match queries without a
  window (unverified against the real API, which does not say);
- the server's clock starts at ``now`` and runs with real time; a PATCH sets
  ``updated_at`` to its reading (what we expect of the real API; unverified);
- ``tags`` matches sessions having any of the tags;
- with ``rate_limit=(n, seconds)``, each window of that many seconds (from the first
  request) takes ``n`` requests; every answer carries ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``, which the real API does not
  define the unit of: here it is the seconds until the window resets, as a decimal.
  A request past the limit gets 429 with ``Retry-After`` (whole seconds).
"""

from __future__ import annotations

import copy
import datetime as dt
import email.utils
import gzip
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from orq_nb.errors import flatten_messages
from orq_nb.load.sample import SAMPLE_PATH
from orq_nb.load.schemas import SessionSchema, to_wire
from orq_nb.testing.fake_datasets import DatasetStore
from orq_nb.testing.fake_traces import RawAnswer, TraceStore
from orq_nb.testing.wire_rules import page_problem, update_problem

__all__ = ["FakeOrqServer", "Fault", "Exchange", "fake_orq", "SAMPLE_NOW"]

#: The bundled sample's "now": its sessions start in the 90 days before it.
SAMPLE_NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
_WINDOWS = {
    "LAST_30_MINUTES": dt.timedelta(minutes=30), "LAST_1_HOUR": dt.timedelta(hours=1),
    "LAST_6_HOURS": dt.timedelta(hours=6), "LAST_24_HOURS": dt.timedelta(days=1),
    "LAST_3_DAYS": dt.timedelta(days=3), "LAST_7_DAYS": dt.timedelta(days=7),
    "LAST_14_DAYS": dt.timedelta(days=14), "LAST_1_MONTH": dt.timedelta(days=30),
    "LAST_3_MONTHS": dt.timedelta(days=90),
}
_SCHEMA = SessionSchema()


@dataclass
class Fault:
    """One injected failure, used by the next request whose path starts with ``path``.

    ``kind``: ``"status"`` (answer ``status`` with a JSON error, and
    ``Retry-After`` if given), ``"html"`` (``status`` with an HTML page),
    ``"truncate"`` (the real answer cut in half, with a matching
    Content-Length), ``"cut"`` (the real answer's headers, then half its body and a
    closed connection: a body cut mid-way), ``"redirect"`` (a redirect to the same path,
    every time: a loop), ``"moved"`` (one 301 to ``location``), ``"drop"`` (close the
    connection without answering), ``"lost"`` (do what was asked, then close the connection
    without answering: the answer is lost), ``"after"`` (do what was asked, then answer ``status``: a 5xx
    after the server may have written), ``"trickle"`` (the real answer, its body one
    byte every ``delay`` seconds), ``"badgzip"`` (a body said to be gzip that is not),
    ``"echo"`` (``status`` with a body echoing the request's
    headers, key included, as some proxies do), or ``"endless"`` (from now on every list
    page says ``has_more``; page p holds page ``(p - 1) % cycle + 1``: the same page again
    with ``cycle=1``, earlier pages in turn otherwise).
    """

    kind: str = "status"
    status: int = 500
    retry_after: str | None = None
    path: str = "/"
    delay: float = 0.0
    cycle: int = 1
    location: str = ""


@dataclass(frozen=True)
class Exchange:
    """One request an endpoint answered: its method, path and JSON body, and the answer's status and
    JSON bytes (as the endpoint gave them, before any injected fault cut or dropped them)."""

    method: str
    path: str
    body: bytes
    status: int
    answer: bytes
    #: The URL's query parameters (``limit``, ``page_token``...).
    query: tuple[tuple[str, str], ...] = ()

    def request_json(self) -> Any:
        """The request's body, parsed (None when it had none)."""
        return json.loads(self.body) if self.body else None

    def answer_json(self) -> Any:
        """The answer's body, parsed (None when it had none)."""
        return json.loads(self.answer) if self.answer else None


def sample_records() -> list[dict]:
    """The bundled sample's raw records, as stored on disk (both key styles)."""
    with gzip.open(SAMPLE_PATH, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _active(record: dict) -> dt.datetime | None:
    """When the session last changed: the time the windows apply to."""
    value = record.get("updated_at")
    return _SCHEMA.fields["updated_at"].deserialize(value) if value else None


class FakeOrqServer:
    """A threaded HTTP server on 127.0.0.1 serving the sessions endpoints.

    Parameters
    ----------
    records : iterable of dict, optional
        Sessions to serve, in either key style (stored in wire form). Default:
        the bundled sample.
    api_key : str, default "test-key"
        The Bearer key it accepts.
    now : datetime, optional
        Where the server's clock starts; it then runs with real time. Interval
        filters end at the clock's reading and an update stamps it on the
        session. Default: the sample's end (2026-11-01 UTC) when serving the
        sample, else the real time.
    latency : float, default 0
        Seconds added to every request.
    rate_limit : (int, float), optional
        Requests allowed per window of seconds (see the module's notes).
    gzip : bool, default False
        Compress answers (``Content-Encoding: gzip``) for clients that accept it.
    max_page_size : int, optional
        Serve at most this many sessions a page, whatever ``limit`` asks (a cap
        the real API does not document, and may have).

    Examples
    --------
    >>> with FakeOrqServer() as fake:                       # doctest: +SKIP
    ...     client = OrqClient(api_key=fake.api_key, base_url=fake.url)
    """

    def __init__(self, records: Iterable[dict] | None = None, api_key: str = "test-key",
                 now: dt.datetime | None = None, latency: float = 0.0,
                 rate_limit: tuple[int, float] | None = None, gzip: bool = False,
                 max_page_size: int | None = None) -> None:
        seeded = records is None
        self.api_key = api_key
        self._start = now or (SAMPLE_NOW if seeded else dt.datetime.now(dt.UTC))
        self._started = time.monotonic()
        self.latency = latency
        self.rate_limit = rate_limit
        self.gzip = gzip
        self.too_many = 0  # requests answered 429 by the rate limit
        self._window: tuple[float, int] | None = None  # (start, requests taken)
        self.faults: deque[Fault] = deque()
        #: Called with the page number before each list page is answered (a test's hook to
        #: change the data between pages).
        self.before_page: Any = None
        self._endless: Fault | None = None
        self.requests: list[tuple[str, str]] = []
        #: The last 10,000 requests that reached an endpoint, each with the answer it got.
        self.exchanges: deque[Exchange] = deque(maxlen=10_000)
        self.max_page_size = max_page_size
        self._lock = threading.RLock()
        self._store: dict[str, dict] = {}
        self._cache: dict[str, list[dict]] = {}
        for record in sample_records() if seeded else records:
            wire = to_wire(record)
            self._store[wire["_id"]] = wire
        self._httpd: ThreadingHTTPServer | None = None
        #: The traces, spans, conversations and reports it serves (see :mod:`orq_nb.testing.fake_traces`).
        self.traces = TraceStore(self.sessions, seeded)
        #: The datasets and datapoints it serves (see :mod:`orq_nb.testing.fake_datasets`).
        self.datasets = DatasetStore()

    @property
    def now(self) -> dt.datetime:
        """The server's clock: ``now`` as given, plus the real time since the server was made."""
        return self._start + dt.timedelta(seconds=time.monotonic() - self._started)

    # -- lifecycle --------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:51234``."""
        if self._httpd is None:
            raise RuntimeError("the server is not running; use start() or a with block")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeOrqServer:
        """Start serving in a background thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="FakeOrqServer", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOrqServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd else "stopped"
        return f"FakeOrqServer({where}, {len(self._store)} sessions)"

    # -- the store ----------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        """Queue faults for the next matching requests, in order."""
        self.faults.extend(faults)

    def sessions(self) -> list[dict]:
        """A copy of every stored session, wire form."""
        with self._lock:
            return copy.deepcopy(list(self._store.values()))

    def _rate(self) -> tuple[dict[str, str], bool]:
        """The rate-limit headers for a request now, and whether it is over the limit."""
        if self.rate_limit is None:
            return {}, False
        limit, seconds = self.rate_limit
        with self._lock:
            now = time.monotonic()
            if self._window is None or now - self._window[0] >= seconds:
                self._window = (now, 0)
            start, taken = self._window
            over = taken >= limit
            if not over:
                self._window = (start, taken + 1)
                taken += 1
            else:
                self.too_many += 1
            reset = max(0.0, start + seconds - now)
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(limit - taken, 0)),
                   "X-RateLimit-Reset": f"{reset:.3f}"}
        if over:
            headers["Retry-After"] = str(max(1, math.ceil(reset)))
        return headers, over

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if path.startswith(fault.path):
                    self.faults.remove(fault)
                    return fault
        return None

    def _matching(self, filters: dict) -> list[dict]:
        key = json.dumps(filters, sort_keys=True)
        with self._lock:
            if key not in self._cache:
                found = [r for r in self._store.values() if self._matches(r, filters)]
                found.sort(key=lambda r: (r.get("started_at") or "", r["_id"]), reverse=True)
                self._cache[key] = found
            return self._cache[key]

    def _matches(self, record: dict, filters: dict) -> bool:
        interval = filters["interval"].removeprefix("SESSION_INTERVAL_")
        lower = upper = None
        if interval in _WINDOWS:
            now = self.now
            lower, upper = now - _WINDOWS[interval], now
        if filters.get("start_date"):
            lower = dt.datetime.fromtimestamp(int(filters["start_date"]) / 1000, dt.UTC)
        if filters.get("end_date"):
            upper = dt.datetime.fromtimestamp(int(filters["end_date"]) / 1000, dt.UTC)
        if lower is not None or upper is not None:
            active = _active(record)
            if active is None or (lower and active < lower) or (upper and active >= upper):
                return False
        if filters.get("tags") and not set(filters["tags"]) & set(record.get("tags", ())):
            return False
        return all(record.get(k) == filters[k] for k in ("project_id", "kind", "client", "repo")
                   if filters.get(k) is not None)

    def _changed(self) -> None:
        self._cache.clear()

    # -- endpoints: (status, body) ------------------------------------------------
    def handle(self, method: str, path: str, body: Any,
               query: dict[str, str] | None = None) -> tuple[int, Any]:
        """Answer one request (already authenticated); ``query`` holds the URL's query parameters."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] == ["v3", "traces"] or parts[:2] == ["v2", "reporting"]:
            return self._traces_route(method, parts, body, query or {})
        if parts[:2] == ["v2", "datasets"]:
            return self.datasets.handle(method, parts[2:], body, query or {})
        if parts[:2] != ["v2", "sessions"]:
            return 404, {"message": f"no route {path}"}
        rest = parts[2:]
        if method == "POST" and rest == ["query"]:
            return self._query(body)
        if method == "POST" and rest == ["count"]:
            filters = self._filters(body)
            return (400, filters) if "message" in filters else (200, {"count": len(self._matching(filters))})
        if method == "GET" and rest == ["tags"]:
            with self._lock:
                return 200, sorted({t for r in self._store.values() for t in r.get("tags", ())})
        if method == "POST" and not rest:
            return self._create(body)
        if len(rest) == 1 and method in ("GET", "PATCH", "DELETE"):
            with self._lock:
                record = self._store.get(rest[0])
                if record is None:
                    return 404, {"message": f"Session {rest[0]} not found", "code": 404}
                if method == "GET":
                    return 200, record
                if method == "DELETE":
                    del self._store[rest[0]]
                    self._changed()
                    return 204, None
                return self._update(record, body)
        return 404, {"message": f"no route {method} {path}"}

    def _traces_route(self, method: str, parts: list[str], body: Any,
                      query: dict[str, str]) -> tuple[int, Any]:
        rest = parts[2:]
        if parts[1] == "reporting" and method == "POST" and not rest:
            return self.traces.report(body)
        if method == "POST" and rest == ["search"]:
            return self.traces.search(body)
        if method == "GET" and len(rest) == 2 and rest[1] == "spans":
            return self.traces.list_spans(rest[0], query)
        if method == "GET" and len(rest) == 2 and rest[1] == "conversation":
            return self.traces.conversation(rest[0])
        return 404, {"message": f"no route {method} /{'/'.join(parts)}"}

    def _filters(self, body: Any) -> dict:
        problem = page_problem(body)
        return {"message": problem} if problem else body["filters"]

    def _query(self, body: Any) -> tuple[int, Any]:
        filters = self._filters(body)
        if "message" in filters:
            return 400, filters
        limit, page = body.get("limit", 100), body.get("page", 1)
        if self.max_page_size is not None:
            limit = min(limit, self.max_page_size)
        if self.before_page is not None:
            self.before_page(page)
        found = self._matching(filters)
        if self._endless is not None:
            shown = (page - 1) % self._endless.cycle + 1
            data = found[(shown - 1) * limit : shown * limit]
            return 200, {"object": "list", "data": data, "has_more": True}
        data = found[(page - 1) * limit : page * limit]
        return 200, {"object": "list", "data": data, "has_more": page * limit < len(found)}

    def add(self, record: dict) -> None:
        """Store one more session (either key style), as if created elsewhere."""
        wire = to_wire(record)
        with self._lock:
            self._store[wire["_id"]] = wire
            self._changed()

    def remove(self, session_id: str) -> None:
        """Delete one session, as if deleted elsewhere."""
        with self._lock:
            del self._store[session_id]
            self._changed()

    def _create(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, {"message": "a session object is required"}
        record = to_wire({**body, "_id": "ses_" + uuid.uuid4().hex[:20]})
        errors = _SCHEMA.validate(record)
        if errors:
            return 400, {"message": "invalid session", "details": [flatten_messages(errors)]}
        with self._lock:
            self._store[record["_id"]] = record
            self._changed()
        return 200, record

    def _update(self, record: dict, body: Any) -> tuple[int, Any]:
        problem = update_problem(body)
        if problem:
            return 400, {"message": f"invalid update: {problem}"}
        changes = dict(body)
        for flag, field in (("clear_tags", "tags"), ("clear_contact_ids", "contact_ids")):
            if changes.pop(flag, False):
                if field in changes:
                    return 400, {"message": f"{flag} and {field} are mutually exclusive"}
                changes[field] = []
        now = self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        updated = {**record, **to_wire(changes), "updated_at": now}
        errors = _SCHEMA.validate(updated)
        if errors:
            return 400, {"message": "invalid update", "details": [flatten_messages(errors)]}
        record.clear()
        record.update(updated)
        self._changed()
        return 200, record


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # otherwise every keep-alive answer stalls ~40 ms
    fake: FakeOrqServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, from the server's own clock."""
        return email.utils.format_datetime(self.fake.now, usegmt=True)

    def _serve(self) -> None:
        fake = self.fake
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with fake._lock:
            fake.requests.append((self.command, path))
        if fake.latency:
            time.sleep(fake.latency)
        self.limits, over = fake._rate()
        if over:
            return self._send(429, b'{"message": "rate limit exceeded", "code": 429}', "application/json")
        fault = fake._take_fault(path)
        if fault and fault.kind == "endless":
            fake._endless, fault = fault, None
        if fault and fault.kind == "moved":
            return self._raw(301, b"", {"Location": fault.location})
        if fault and fault.kind == "badgzip":
            return self._raw(200, b"\x1f\x8bnot gzip at all", {"Content-Type": "application/json",
                                                              "Content-Encoding": "gzip"})
        if fault and fault.kind == "echo":
            first = sorted(self.headers.items(), key=lambda kv: kv[0] != "Authorization")
            echoed = "; ".join(f"{k}: {v}" for k, v in first)
            return self._send(fault.status, f"upstream failed for request [{echoed}]".encode(), "text/plain")
        if fault and fault.kind == "redirect":
            fake.faults.appendleft(fault)  # a loop: every request to the path is redirected again
            return self._raw(307, b"", {"Location": self.path})
        if fault and fault.kind == "drop":
            self.close_connection = True
            return
        if fault and fault.kind in ("status", "html"):
            if fault.kind == "html":
                page = f"<html><body><h1>{fault.status} Bad Gateway</h1></body></html>".encode()
                return self._send(fault.status, page, "text/html", fault.retry_after)
            body = json.dumps({"message": f"injected {fault.status}", "code": fault.status}).encode()
            return self._send(fault.status, body, "application/json", fault.retry_after)
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            return self._send(401, b'{"message": "Invalid API key", "code": 401}', "application/json")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._send(400, b'{"message": "body is not JSON"}', "application/json")
        query = dict(parse_qsl(urlsplit(self.path).query))
        # Without a query string, the three-argument call a test may have wrapped.
        status, answer = (fake.handle(self.command, path, body, query) if query
                          else fake.handle(self.command, path, body))
        payload = (answer.payload if isinstance(answer, RawAnswer)
                   else b"" if answer is None else json.dumps(answer).encode())
        with fake._lock:
            fake.exchanges.append(Exchange(self.command, path, raw, status, payload, tuple(query.items())))
        if fault and fault.kind == "lost":
            self.close_connection = True
            return
        if fault and fault.kind == "after":  # what was asked was done; the answer is an error anyway
            error = json.dumps({"message": f"injected {fault.status} after the work", "code": fault.status})
            return self._send(fault.status, error.encode(), "application/json")
        if fault and fault.kind == "trickle":
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                for i in range(len(payload)):
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                    time.sleep(fault.delay)
            except OSError:  # the client gave up: as it should
                self.close_connection = True
            return
        if fault and fault.kind == "truncate":
            payload = payload[: len(payload) // 2]
        if fault and fault.kind == "cut":  # promise the whole body, send half, hang up
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(status, payload, "application/json")

    def _raw(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        """An answer exactly as given: status, these headers, the payload."""
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(payload))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def end_headers(self) -> None:
        for name, value in getattr(self, "limits", {}).items():
            self.send_header(name, value)
        self.limits = {}
        super().end_headers()

    def _send(self, status: int, payload: bytes, content_type: str, retry_after: str | None = None) -> None:
        if payload and self.fake.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            payload = gzip.compress(payload)
            self.limits = {**getattr(self, "limits", {}), "Content-Encoding": "gzip"}
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve


try:
    import pytest
except ImportError:  # pytest is only needed for the fixture
    pytest = None
    fake_orq = None

if pytest is not None:

    @pytest.fixture
    def fake_orq() -> Iterator[FakeOrqServer]:
        """A running FakeOrqServer with the bundled sample (``from orq_nb.testing import fake_orq``)."""
        with FakeOrqServer() as server:
            yield server
