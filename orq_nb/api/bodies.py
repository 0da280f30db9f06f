"""Request bodies for the sessions API, from friendly arguments and the schema."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from marshmallow import fields

from orq_nb.load.fields import NonNegativeCount
from orq_nb.load.schemas import SessionSchema, to_wire, wire_key
from orq_nb.load.times import unix_ms, utc_timestamp

__all__ = ["INTERVALS", "KINDS", "CLEARS", "filters_body", "update_body", "updatable_fields"]

#: The intervals the API accepts (the official SDK's ``SessionInterval``); a custom window is
#: ``start_date``/``end_date`` with ``ALL_TIME``.
INTERVALS = (
    "ALL_TIME", "LAST_30_MINUTES", "LAST_1_HOUR", "LAST_6_HOURS", "LAST_24_HOURS",
    "LAST_3_DAYS", "LAST_7_DAYS", "LAST_14_DAYS", "LAST_1_MONTH", "LAST_3_MONTHS",
)
KINDS = ("CONVERSATION", "CODING_AGENT")
#: The update flags that clear a list field, and that field (each excludes sending the field itself).
CLEARS = {"clear_tags": "tags", "clear_contact_ids": "contact_ids"}


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

    Without ``interval`` the interval is ``SESSION_INTERVAL_ALL_TIME``: with
    ``start``/``end`` that is the API's custom activity window (``start_date`` /
    ``end_date``, strings of Unix milliseconds), without them no window at all.
    """
    filters: dict[str, Any] = {"interval": interval_name("all_time" if interval is None else interval)}
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


def takes_filters(*, exclude: Mapping[str, str] | None = None) -> Callable:
    """Give a function that takes ``**filters`` the parameters of :func:`filters_body` as its own.

    Its signature (what a notebook's Shift-Tab shows) lists every filter, keyword-only with its default,
    in place of ``**filters``, so that the filters are written once, here; a keyword that is neither
    one of them nor the function's own is a TypeError naming the function. ``exclude``: filters the
    function does not take, each with the reason a caller who passes it is told (a ValueError).
    """
    exclude = dict(exclude or {})
    every = inspect.signature(filters_body).parameters.items()
    filters = [p.replace(kind=p.KEYWORD_ONLY) for name, p in every if name not in exclude]
    names = {p.name for p in filters}

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)
        own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        positional = [p for p in own if p.kind is not p.KEYWORD_ONLY]
        keyword = [p for p in own if p.kind is p.KEYWORD_ONLY]
        allowed = names | {p.name for p in own}

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refused = sorted(set(kwargs) & set(exclude))
            if refused:
                raise ValueError(f"{refused[0]}= is not a filter of {function.__qualname__}(): "
                                 f"{exclude[refused[0]]}")
            unknown = sorted(set(kwargs) - allowed)
            if unknown:
                raise TypeError(f"{function.__qualname__}() got an unexpected keyword argument "
                                f"{unknown[0]!r}; "
                                f"the filters are {', '.join(sorted(names))}")
            return function(*args, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=[*positional, *filters, *keyword])
        return wrapper

    return decorate


@functools.cache
def _partial_schema() -> SessionSchema:
    """One schema for every update's checks (made once: a marshmallow schema is costly to build)."""
    return SessionSchema(partial=True)


def updatable_fields() -> dict[str, Any]:
    """The fields an update may send, by column name: the schema's, less those marked ``update=False``."""
    return {name: field for name, field in _partial_schema().fields.items()
            if field.metadata.get("update", True)}


def _whole(value: Any, name: str) -> Any:
    """A count the API takes as an integer: ``2`` or ``2.0`` become ``2``; ``2.5`` is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a whole number, not {type(value).__name__} {value!r}")
    if value != value or value in (float("inf"), float("-inf")) or int(value) != value:
        raise ValueError(f"{name} must be a whole number (the API takes an integer), not {value!r}")
    return int(value)


def _wire_value(name: str, field: Any, value: Any) -> Any:
    """One field's value as the update body carries it: times as ISO 8601, integers as int, objects
    in the wire form, the kind by its API name."""
    if value is None:
        hint = f"; clear_{name}=True clears them" if name in CLEARS.values() else ""
        raise ValueError(f"{name}=None would not clear {name}: the API's update drops a null "
                         f"(the official SDK leaves it out){hint}")
    if name == "kind":
        return kind_name(value)
    if isinstance(value, dt.datetime):  # in UTC, as the API writes times (naive means UTC)
        return utc_timestamp(value).isoformat().replace("+00:00", "Z")
    if isinstance(field, fields.Nested):
        if not isinstance(value, Mapping):
            raise TypeError(f"{name} must be a mapping of {', '.join(field.schema.fields)}, not {value!r}")
        value = to_wire(value, field.schema)
        return {key: _whole(v, f"{name}.{key}") if key in field.schema.fields
                and isinstance(field.schema.fields[key], NonNegativeCount) else v for key, v in value.items()}
    if isinstance(field, NonNegativeCount):
        return _whole(value, name)
    return list(value) if isinstance(value, tuple) else value


def update_body(fields_: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body for ``fields_`` named as DataFrame columns (``duration_ms``, ``tags``...).

    Values are checked by ``SessionSchema`` (partially: only what is given) and
    by what the API's update takes: whole numbers for counts, a known ``kind``,
    no ``None`` (which would not clear anything), no field the update has not
    (``workspace_id``). ``clear_tags`` / ``clear_contact_ids`` exclude ``tags`` /
    ``contact_ids``. Anything refused raises before a request is sent.
    """
    updatable = updatable_fields()
    body: dict[str, Any] = {}
    for name, value in fields_.items():
        if name in CLEARS:
            if CLEARS[name] in fields_:
                raise ValueError(f"{name} cannot be combined with {CLEARS[name]}")
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, not {value!r}")
            body[name] = value
            continue
        field = updatable.get(name)
        if field is None:
            known = ", ".join([*updatable, *CLEARS])
            raise TypeError(f"cannot update {name!r}; fields: {known}")
        body[wire_key(name, field)] = _wire_value(name, field, value)
    errors = _partial_schema().validate({k: v for k, v in body.items() if k not in CLEARS})
    if errors:
        raise ValueError(f"invalid update: {errors}")
    return body
