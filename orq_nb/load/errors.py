"""What the load layer raises and warns: rejected records, bad files, duplicate ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from orq_nb.errors import OrqError, OrqWarning

__all__ = [
    "Reject",
    "Rejects",
    "SessionValidationError",
    "SessionsSkippedWarning",
    "DuplicateSessionsWarning",
    "SessionFileError",
]

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
        for key in ("_id", "id"):
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
        who = f"record {self.position}" + (f" (id {self.id!r})" if self.id else "")
        return f"{who}: {self.reason}"


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


def describe(rejects: Iterable[Reject], total: int, verb: str) -> str:
    """Return a message naming the first few rejects and counting the rest."""
    rejects = list(rejects)
    lines = [f"{len(rejects):,} of {total:,} session records {verb}:"]
    lines += [f"  {r}" for r in rejects[:SHOWN]]
    if len(rejects) > SHOWN:
        lines.append(f"  ... and {len(rejects) - SHOWN:,} more")
    return "\n".join(lines)


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


class DuplicateSessionsWarning(OrqWarning):
    """Warned when records repeat a session id; the most recently updated is kept."""


class SessionFileError(OrqError, ValueError):
    """Raised when a sessions file is not the JSON it claims to be."""
