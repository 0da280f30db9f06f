"""Everything orq_nb raises and warns, in one module, as ``requests.exceptions`` and ``pandas.errors`` are.

A caller catches :class:`OrqError` for any failure about data, files, the API or the store, and filters
:class:`OrqWarning` (a ``UserWarning``) to silence or raise every warning orq_nb issues. Wrong arguments
stay plain ``ValueError``/``TypeError``, as in pandas. The module sits below every layer, so each raises
from here; none of these ever holds the API key.

What a load rejected travels with its error or warning: :class:`Reject` (one record, why) and
:class:`Rejects` (all of them, ``.to_frame()`` as a table).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "OrqError", "OrqWarning",
    # loading
    "Reject", "Rejects", "SessionValidationError", "SessionFileError", "SessionsSkippedWarning",
    "DuplicateSessionsWarning", "RoundedCountsWarning", "TraceValidationError", "TracesSkippedWarning",
    # analysis
    "UnknownTagWarning", "StaleDataWarning",
    # the API
    "OrqAPIError", "OrqAuthError", "OrqNotFoundError", "OrqRateLimitError", "OrqConnectionError",
    "OrqTimeoutError", "OrqRedirectError", "OrqPagingError", "FetchWarning", "TracesIncompleteWarning",
    "ReportTruncatedWarning", "DatasetWriteError",
    # the store
    "StoreError", "StoreScopeError", "StoreDriftWarning", "VacuumWarning",
]

_PACKAGE_DIR = str(Path(__file__).resolve().parent)

class OrqError(Exception):
    """Base class of every failure orq_nb reports about data, files, the API or the store."""


class OrqWarning(UserWarning):
    """Base class of every warning orq_nb issues."""


def warn_user(warning: Warning) -> None:
    """Issue ``warning`` attributed to the first caller outside orq_nb."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    warnings.warn(warning, stacklevel=level)


# Loading: rejected records, bad files, duplicate ids.

#: How many rejects an error or warning message spells out.
SHOWN = 5


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error messages to ``{"billing.total_cost": [...]}``."""
    if isinstance(messages, Mapping):
        out: dict[str, list[str]] = {}
        for key, value in messages.items():
            if key == "_schema":
                path = prefix or "(record)"
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for sub, texts in flatten_messages(value, path).items():
                out.setdefault(sub, []).extend(texts)
        return out
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return {prefix or "(record)": list(messages)}
    return {prefix or "(record)": [str(messages)]}


def record_id(record: Any) -> str | None:
    """Return a record's id under either key style, if it has a usable one."""
    if isinstance(record, Mapping):
        for key in ("_id", "id", "span_id", "trace_id"):
            value = record.get(key)
            if isinstance(value, str) and value:
                return value
    return None


@dataclass(frozen=True)
class Reject:
    """One rejected record: where it was, its id, why, and the record itself.

    Attributes
    ----------
    position : int
        0-based position among all the session records given (pages flattened).
    id : str or None
        The record's id, when it had a usable one.
    errors : dict of str to list of str
        marshmallow's messages by field path, e.g. ``{"billing.total_cost": [...]}``.
    record : object
        The rejected input, unchanged.
    """

    position: int
    id: str | None
    errors: dict[str, list[str]]
    record: Any = field(repr=False)

    @classmethod
    def from_error(cls, position: int, record: Any, error: Any) -> Reject:
        """The reject for ``record`` that marshmallow refused with ``error``."""
        return cls(position, record_id(record), flatten_messages(error.messages), record)

    @property
    def reason(self) -> str:
        """All messages in one line, each prefixed with its field path."""
        return "; ".join(f"{path}: {' '.join(texts)}" for path, texts in self.errors.items())

    def __str__(self) -> str:
        return f"{record_name(self.position, self.id)}: {self.reason}"


class Rejects(list):
    """A list of :class:`Reject` that can show itself as a table."""

    def to_frame(self) -> pd.DataFrame:
        """Return one row per rejected field: position, id, field, reason, record."""
        rows = [
            (r.position, r.id, path, " ".join(texts), r.record)
            for r in self
            for path, texts in r.errors.items()
        ]
        return pd.DataFrame(rows, columns=["position", "id", "field", "reason", "record"])


def record_name(position: int, id: str | None) -> str:
    """How a message names a record: ``record 3 (id 'ses_1')``."""
    return f"record {position}" + (f" (id {id!r})" if id else "")


def listing(head: str, items: list) -> str:
    """``head``, then the first :data:`SHOWN` items one a line, and how many more there are."""
    lines = [head] + [f"  {item}" for item in items[:SHOWN]]
    if len(items) > SHOWN:
        lines.append(f"  ... and {len(items) - SHOWN:,} more")
    return "\n".join(lines)


def describe(rejects: Iterable[Reject], total: int, verb: str, what: str = "session") -> str:
    """Return a message naming the first few rejects and counting the rest."""
    rejects = list(rejects)
    return listing(f"{len(rejects):,} of {total:,} {what} records {verb}:", rejects)


class SessionValidationError(OrqError, ValueError):
    """Raised when session records fail validation and ``errors="raise"``.

    ``.rejects`` holds every rejected record (a :class:`Rejects`), not only the
    ones the message names.
    """

    def __init__(self, rejects: Iterable[Reject], total: int) -> None:
        self.rejects = Rejects(rejects)
        self.total = total
        hint = "\n(errors='skip' keeps the valid records; .rejects has them all)"
        super().__init__(describe(self.rejects, total, "are invalid") + hint)


class SessionsSkippedWarning(OrqWarning):
    """Warned when ``errors="skip"`` dropped invalid records; ``.rejects`` has them."""

    def __init__(self, rejects: Iterable[Reject], total: int) -> None:
        self.rejects = Rejects(rejects)
        hint = "\n(pass rejects=[] to collect them with their reasons)"
        super().__init__(describe(self.rejects, total, "were invalid and skipped") + hint)


class TraceValidationError(OrqError, ValueError):
    """Raised when trace, span or conversation records fail validation and ``errors="raise"``;
    ``.rejects`` holds every rejected record with its reasons by field."""

    def __init__(self, rejects: Iterable[Reject], total: int, what: str = "trace") -> None:
        self.rejects = Rejects(rejects)
        self.total = total
        hint = "\n(errors='skip' keeps the valid records; .rejects has them all)"
        super().__init__(describe(self.rejects, total, "are invalid", what) + hint)


class TracesSkippedWarning(OrqWarning):
    """Warned when ``errors="skip"`` dropped invalid trace or span records; ``.rejects`` has them."""

    def __init__(self, rejects: Iterable[Reject], total: int, what: str = "trace") -> None:
        self.rejects = Rejects(rejects)
        hint = "\n(pass rejects=[] to collect them with their reasons)"
        super().__init__(describe(self.rejects, total, "were invalid and skipped", what) + hint)


class TracesIncompleteWarning(OrqWarning):
    """Warned when fewer traces came back for some sessions than their ``traces_count`` says (or fewer
    spans than a trace's). Which trace belongs to which session is not confirmed by orq.ai: a shortfall
    may mean the service joins them differently. The frame's ``attrs["orq_nb"]["short"]`` lists them."""


class ReportTruncatedWarning(OrqWarning):
    """Warned when a reporting answer still came back full (at the service's cap) for a single grain unit
    of a single group, so that it may be cut; the frame's ``attrs["orq_nb"]["full"]`` lists those."""


class DuplicateSessionsWarning(OrqWarning):
    """Warned when records repeat a session id; the most recently updated is kept."""


class RoundedCountsWarning(OrqWarning):
    """Records carried counts (tokens, ``traces_count``) with a fraction, as the API reference's placeholder
    example does; they loaded rounded to the nearest whole number. The message names them."""


class SessionFileError(OrqError, ValueError):
    """Raised when a sessions file is not the JSON it claims to be."""


# Analysis.

class UnknownTagWarning(OrqWarning):
    """A filter named a tag that no session has (often a typo); the closest existing tags are named."""


class StaleDataWarning(OrqWarning):
    """A forecast's ``as_of`` lies more than a day after the data's last session: the days between count as
    $0 (often an old export or the bundled sample forecast from today)."""


# The API (raised by OrqClient).

class OrqAPIError(OrqError):
    """The API answered with an error, or with a body that is not the JSON promised.

    Attributes
    ----------
    status : int or None
        HTTP status (None when no answer came, e.g. the connection kept failing).
    message : str
        The server's message, or a short excerpt of what it sent.
    """

    def __init__(self, status: int | None, message: str, method: str = "", path: str = "") -> None:
        self.status, self.message, self.method, self.path = status, message, method, path
        where = f"{method} {path}: " if method else ""
        code = f"HTTP {status}" if status is not None else "no answer"
        super().__init__(f"{where}{code}: {message}")


class OrqAuthError(OrqAPIError):
    """401 or 403: the API key is missing, wrong, or not allowed to do this."""

    def __init__(self, status: int | None, message: str, method: str = "", path: str = "") -> None:
        if status is None:  # refused before any request: no status, no "HTTP" in the message
            self.status, self.message, self.method, self.path = None, message, method, path
            Exception.__init__(self, message)
            return
        hint = " (check the key given as api_key= or in ORQ_API_KEY)"
        super().__init__(status, message + hint, method, path)

    @classmethod
    def no_key(cls) -> OrqAuthError:
        """The error of a client made without a key: nothing was sent, and how to give one."""
        return cls(None, "no API key was given, so no request was made. Give one as "
                         "OrqClient(api_key=...) or in the ORQ_API_KEY environment variable (your orq.ai "
                         "workspace's settings list its API keys).")


class OrqNotFoundError(OrqAPIError):
    """404: no such session (or endpoint)."""


class OrqRateLimitError(OrqAPIError):
    """429 still answered after every retry."""


class OrqConnectionError(OrqAPIError):
    """No whole answer came: the connection failed, dropped, or the body was cut mid-way."""


class OrqTimeoutError(OrqAPIError):
    """A request (with its retries) or a whole call ran past its deadline.

    A server trickling its answer byte by byte is cut off at the deadline too.
    """


class OrqRedirectError(OrqAPIError):
    """The API answered with a redirect (3xx): never followed, its ``location`` is named."""

    def __init__(self, status: int, location: str, method: str = "", path: str = "") -> None:
        self.location = location
        super().__init__(status, f"redirected to {location!r}; check base_url (redirects are not "
                                 "followed: a POST would turn into a GET, and the key go elsewhere)",
                         method, path)


class OrqPagingError(OrqAPIError):
    """The list pages never end: a page repeats, or more pages come than the count allows."""


class DatasetWriteError(OrqError):
    """Some sessions could not be added to a dataset. The message names them and says why; ``.report`` is
    the whole answer (one row per session: ``session_id``, ``datapoint_id``, ``status``, ``reason``), the
    ones added included. Running the same call again adds only what is missing."""

    def __init__(self, message: str, report: Any = None) -> None:
        self.report = report
        super().__init__(message)


class FetchWarning(OrqWarning):
    """A fetch was capped by ``max_records``, or its total disagreed with the count."""


# The store.

class StoreError(OrqError):
    """A session store could not be read or written (a conflicting writer, a damaged table...)."""


class StoreScopeError(StoreError, ValueError):
    """``sync`` was asked for other filters than the store's scope: use another path."""


class StoreDriftWarning(OrqWarning):
    """After a sync, the server counts another number of sessions in scope than the store holds."""


class VacuumWarning(OrqWarning):
    """``vacuum`` deleted files that older versions need: those versions can no longer be read."""
