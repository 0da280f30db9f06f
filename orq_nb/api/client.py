"""``OrqClient``: the orq.ai sessions API from a notebook, fast and without loss."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pandas as pd
from marshmallow import ValidationError

from orq_nb.api.bodies import filters_body, takes_filters, update_body
from orq_nb.api.datasets import list_datasets, plan_dataset, write_dataset
from orq_nb.api.progress import progress_bar
from orq_nb.api.reports import fetch_report
from orq_nb.api.traces import conversation_answer, fetch_conversation, fetch_spans, fetch_traces, session_refs
from orq_nb.api.transport import GONE, Call, RetryPolicy, Transport, _Cancelled, log
from orq_nb.errors import (
    DuplicateSessionsWarning,
    FetchWarning,
    OrqAPIError,
    OrqAuthError,
    OrqConnectionError,
    OrqNotFoundError,
    OrqPagingError,
    OrqTimeoutError,
    Reject,
    SessionsSkippedWarning,
    SessionValidationError,
    flatten_messages,
    warn_user,
)
from orq_nb.load.frame import Errors, check_errors, sessions_frame
from orq_nb.load.schemas import SessionSchema
from orq_nb.load.tags import REPORT_COLUMNS, relabelled, tag_list

__all__ = ["OrqClient", "DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "https://my.orq.ai"
_SCHEMA = SessionSchema()


def _page_records(answer: Any, page: int) -> tuple[list, bool]:
    if not (isinstance(answer, dict) and isinstance(answer.get("data"), list)):
        raise OrqAPIError(200, f"page {page} is not a list page: {str(answer)[:200]!r}")
    return answer["data"], bool(answer.get("has_more", answer.get("hasMore", False)))


def run_all(fn, items, workers: int, call: Call) -> Iterator:
    """``fn`` over ``items`` on ``workers`` threads, results in order.

    Ctrl-C (KeyboardInterrupt), or any error, cancels ``call``, so that no request
    is sent anymore and every wait ends; requests in flight finish on their own
    and their results are discarded. Nothing here waits for the threads.
    """
    pool = ThreadPoolExecutor(workers, thread_name_prefix="orq_nb")
    try:
        futures = [pool.submit(fn, item) for item in items]
        for future in futures:
            yield future.result()
    except BaseException:
        call.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=False)


def _record_id(record: Any) -> Any:
    return record.get("_id", record.get("id")) if isinstance(record, dict) else None


def _check_page(records: list, more: bool, page: int, seen: set, limit: int | None) -> list:
    """The page's records not seen before; raise when the pages would never end."""
    fresh = [r for r in records if _record_id(r) not in seen]
    seen.update(_record_id(r) for r in fresh)
    if more and records and not fresh:
        raise OrqPagingError(200, f"page {page} brings no session not seen on earlier pages, yet says "
                                  "has_more: the pages would never end")
    if more and limit is not None and page >= limit:
        raise OrqPagingError(200, f"page {page} still says has_more, past the {limit} pages the count "
                                  "allows: the pages would never end")
    return fresh


def _served(first: list, more: bool, asked: int) -> int | None:
    """The page size a server serves when it is less than ``asked``: the length of a first page that is
    short although more sessions follow it; None otherwise."""
    return len(first) if more and 0 < len(first) < asked else None


def _changed_since(records: list, since: Any) -> int:
    """How many records were updated after the fetch began.

    ``since`` is the server's ``Date`` when the count answered, to the second: a
    record updated a second after it was surely updated during the fetch (one
    updated within that first second is not counted, lest a session changed just
    before the fetch be taken for a change during it).
    """
    if since is None or not records:
        return 0
    stamps = pd.to_datetime(pd.Series([r.get("updated_at") if isinstance(r, dict) else None
                                       for r in records], dtype=object), utc=True, errors="coerce",
                            format="ISO8601")
    return int((stamps >= since + pd.Timedelta(seconds=1)).sum())


def _changed(records: list, total: int, since: Any) -> bool:
    """Whether the pages show that the listing changed while they were read."""
    # Sessions slip between pages only when others are deleted before them: the count then drops,
    # or something was added, which its updated_at tells. An id read twice loses nothing.
    return len({_record_id(r) for r in records}) != total or _changed_since(records, since) > 0


def _may_be_missing(total: int | None, unique: int, during: int) -> str:
    """A warning's text when sessions may have slipped between pages; empty when none can have."""
    if total is None or (unique >= total and not during):  # nothing can be missing
        return ""
    text = f"the API counted {total:,} sessions but the pages held {unique:,} distinct ones"
    if during:
        text += f"; {during:,} were updated or added during the fetch"
    if unique < total or during:
        gone = max(total - unique, 0) + during
        text += (f": sessions may have slipped between pages, up to about {gone:,} of those that "
                 "existed throughout may be missing")
    return text + " (did the data change during the fetch?)"


def _wants_more(pages: dict[int, list], max_records: int | None) -> bool:
    return max_records is None or sum(map(len, pages.values())) < max_records


class OrqClient:
    """A client for the orq.ai sessions (threads) API.

    Parameters
    ----------
    api_key : str, optional
        Defaults to the ``ORQ_API_KEY`` environment variable. Never printed.
    base_url : str, optional
        Defaults to ``ORQ_BASE_URL``, then ``https://my.orq.ai``. Plain
        ``http://`` is refused except to loopback.
    timeout : float or (connect, read) tuple, default (5, 30)
        Seconds, per request.
    max_retries : int, default 4
        Retries of 429, 500, 502, 503, 504 and failed connections, with
        exponential backoff and jitter, honouring ``Retry-After``.
    retry_deadline : float, default 60
        Seconds a request may spend retrying, waits included.
    page_size : int, default 100
        Sessions per page (the API's maximum is not documented).
    max_workers : int, default 8
        Pages fetched at once; the connection pool is sized to match.
    backoff : float, default 0.5
        First wait between retries, in seconds; each next one is 1.5 times
        longer (at most 30 s), with +-25% jitter.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | tuple[float, float] = (5, 30),
        max_retries: int = 4,
        retry_deadline: float = 60.0,
        page_size: int = 100,
        max_workers: int = 8,
        backoff: float = 0.5,
    ) -> None:
        key = api_key or os.environ.get("ORQ_API_KEY")
        if not key:
            raise OrqAuthError.no_key()
        if page_size < 1 or max_workers < 1:
            raise ValueError("page_size and max_workers must be at least 1")
        url = base_url or os.environ.get("ORQ_BASE_URL") or DEFAULT_BASE_URL
        retry = RetryPolicy(max_retries=max_retries, initial=backoff, max_elapsed=retry_deadline)
        self._http = Transport(key, url, timeout, retry, pool_size=max_workers)
        self.page_size, self.max_workers = page_size, max_workers

    def __repr__(self) -> str:
        return (f"OrqClient(base_url={self._http.base_url!r}, page_size={self.page_size}, "
                f"max_workers={self.max_workers}, api_key='***')")

    def __enter__(self) -> OrqClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._http.requests_sent

    # -- single calls ---------------------------------------------------------
    @takes_filters()
    def count_sessions(self, **filters: Any) -> int:
        """Count the sessions matching the filters of :meth:`query_sessions`."""
        return self._count(filters_body(**filters))

    def _count(self, filters: dict, call: Call | None = None) -> int:
        answer = self._http.request("POST", "/v2/sessions/count", {"filters": filters}, call=call)
        if not isinstance(answer, dict) or not isinstance(answer.get("count"), int):
            raise OrqAPIError(200, f"count answer has no integer 'count': {str(answer)[:200]!r}")
        return answer["count"]

    def session_tags(self) -> list[str]:
        """Every tag used by any session."""
        answer = self._http.request("GET", "/v2/sessions/tags")
        if not isinstance(answer, list):
            raise OrqAPIError(200, f"tags answer is not a list: {str(answer)[:200]!r}")
        return answer

    def _one(self, method: str, session_id: str, body: Any = None, ok: tuple = (200,),
             call: Call | None = None) -> Any:
        path = "/v2/sessions/" + quote(str(session_id), safe="")
        try:
            answer = self._http.request(method, path, body, ok=ok, call=call)
            return None if answer is GONE else answer
        except OrqNotFoundError as error:
            raise OrqNotFoundError(404, f"session {session_id!r} not found ({error.message})",
                                   method, path) from None

    def _validated(self, answer: Any) -> dict:
        try:
            return _SCHEMA.load(answer)
        except ValidationError as error:
            reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in flatten_messages(error.messages).items())
            raise OrqAPIError(200, f"the session returned is invalid: {reasons}") from None

    def get_session(self, session_id: str) -> dict:
        """One session, validated and loaded by :class:`~orq_nb.schemas.SessionSchema`."""
        return self._validated(self._one("GET", session_id))

    def update_session(self, session_id: str, **fields: Any) -> dict:
        """Change fields of a session; return the updated session, validated.

        Fields are named as the DataFrame's columns (``tags``, ``title``,
        ``duration_ms``, ``project_id``...), plus ``clear_tags`` and
        ``clear_contact_ids``.
        """
        return self._validated(self._patch(session_id, update_body(fields)))

    def _patch(self, session_id: str, body: dict, call: Call | None = None) -> Any:
        """PATCH, and when its answer is lost or cut, read the session before sending it again."""
        try:
            return self._one("PATCH", session_id, body, call=call)
        except OrqConnectionError:
            current = self._one("GET", session_id, call=call)
            # clear_tags asks for no tags: compare with [] (nothing to compare would pass anything).
            wanted = {k.removeprefix("clear_"): [] if k.startswith("clear_") else v for k, v in body.items()}
            if isinstance(current, dict) and all((current.get(k) or []) == v if isinstance(v, list)
                                                 else current.get(k) == v for k, v in wanted.items()):
                log.info("PATCH %s: the answer was lost but the session already holds the change",
                         session_id)
                return current
            log.info("PATCH %s: the answer was lost and the change is not there: sending it again",
                     session_id)
            return self._one("PATCH", session_id, body, call=call)

    def delete_session(self, session_id: str) -> bool:
        """Delete a session; return True.

        When the first attempt's answer was lost and the retry finds the session
        gone, it was this call that deleted it: that counts as deleted, and the
        ``orq_nb`` logger says so.
        """
        self._one("DELETE", session_id, ok=(200, 204))
        return True

    # -- paging ---------------------------------------------------------------
    def _page(self, filters: dict, page: int, call: Call | None = None) -> tuple[list, bool]:
        body = {"filters": filters, "limit": self.page_size, "page": page}
        return _page_records(self._http.request("POST", "/v2/sessions/query", body, call=call), page)

    def _page_limit(self, total: int | None, served: int | None = None) -> int | None:
        """The most pages a listing of ``total`` sessions may take, ``served`` a page (default: the page
        size asked for): the count's pages, 10% and 2 more."""
        if total is None:
            return None
        pages = math.ceil(total / (served or self.page_size))
        return pages + max(2, math.ceil(pages / 10))

    @takes_filters()
    def iter_sessions(self, *, errors: Errors = "raise", rejects: list | None = None,
                      deadline: float | None = None, **filters: Any) -> Iterator[list[dict]]:
        """Yield each page's sessions, validated, walking pages until ``has_more`` is false.

        Takes the filters of :meth:`query_sessions`; ``errors`` and ``rejects``
        work as in :func:`~orq_nb.sessions_frame`, per page. Counts first: a
        listing that changed on the way (so that sessions may have slipped
        between pages) is warned about with how many may be missing, as is a
        count that failed (completeness then goes unchecked). Pages that
        never end raise :class:`~orq_nb.errors.OrqPagingError`.
        """
        check_errors(errors)
        call = Call(deadline)
        body, page, position = filters_body(**filters), 1, 0
        total, since = self._count_or_none(body, call)
        limit, seen, during = self._page_limit(total), set(), 0
        while True:
            records, more = self._page(body, page, call)
            if page == 1:  # the server's own page size, if it serves fewer than asked, sets the bound
                limit = self._page_limit(total, _served(records, more, self.page_size))
            fresh = _check_page(records, more, page, seen, limit)
            during += _changed_since(records, since)
            loaded, bad = [], []
            for record in fresh:
                try:
                    loaded.append(_SCHEMA.load(record))
                except ValidationError as error:
                    bad.append(Reject.from_error(position, record, error))
                position += 1
            if bad and errors == "raise":
                raise SessionValidationError(bad, len(fresh))
            if bad:
                if rejects is not None:
                    rejects.extend(bad)
                warn_user(SessionsSkippedWarning(bad, len(fresh)))
            yield loaded
            if not more or not records:
                break
            page += 1
        missing = _may_be_missing(total, len(seen), during)
        if missing:
            warn_user(FetchWarning(missing))

    def _count_or_none(self, body: dict, call: Call) -> tuple[int | None, Any]:
        """The count and the server's time when it answered; None (and a warning) if it failed."""
        try:
            total = self._count(body, call)
        except (OrqAuthError, OrqTimeoutError):
            raise
        except OrqAPIError as error:
            warn_user(FetchWarning(f"the count failed ({error}): completeness was not checked"))
            return None, None
        return total, self._http.server_time

    @takes_filters()
    def query_sessions(
        self,
        *,
        max_records: int | None = None,
        progress: bool | None = None,
        errors: Errors = "raise",
        rejects: list | None = None,
        deadline: float | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Fetch every matching session into a typed DataFrame.

        Counts first, then fetches the pages concurrently and assembles them in
        page order; when the count is unavailable it walks ``has_more``.
        Duplicate ids across pages are dropped; a total that differs from the
        count, or a fetch stopped by ``max_records``, is warned about
        (:class:`FetchWarning`) and recorded in ``df.attrs["orq_nb"]``.

        Parameters
        ----------
        interval : str, optional
            ``"last_7_days"``, ``"all_time"``... or the API's
            ``SESSION_INTERVAL_*`` names. Default: all time, or the
            ``start``/``end`` window when given.
        project_id, client, repo : str, optional
            Exact matches.
        tags : str or list of str, optional
            Sessions with any of these tags (as the API filters them).
        start, end : datetime, Timestamp or ISO string, optional
            A custom activity window (start inclusive, end exclusive), sent as
            the API takes one: ``start_date``/``end_date`` as strings of Unix
            milliseconds, with ``interval`` (default ``ALL_TIME``). Naive means UTC.
        kind : {"conversation", "coding_agent"}, optional
        max_records : int, optional
            Stop after this many sessions.
        progress : bool, optional
            A progress bar of pages (``tqdm``); default: on for several pages.
        errors, rejects
            As in :func:`~orq_nb.sessions_frame`.
        deadline : float, optional
            Seconds the whole call may take (each request is bounded anyway by
            ``timeout`` and ``retry_deadline``); past it,
            :class:`~orq_nb.errors.OrqTimeoutError`.

        Returns
        -------
        DataFrame

        Notes
        -----
        The API pages by number, so sessions added or deleted during a fetch shift
        the others across page boundaries. When the pages show a change (a total
        that differs from the count, an id twice, a session updated since the fetch
        began), the pages are read once more and that second reading is returned;
        if the data changed again, a :class:`FetchWarning` says how many sessions
        may be missing. Ctrl-C stops a fetch at once: nothing more is sent.
        """
        check_errors(errors)
        call = Call(deadline)
        body = filters_body(**filters)
        if max_records is not None and max_records < 0:
            raise ValueError("max_records must not be negative")
        total, since = self._count_or_none(body, call)
        records, more = self._fetch(body, total, max_records, progress, call)
        if max_records is None and total is not None and _changed(records, total, since):
            first = records
            try:  # read once more, from a new count; what only the first reading saw is kept too
                total, since = self._count_or_none(body, call)
                records, more = self._fetch(body, total, max_records, progress, call)
            except (OrqTimeoutError, OrqPagingError) as error:
                records = first
                warn_user(FetchWarning(f"the sessions changed during the fetch and reading them again "
                                       f"failed ({error}): some may be missing"))
            else:
                ids = {_record_id(r) for r in records}
                if total is not None:
                    missing = _may_be_missing(total, len(ids), _changed_since(records, since))
                    if missing:
                        warn_user(FetchWarning(missing + " (read twice)"))
                records = records + [r for r in first if _record_id(r) not in ids]
        capped = max_records is not None and (len(records) > max_records or more)
        records = records[:max_records] if max_records is not None else records
        bad: list = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # recorded here whatever the caller's filters; re-issued below
            frame = sessions_frame(records, errors=errors, rejects=bad)
        rejected = len(bad)  # counted from the rejects themselves, not from warnings a filter may hide
        if rejects is not None:
            rejects.extend(bad)
        for warning in caught:
            if not issubclass(warning.category, DuplicateSessionsWarning):
                warn_user(warning.message)
        info = {"count": total, "records": len(records), "sessions": len(frame), "rejected": rejected,
                "capped": capped}
        if capped:
            warn_user(FetchWarning(
                f"stopped at max_records={max_records:,}; "
                + (f"{total:,} sessions match" if total is not None else "more sessions match")))
        elif total is not None and len(frame) + rejected != total:
            warn_user(FetchWarning(
                f"the API counted {total:,} sessions but the pages held {len(records):,} records "
                f"for {len(frame) + rejected:,} distinct sessions (did the data change during the fetch?)"))
        frame.attrs["orq_nb"] = info
        return frame

    def _fetch(self, body: dict, total: int | None, max_records: int | None,
               progress: bool | None, call: Call) -> tuple[list, bool]:
        """All records of the query, in page order; and whether more remained.

        A server may serve fewer sessions a page than asked (a cap of its own): the first page's
        length then sets how many pages the count takes, and the pages past those already asked for
        are fetched the same way.
        """
        wanted = total if max_records is None or total is None else min(total, max_records)
        n_pages = max(1, math.ceil(wanted / self.page_size)) if wanted is not None else 1
        pages: dict[int, list] = {}
        seen: set = set()
        with progress_bar(progress, n_pages, "pages") as bar:
            def fetch(numbers: range) -> bool:
                more = False
                answers = run_all(lambda p: self._page(body, p, call), numbers, self.max_workers, call)
                for page, answer in enumerate(answers, numbers.start):
                    pages[page], more = answer
                    seen.update(_record_id(r) for r in pages[page])
                    bar.update(1)
                return more

            more = fetch(range(1, n_pages + 1))
            served = _served(pages[1], n_pages > 1 or more, self.page_size)
            if served and wanted is not None and math.ceil(wanted / served) > n_pages:
                log.info("the server serves %d sessions a page, not the %d asked for", served, self.page_size)
                needed = math.ceil(wanted / served)
                bar.total = needed  # tqdm redraws with the new total at its next update
                more = fetch(range(n_pages + 1, needed + 1))
            limit = self._page_limit(total, served)
            page = max(pages)
            # The last page says whether sessions were added since counting: keep walking.
            while more and pages[page] and _wants_more(pages, max_records):
                page += 1
                pages[page], more = self._page(body, page, call)
                _check_page(pages[page], more, page, seen, limit)
                bar.update(1)
        return [r for p in sorted(pages) for r in pages[p]], more

    # -- traces, spans, conversations and reports --------------------------------
    def _run(self, call: Call):
        return lambda fn, items: run_all(fn, items, self.max_workers, call)

    def _sessions_of(self, sessions: Any, call: Call) -> pd.DataFrame:
        """A sessions frame, or session ids (fetched first, side by side)."""
        if isinstance(sessions, pd.DataFrame):
            return sessions
        ids = [sessions] if isinstance(sessions, str) else list(sessions)
        if not all(isinstance(i, str) and i for i in ids):
            raise TypeError("sessions must be a sessions frame or session ids (str)")
        records = list(run_all(lambda i: self._one("GET", i, call=call), list(dict.fromkeys(ids)),
                               self.max_workers, call))
        return sessions_frame(records)

    def query_traces(self, sessions: pd.DataFrame | Iterable[str] | str, *, progress: bool | None = None,
                     errors: Errors = "raise", rejects: list | None = None,
                     deadline: float | None = None) -> pd.DataFrame:
        """Fetch the traces of sessions: one row per trace, joined to its session by ``session_id``.

        Sessions are batched into few searches (thread ids ``in`` their ``id`` and ``external_id``, within
        their active window and an hour's margin), each following its page tokens, up to ``max_workers``
        side by side. Which trace belongs to which session is not confirmed by orq.ai (see
        :mod:`orq_nb.api.trace_bodies`): traces found are checked against each session's
        ``traces_count``, and a shortfall is a :class:`~orq_nb.errors.TracesIncompleteWarning`.

        Parameters
        ----------
        sessions : DataFrame, or session ids
            A sessions frame (``id``, ``external_id``, ``started_at``, ``updated_at``, ``traces_count``), or
            ids, whose sessions are fetched first.
        progress : bool, optional
            A progress bar of searches; default: on for several.
        errors : {"raise", "skip"}, default "raise"
            Invalid trace records raise :class:`~orq_nb.errors.TraceValidationError`, or are skipped.
        rejects : list, optional
            Filled with skipped records and their reasons.
        deadline : float, optional
            Seconds the whole call may take.

        Returns
        -------
        DataFrame
            The columns of :func:`orq_nb.load.traces.trace_dtypes`, ``session_id`` first. ``attrs["orq_nb"]``
            holds ``searches``, ``pages``, ``chain`` (the longest run of sequential calls) and ``short``
            (the sessions that came back with fewer traces than they count).
        """
        check_errors(errors)
        call = Call(deadline)
        frame = self._sessions_of(sessions, call)
        refs = session_refs(frame, pd.Timestamp.now("UTC"))
        return fetch_traces(self._http.request, self._run(call), refs, workers=self.max_workers,
                            progress=progress, errors=errors, rejects=rejects, call=call)

    def query_spans(self, traces: pd.DataFrame | Iterable[str] | str, *, progress: bool | None = None,
                    errors: Errors = "raise", rejects: list | None = None,
                    deadline: float | None = None) -> pd.DataFrame:
        """Fetch the spans of traces: one row per span (model, provider, tokens, cached tokens, cost).

        Parameters
        ----------
        traces : DataFrame, or trace ids
            A traces frame (its ``session_id`` is carried to the spans), or trace ids.
        progress, errors, rejects, deadline
            As in :meth:`query_traces`.

        Returns
        -------
        DataFrame
            The columns of :func:`orq_nb.load.traces.span_dtypes`, ``session_id`` first.
        """
        check_errors(errors)
        call = Call(deadline)
        if isinstance(traces, pd.DataFrame):
            if "trace_id" not in traces.columns:
                raise ValueError("traces has no column 'trace_id': pass a traces frame or trace ids")
            owners = traces["session_id"] if "session_id" in traces.columns else [None] * len(traces)
            pairs = [(str(t), s if isinstance(s, str) else None)
                     for t, s in zip(traces["trace_id"], owners, strict=True)]
        else:
            pairs = [(str(t), None) for t in ([traces] if isinstance(traces, str) else traces)]
        return fetch_spans(self._http.request, self._run(call), pairs, progress=progress, errors=errors,
                           rejects=rejects, call=call)

    def _talk(self, trace_id: str) -> list:
        """A trace's conversation items as sent; none when the trace has none (404)."""
        try:
            answer = conversation_answer(self._http.request, trace_id)
        except OrqNotFoundError:
            return []
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise OrqAPIError(200, f"the conversation of trace {trace_id!r} is not {{items: [...]}}")
        return [i for i in items if isinstance(i, dict)]

    def conversation(self, trace_id: str) -> pd.DataFrame:
        """A trace's conversation, one row per message: ``trace_id``, ``position``, ``role``, ``type``,
        ``text`` and ``item`` (the message as sent, tool calls included)."""
        return fetch_conversation(self._http.request, trace_id)

    def report(self, metric: str = "genai.cost", *, start: Any, end: Any, grain: str = "day",
               group_by: Iterable[str] = (), filters: Mapping[str, str | Iterable[str]] | None = None
               ) -> pd.DataFrame:
        """A server-side report (``/v2/reporting``) as a tidy frame, never silently cut.

        The service caps an answer at 5,000 rows with no cursor: a full answer's window is split (in time,
        then by the first group) until none is full; ``attrs["orq_nb"]["calls"]`` says how many calls it
        took. Asked in UTC.

        Parameters
        ----------
        metric : str, default "genai.cost"
            ``genai.cost``, ``genai.tokens``, ``genai.requests``...
        start, end : datetime, Timestamp or ISO string
            The window, start inclusive, end exclusive (naive means UTC).
        grain : {"day", "hour", "minute"}, default "day"
        group_by : list of str
            ``model``, ``provider``, ``project``...
        filters : dict, optional
            Field to a value (``eq``) or a list of values (``in``), e.g. ``{"project": "support-bot"}``.

        Returns
        -------
        DataFrame
            ``time`` (the bucket's start, UTC), one column per ``group_by`` dimension, and the metric.
        """
        specs = []
        for key, value in (filters or {}).items():
            values = [value] if isinstance(value, str) else list(value)
            specs.append({"field": key, "op": "eq" if len(values) == 1 else "in", "values": values})
        group_by = [group_by] if isinstance(group_by, str) else list(group_by)
        return fetch_report(self._http.request, metric, start, end, grain, group_by, specs)

    # -- evaluation datasets -----------------------------------------------------
    def datasets(self) -> pd.DataFrame:
        """Every dataset of the workspace: ``id``, ``display_name``, ``datapoints`` (its count),
        ``project_id``, ``created``, ``updated``."""
        return list_datasets(self._http.request)

    def to_dataset(self, sessions: pd.DataFrame | Iterable[str] | str, dataset: str, *,
                   datapoint: Callable[[pd.Series, pd.DataFrame], Mapping | None] | None = None,
                   dry_run: bool = True, progress: bool | None = None) -> pd.DataFrame:
        """Turn sessions into datapoints of an orq.ai dataset, each session once, resumably.

        Each session becomes one datapoint. By default: the conversation of its **latest trace** (the
        trace carrying the most history) as ``messages``, up to, not including, the last assistant
        message, whose text becomes ``expected_output`` (so the answer does not leak into the input); its
        ``external_id``, ``tags`` and ``project_id`` in ``inputs``. Its ``id`` is always kept as
        ``inputs["orq_session_id"]``: a datapoint has no field for its source, and that is how sessions
        already in the dataset are recognised.

        Parameters
        ----------
        sessions : DataFrame, or session ids
            A sessions frame (a filtered one: the triaged sessions), or ids, fetched first.
        dataset : str
            A dataset's id, or its name: a name that one dataset has uses it; several datasets with it are
            a ValueError listing them; none, and a new dataset is created (``dry_run=False`` only).
        datapoint : callable, optional
            ``datapoint(session, conversation)`` (a row of ``sessions``, the latest trace's conversation as
            :meth:`conversation` gives it) returns ``{"inputs": ..., "messages": ..., "expected_output":
            ...}``, or None to leave the session out; ``orq_session_id`` is added to its inputs.
        dry_run : bool, default True
            Write nothing: say how many datapoints would be added, how many sessions are in the dataset
            already and how many have no conversation (no trace: a dry run fetches the conversations of
            the first few only, so one whose trace holds no messages is counted "would_add" there), and
            show the first datapoints as they would be sent.
        progress : bool, optional
            Progress bars for the fetches and the writes.

        Returns
        -------
        DataFrame
            One row per session: ``session_id``, ``datapoint_id``, ``status`` (``added``, ``present``,
            ``no_conversation``, ``would_add`` in a dry run, ``failed``), ``reason``, and ``datapoint`` (what
            would be sent, in a dry run, for the first few). ``attrs["orq_nb"]`` counts them and the calls.

        Raises
        ------
        orq_nb.errors.DatasetWriteError
            When some sessions could not be added: it names them and why; its ``.report`` is the frame.

        Notes
        -----
        Exactly once: the dataset's datapoints are listed before writing and sessions already present are
        skipped; bulk calls carry at most 5,000 items; after a lost answer, a timeout or a 5xx (the server may
        have written, or be writing still) the dataset is listed again, until two readings a moment apart
        agree, before anything is sent again. Run twice, nothing is added the
        second time; interrupted (Ctrl-C, a network fault) and run again, every session is there once.
        **Two runs at the same time into one dataset are not guarded against**: each may add what the other
        is adding. Nothing is written unless ``dry_run=False``.
        """
        call = Call(None)
        frame = self._sessions_of(sessions, call)
        planned = plan_dataset(
            self._http.request, lambda todo: self.query_traces(todo, progress=progress),
            self._talk, lambda fn, items: list(run_all(fn, items, self.max_workers, call)), frame, dataset,
            datapoint=datapoint, dry_run=dry_run, progress=progress)
        if dry_run:
            return planned.report
        return write_dataset(self._http.request, planned, progress=progress)

    # -- bulk relabelling ------------------------------------------------------
    def tag_sessions(self, ids_or_frame: Iterable[str] | pd.DataFrame, add: Iterable[str] = (),
                     remove: Iterable[str] = (), progress: bool | None = None,
                     records: dict | None = None, dry_run: bool = False,
                     deadline: float | None = None,
                     restore: Mapping[str, Iterable[str]] | None = None) -> pd.DataFrame:
        """Add and remove tags on many sessions, concurrently; report each one.

        Each session is read, and ``remove`` then ``add`` (keeping order,
        dropping repeats) apply to the tags the server holds at that moment;
        the session is written back only when they differ. The frame's copy of
        the tags is never written. One failure does not stop the others.

        Parameters
        ----------
        ids_or_frame : list of str, or DataFrame
            Session ids, or a sessions frame: then each row's ``updated_at``
            tells whether the server's record changed since the frame was read.
        add, remove : str or list of str
        progress : bool, optional
        records : dict, optional
            Filled with each session's record as the server last answered
            (loaded by the schema), by id: what a frame or store takes in.
        dry_run : bool, default False
            Read each session and report as usual, with ``changed`` meaning
            "would change" and ``tags_after`` the tags it would get; send no write.
        deadline : float, optional
            Seconds the whole call may take; sessions not done by then report
            the timeout as their error.
        restore : dict of id to tags, optional
            For an undo: a session whose relabelled tags are exactly the tags
            given here gets them back in that order.

        Returns
        -------
        DataFrame
            One row per session: ``id``, ``ok``, ``changed``, ``tags_before``,
            ``tags_after``, ``changed_elsewhere`` (the server's record was newer
            than the frame's when read, or its answer differs from what was
            written), ``error``. A failure on one session (an error answer, a
            lost connection, a timeout) is that row's ``error``: the report always
            comes back.

        Notes
        -----
        The API has no conditional update: between our read of a session and our
        write (one round trip) another writer's change to its tags can be lost.
        The answer to the write is compared with what was written and any
        difference marked ``changed_elsewhere``. Ctrl-C stops the call at once
        (nothing more is sent) after a warning that lists the sessions already
        changed.
        """
        frame = ids_or_frame if isinstance(ids_or_frame, pd.DataFrame) else None
        ids = list(frame["id"] if frame is not None else ids_or_frame)
        known = {} if frame is None else dict(zip(frame["id"], frame["updated_at"], strict=True))
        add, remove = tag_list(add), tag_list(remove)

        def relabel(session_id: str) -> dict:
            row = {"id": session_id, "ok": False, "changed": False, "tags_before": None,
                   "tags_after": None, "changed_elsewhere": False, "error": None}
            try:
                record = self._validated(self._one("GET", session_id, call=call))
                before = record["tags"]
                seen = known.get(session_id)
                row["changed_elsewhere"] = bool(
                    seen is not None and record.get("updated_at") is not None
                    and (pd.isna(seen) or pd.Timestamp(record["updated_at"]) > seen))
                after = relabelled(before, add, remove, (restore or {}).get(session_id))
                row["tags_before"], row["tags_after"] = before, after
                if after != before and dry_run:
                    row["changed"] = True
                elif after != before:
                    fields = {"tags": after} if after else {"clear_tags": True}
                    sent.append(session_id)
                    record = self._validated(self._patch(session_id, update_body(fields), call))
                    row["changed"] = True
                    row["changed_elsewhere"] |= record["tags"] != after
                    row["tags_after"] = record["tags"]
                row["ok"] = True
                if records is not None:
                    records[session_id] = record
            except _Cancelled:
                raise
            except Exception as error:  # noqa: BLE001 - one session's failure is its row, never the call's
                row["error"] = f"{type(error).__name__}: {self._http.mask(str(error))}"
            done.append(row)
            return row

        call, done, rows, sent = Call(deadline), [], [], []

        def interrupted() -> None:
            changed = [r["id"] for r in list(done) if r["changed"] and not dry_run]
            pending = [i for i in list(sent) if i not in set(changed)]
            warn_user(FetchWarning(
                f"tag_sessions interrupted: {len(changed):,} sessions were already changed on orq.ai"
                + (f": {', '.join(changed)}" if changed else "")
                + (f"; the writes to {', '.join(pending)} were under way and may have landed"
                   if pending else "")))

        try:
            with progress_bar(progress, len(ids), "sessions") as bar:
                for row in run_all(relabel, ids, self.max_workers, call):
                    rows.append(row)
                    bar.update(1)
        except KeyboardInterrupt:
            call.cancel()
            interrupted()
            raise
        report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
        return report.astype({"id": "str", "ok": bool, "changed": bool, "changed_elsewhere": bool})

