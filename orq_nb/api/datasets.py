"""Sessions into an orq.ai dataset, exactly once: a dry run first, bulk writes, a resume after a failure.

A datapoint has no field for where it came from, so each one carries its session's id as
``inputs["orq_session_id"]``: that is how a dataset's datapoints are matched to sessions, before writing
and after a lost answer. The guesses this rests on are kept here: :data:`PAGE` datapoints a listing page
(the API documents at most 50 datasets a page; for datapoints it does not say), :data:`BULK_MAX` items a
bulk call (documented) and :data:`BULK_BYTES` a body (not documented; kept well under common limits).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd

from orq_nb.api.progress import progress_bar
from orq_nb.errors import (
    SHOWN,
    DatasetWriteError,
    FetchWarning,
    OrqAPIError,
    OrqConnectionError,
    OrqNotFoundError,
    OrqPagingError,
    OrqTimeoutError,
    listing,
    warn_user,
)
from orq_nb.load.tags import as_tags
from orq_nb.load.traces import conversation_frame, message_text

__all__ = ["SOURCE_KEY", "PAGE", "BULK_MAX", "BULK_BYTES", "REPORT_COLUMNS", "default_datapoint",
           "resolve_dataset", "listed_sessions", "write_datapoints", "plan", "plan_dataset", "write_dataset",
           "create_dataset", "Planned", "list_datasets"]

SOURCE_KEY = "orq_session_id"
PAGE = 50
BULK_MAX = 5000
BULK_BYTES = 4_000_000
#: The answer's columns.
REPORT_COLUMNS = ["session_id", "datapoint_id", "status", "reason", "datapoint"]
#: Attempts at one bulk write whose answer was lost or an error after the server may have written.
_ATTEMPTS = 4
Request = Callable[..., Any]


def default_datapoint(session: pd.Series, conversation: pd.DataFrame) -> dict | None:
    """The default mapping: the conversation's messages up to, not including, its last assistant message
    (whose text is ``expected_output``, so the answer does not leak into the input); the session's ids,
    tags and project in ``inputs``. None (no datapoint) for a session without a conversation."""
    return _from_items(session, [dict(i) for i in conversation["item"]] if len(conversation) else [])


def _from_items(session: Any, items: list[dict]) -> dict | None:
    """:func:`default_datapoint` from the conversation's items as sent (no frame built per session)."""
    if not items:
        return None
    answers = (i for i, m in enumerate(items) if m.get("role") == "assistant" and message_text(m))
    last = max(answers, default=None)
    messages = items if last is None else items[:last]
    point: dict[str, Any] = {"inputs": {"external_id": _plain(session.get("external_id")),
                                        "tags": as_tags(session.get("tags")),
                                        "project_id": _plain(session.get("project_id"))},
                             "messages": messages}
    if last is not None:
        point["expected_output"] = message_text(items[last])
    return point


def _plain(value: Any) -> Any:
    return None if value is None or (not isinstance(value, list | dict) and pd.isna(value)) else value


def _check_point(point: Any, session_id: str) -> dict:
    """A datapoint as the bulk call takes it, the session's id in its inputs; a ValueError naming the
    session otherwise."""
    if not isinstance(point, Mapping) or set(point) - {"inputs", "messages", "expected_output"}:
        raise ValueError(f"session {session_id!r}: a datapoint is a dict of inputs, messages and "
                         f"expected_output, not {str(point)[:200]!r}")
    point = dict(point)
    inputs = point.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise ValueError(f"session {session_id!r}: inputs must be a dict")
    point["inputs"] = {**inputs, SOURCE_KEY: session_id}
    if "messages" in point and not isinstance(point["messages"], list):
        raise ValueError(f"session {session_id!r}: messages must be a list")
    if "expected_output" in point and not isinstance(point["expected_output"], str):
        raise ValueError(f"session {session_id!r}: expected_output must be a string")
    try:
        json.dumps(point, allow_nan=False)  # what requests sends: no NaN or infinity
    except (TypeError, ValueError) as error:
        raise ValueError(f"session {session_id!r}: the datapoint is not JSON ({error})") from None
    return point


def _pages(request: Request, path: str, query: dict) -> list[dict]:
    """Every item of a cursor-paged listing (``starting_after`` the last id)."""
    out: list[dict] = []
    after, seen = None, set()
    while True:
        params = {**query, "limit": PAGE, **({"starting_after": after} if after else {})}
        answer = request("GET", f"{path}?{urlencode(params)}")
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise OrqAPIError(200, f"{path}: not a list page: {str(answer)[:200]!r}")
        out.extend(answer["data"])
        if not answer.get("has_more") or not answer["data"]:
            return out
        last = answer["data"][-1]
        after = last.get("_id", last.get("id")) if isinstance(last, dict) else None
        if not isinstance(after, str) or after in seen:
            raise OrqPagingError(200, f"{path}: page {len(seen) + 1} says has_more but its last item gives "
                                      "no new cursor: the pages would never end")
        seen.add(after)


def resolve_dataset(request: Request, dataset: str) -> tuple[str | None, str, int]:
    """``(id, name, calls)``: the dataset ``dataset`` names (an id, or a display name matching exactly one);
    ``id`` None when no dataset has that name. Several with the name: a ValueError listing them."""
    try:
        found = request("GET", "/v2/datasets/" + quote(dataset, safe=""))
        return str(found.get("_id", found.get("id", dataset))), str(found.get("display_name", dataset)), 1
    except OrqNotFoundError:
        pass
    found = _pages(request, "/v2/datasets", {"search": dataset})
    matches = [d for d in found if d.get("display_name") == dataset]
    if len(matches) > 1:
        named = [f"{d.get('_id')} (created {d.get('created')}, "
                 f"{(d.get('metadata') or {}).get('datapoints_count')} datapoints)" for d in matches]
        head = f"{len(matches)} datasets are named {dataset!r}: pass the id of one:"
        raise ValueError(listing(head, named))
    if matches:
        return str(matches[0]["_id"]), dataset, 2
    return None, dataset, 2


def listed_sessions(request: Request, dataset_id: str) -> dict[str, str]:
    """The dataset's datapoints by the session each came from (``inputs.orq_session_id``)."""
    points = _pages(request, f"/v2/datasets/{quote(dataset_id, safe='')}/datapoints", {})
    out = {}
    for point in points:
        source = (point.get("inputs") or {}).get(SOURCE_KEY) if isinstance(point, dict) else None
        if isinstance(source, str):
            out.setdefault(source, str(point.get("_id", point.get("id"))))
    return out


#: Seconds between the two readings of a dataset after a failed write (times the attempt).
SETTLE = 1.0


def settled(request: Request, dataset_id: str, calls: list[int], attempt: int = 0) -> dict[str, str]:
    """The dataset's datapoints by session, read until two readings :data:`SETTLE` seconds apart agree
    (a write that timed out may still be under way on the server); at most five readings."""
    calls[0] += 1
    before = listed_sessions(request, dataset_id)
    for _ in range(4):
        time.sleep(SETTLE * (attempt + 1))
        calls[0] += 1
        now = listed_sessions(request, dataset_id)
        if now == before:
            return now
        before = now
    return before


def _chunks(items: list[tuple[str, dict]]) -> list[list[tuple[str, dict]]]:
    """Bulk calls of at most BULK_MAX items and about BULK_BYTES of JSON."""
    chunks: list[list[tuple[str, dict]]] = [[]]
    size = 0
    for session_id, point in items:
        length = len(json.dumps(point)) + 2
        if chunks[-1] and (len(chunks[-1]) >= BULK_MAX or size + length > BULK_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append((session_id, point))
        size += length
    return [c for c in chunks if c]


def write_datapoints(request: Request, dataset_id: str, items: list[tuple[str, dict]], *,
                     progress: bool | None) -> tuple[dict[str, str], dict[str, str], int]:
    """Add ``(session_id, datapoint)`` items in bulk calls; return ``(added, failed, calls)``: datapoint ids
    by session, reasons by session, and the calls made. After a lost answer or a 5xx (the server may have
    written), the dataset is listed again and only what is missing is sent again."""
    path = f"/v2/datasets/{quote(dataset_id, safe='')}/datapoints/bulk"
    added: dict[str, str] = {}
    failed: dict[str, str] = {}
    calls = [0]
    try:
        _write(request, path, dataset_id, _chunks(items), added, failed, calls, progress)
    except KeyboardInterrupt:
        interrupted(added)
        raise
    return added, failed, calls[0]


def _write(request: Request, path: str, dataset_id: str, chunks: list, added: dict, failed: dict,
           calls: list[int], progress: bool | None) -> None:
    with progress_bar(progress, len(chunks), "bulk calls") as bar:
        for chunk in chunks:
            pending = chunk
            for attempt in range(_ATTEMPTS):
                calls[0] += 1
                try:
                    answer = request("POST", path, {"items": [p for _, p in pending]}, retry_5xx=False)
                except (OrqConnectionError, OrqTimeoutError) as error:
                    reason = f"{type(error).__name__}: {error}"
                except OrqAPIError as error:
                    if error.status is None or error.status < 500:
                        for session_id, _ in pending:  # refused, or never sent: nothing was written
                            failed[session_id] = f"refused by orq.ai: {error}"
                        break
                    reason = f"{type(error).__name__}: {error}"
                else:
                    got = answer if isinstance(answer, list) else []
                    for (session_id, _), point in zip(pending, got, strict=False):
                        added[session_id] = str(point.get("_id", point.get("id")))
                    missing = pending[len(got):]
                    if not missing:
                        break
                    reason = f"the answer listed {len(got)} of {len(pending)} datapoints"
                # The server may have written, or may still be writing: read what the dataset holds, until
                # two readings a moment apart agree, before sending again.
                present = settled(request, dataset_id, calls, attempt)
                for session_id, _ in pending:
                    if session_id in present:
                        added[session_id] = present[session_id]
                pending = [(s, p) for s, p in pending if s not in added]
                if not pending:
                    break
                if attempt == _ATTEMPTS - 1:
                    for session_id, _ in pending:
                        failed[session_id] = f"not added after {_ATTEMPTS} attempts; last: {reason}"
            bar.update(1)


def plan(sessions: pd.DataFrame, present: Mapping[str, str], conversations: Mapping[str, pd.DataFrame],
         datapoint: Callable | None) -> tuple[list[tuple[str, dict]], pd.DataFrame]:
    """The items to send (session order) and the report's first draft: ``present``, ``no_conversation``,
    ``to_add`` for each session (each once). ``conversations`` has a session when it has a trace; its value
    is None when its conversation was not fetched (a dry run's sessions past the first few), else its latest
    trace's id and the conversation's items as sent."""
    rows, items = [], []
    for _, session in sessions.drop_duplicates("id").iterrows():
        sid = str(session["id"])
        if sid in present:
            rows.append((sid, present[sid], "present", "already in the dataset", None))
            continue
        if sid not in conversations:
            rows.append((sid, None, "no_conversation", "no trace found for it", None))
            continue
        talk = conversations[sid]
        if talk is None:  # a dry run builds the first few datapoints only
            rows.append((sid, None, "to_add", "", None))
            continue
        trace_id, messages = talk
        point = (_from_items(session, messages) if datapoint is None
                 else datapoint(session, conversation_frame({"items": messages}, trace_id)))
        if point is None:
            rows.append((sid, None, "no_conversation", "its conversation is empty", None))
            continue
        point = _check_point(point, sid)
        items.append((sid, point))
        rows.append((sid, None, "to_add", "", point))
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    return items, report


def finish(report: pd.DataFrame, added: Mapping[str, str], failed: Mapping[str, str]) -> pd.DataFrame:
    """The report after the writes: ``added`` or ``failed`` (with the reason) for each ``to_add``."""
    ids = report["session_id"]
    todo = report["status"] == "to_add"
    report.loc[todo & ids.isin(list(added)), "datapoint_id"] = ids[todo].map(added)
    report.loc[todo & ids.isin(list(added)), "status"] = "added"
    bad = todo & ids.isin(list(failed))
    report.loc[bad, "status"] = "failed"
    report.loc[bad, "reason"] = ids[bad].map(failed)
    report["datapoint"] = np.where(report["status"] == "added", None, report["datapoint"])
    return report


def interrupted(added: Mapping[str, str]) -> None:
    warn_user(FetchWarning(f"to_dataset interrupted: {len(added):,} datapoints were added; the call that was "
                           "under way may have added more. Run it again: it adds only what is missing."))


@dataclass
class Planned:
    """What a ``to_dataset`` call will do: the dataset (its id, None when it is to be created), the items to
    send and the report so far."""

    dataset_id: str | None
    name: str
    items: list[tuple[str, dict]]
    report: pd.DataFrame
    calls: int


def _latest_traces(traces: pd.DataFrame) -> dict[str, str]:
    """Each session's latest trace (the one that carries the most of its conversation)."""
    if not len(traces):
        return {}
    ordered = traces.sort_values(["session_id", "started_at"], kind="stable", na_position="first")
    last = ordered.dropna(subset=["session_id"]).drop_duplicates("session_id", keep="last")
    return dict(zip(last["session_id"], last["trace_id"], strict=True))


def plan_dataset(request: Request, traces_of: Callable, conversation_of: Callable, run: Callable,
                 frame: pd.DataFrame, dataset: str, *, datapoint: Callable | None, dry_run: bool,
                 progress: bool | None) -> Planned:
    """Resolve the dataset, list it, find each new session's latest trace and (all of them, or in a dry run
    the first few) its conversation, and map them to datapoints."""
    if not isinstance(dataset, str) or not dataset:
        raise ValueError("dataset must be a dataset's id or name (a non-empty str)")
    dataset_id, name, calls = resolve_dataset(request, dataset)
    present = listed_sessions(request, dataset_id) if dataset_id else {}
    calls += 1 if dataset_id else 0
    todo = frame[~frame["id"].isin(list(present))].drop_duplicates("id")
    traces = traces_of(todo) if len(todo) else pd.DataFrame(columns=["session_id", "trace_id", "started_at"])
    latest = _latest_traces(traces)
    calls += (traces.attrs.get("orq_nb") or {}).get("pages", 0)
    wanted = [s for s in todo["id"] if s in latest]
    build = wanted[:SHOWN] if dry_run else wanted
    talks = dict(zip(build, run(lambda s: (latest[s], conversation_of(latest[s])), build), strict=True)) if (
        build) else {}
    items, report = plan(frame, present, {s: talks.get(s) for s in wanted}, datapoint)
    if dry_run:
        report["status"] = report["status"].replace({"to_add": "would_add"})
    info = {"dataset": dataset_id, "name": name, "creates": dataset_id is None,
            **report["status"].value_counts().to_dict(), "calls": calls + len(build)}
    report.attrs["orq_nb"] = info
    return Planned(dataset_id, name, items, report, calls + len(build))


def create_dataset(request: Request, name: str) -> str:
    """Create a dataset named ``name`` and return its id. A lost answer is checked by name before any
    second try, so that one call makes one dataset."""
    try:
        made = request("POST", "/v2/datasets", {"display_name": name}, retry_5xx=False)
        return str(made.get("_id", made.get("id")))
    except (OrqConnectionError, OrqTimeoutError, OrqAPIError) as error:
        if not isinstance(error, OrqConnectionError | OrqTimeoutError) and (error.status is None
                                                                          or error.status < 500):
            raise
        for wait in (0.0, SETTLE, 2 * SETTLE):  # it may have been made, and not be listed yet
            time.sleep(wait)
            dataset_id, _, _ = resolve_dataset(request, name)
            if dataset_id is not None:
                return dataset_id
        made = request("POST", "/v2/datasets", {"display_name": name}, retry_5xx=False)
        return str(made.get("_id", made.get("id")))


def write_dataset(request: Request, planned: Planned, *, progress: bool | None) -> pd.DataFrame:
    """Create the dataset if it is new, add the planned items, and report; a DatasetWriteError when some
    sessions were not added."""
    report = planned.report
    dataset_id = planned.dataset_id
    calls = planned.calls
    if planned.items and dataset_id is None:
        dataset_id = create_dataset(request, planned.name)
        calls += 1
    added, failed, written = write_datapoints(request, dataset_id, planned.items, progress=progress) if (
        planned.items) else ({}, {}, 0)
    report = finish(report, added, failed)
    report.attrs["orq_nb"] = {"dataset": dataset_id, "name": planned.name,
                              "created": planned.dataset_id is None and dataset_id is not None,
                              **report["status"].value_counts().to_dict(), "calls": calls + written}
    if failed:
        named = [f"{s}: {why}" for s, why in failed.items()]
        raise DatasetWriteError(listing(f"{len(failed):,} of {len(planned.items):,} sessions were not added "
                                        f"to dataset {planned.name!r} (run again to add only what is "
                                        "missing):", named), report)
    return report


def list_datasets(request: Request) -> pd.DataFrame:
    """Every dataset: ``id``, ``display_name``, ``datapoints``, ``project_id``, ``created``, ``updated``."""
    rows = [(d.get("_id", d.get("id")), d.get("display_name"),
             (d.get("metadata") or {}).get("datapoints_count"), d.get("project_id"), d.get("created"),
             d.get("updated")) for d in _pages(request, "/v2/datasets", {})]
    columns = ["id", "display_name", "datapoints", "project_id", "created", "updated"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"id": "str", "display_name": "str", "datapoints": "Int64", "project_id": "str"})
