"""Request bodies for the sessions API, from friendly arguments and the schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from orq_nb.load.schemas import SessionSchema, to_wire, wire_key
from orq_nb.load.times import unix_ms

__all__ = ["INTERVALS", "KINDS", "filters_body", "update_body"]

INTERVALS = (
    "UNSPECIFIED", "ALL_TIME", "LAST_30_MINUTES", "LAST_1_HOUR", "LAST_6_HOURS", "LAST_24_HOURS",
    "LAST_3_DAYS", "LAST_7_DAYS", "LAST_14_DAYS", "LAST_1_MONTH", "LAST_3_MONTHS",
)
KINDS = ("CONVERSATION", "CODING_AGENT")
_CLEARS = {"clear_tags": "tags", "clear_contact_ids": "contact_ids"}


def _enum(value: str, prefix: str, names: Iterable[str], what: str) -> str:
    name = str(value).strip().upper().replace("-", "_").replace(" ", "_")
    name = name.removeprefix(prefix)
    if name not in names:
        choices = ", ".join(n.lower() for n in names)
        raise ValueError(f"unknown {what} {value!r}; use one of: {choices}")
    return prefix + name


def interval_name(value: str) -> str:
    """``"last_7_days"``, ``"LAST_7_DAYS"`` or the API's full name -> the API's name."""
    return _enum(value, "SESSION_INTERVAL_", INTERVALS, "interval")


def kind_name(value: str) -> str:
    """``"conversation"`` / ``"coding_agent"`` or the full name -> ``THREAD_KIND_*``."""
    return _enum(value, "THREAD_KIND_", KINDS, "kind")


def filters_body(
    interval: str | None = None,
    project_id: str | None = None,
    tags: Iterable[str] | str | None = None,
    start: Any = None,
    end: Any = None,
    kind: str | None = None,
    client: str | None = None,
    repo: str | None = None,
) -> dict[str, Any]:
    """The ``filters`` object of a list or count request.

    Without ``interval``, a ``start``/``end`` window is sent with interval
    ``UNSPECIFIED`` and no window at all with ``ALL_TIME``.
    """
    if interval is None:
        interval = "unspecified" if start is not None or end is not None else "all_time"
    filters: dict[str, Any] = {"interval": interval_name(interval)}
    if project_id is not None:
        filters["project_id"] = project_id
    if tags is not None:
        filters["tags"] = [tags] if isinstance(tags, str) else list(tags)
    if start is not None:
        filters["start_date"] = unix_ms(start)
    if end is not None:
        filters["end_date"] = unix_ms(end)
    if kind is not None:
        filters["kind"] = kind_name(kind)
    if client is not None:
        filters["client"] = client
    if repo is not None:
        filters["repo"] = repo
    return filters


def update_body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body for ``fields`` named as DataFrame columns (``duration_ms``, ``tags``...).

    Values are checked by ``SessionSchema`` (partially: only what is given).
    ``clear_tags`` / ``clear_contact_ids`` exclude ``tags`` / ``contact_ids``.
    """
    schema = SessionSchema(partial=True)
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _CLEARS:
            if _CLEARS[name] in fields:
                raise ValueError(f"{name} cannot be combined with {_CLEARS[name]}")
            body[name] = bool(value)
            continue
        field = schema.fields.get(name)
        if field is None or name == "id":
            known = ", ".join(n for n in [*schema.fields, *_CLEARS] if n != "id")
            raise TypeError(f"cannot update {name!r}; fields: {known}")
        if isinstance(value, dt.datetime):
            value = pd.Timestamp(value).isoformat()
        elif isinstance(value, Mapping):
            value = to_wire(value, field.schema) if hasattr(field, "schema") else dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        body[wire_key(name, field)] = value
    errors = schema.validate({k: v for k, v in body.items() if k not in _CLEARS})
    if errors:
        raise ValueError(f"invalid update: {errors}")
    return body
