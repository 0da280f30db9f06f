"""What the sessions API refuses in a request body, as the official SDK's request models do.

The fake server answers 400 to these, as the service would: an interval or a
kind the API does not name, a window that is not a string of Unix
milliseconds, a fractional count, a null (which an update would drop), a field
the update has not. It is also stricter than the SDK's models in one way: an
unknown key is refused rather than ignored, so that a client sending one is
found out here and not on the service.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from orq_nb.api.bodies import CLEARS, INTERVALS, KINDS, updatable_fields
from orq_nb.load.fields import NonNegativeCount, NonNegativeNumber, StringList, UtcDateTime

__all__ = ["filters_problem", "page_problem", "update_problem"]

_TEXT_FILTERS = ("project_id", "client", "repo")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def filters_problem(filters: Any) -> str | None:
    """Why a list or count request's ``filters`` would be refused, or None."""
    if not isinstance(filters, dict) or "interval" not in filters:
        return "filters.interval is required"
    if filters["interval"] not in ["SESSION_INTERVAL_" + name for name in INTERVALS]:
        return f"unknown interval {filters['interval']!r}"
    for key, value in filters.items():
        if key == "interval":
            continue
        if key in _TEXT_FILTERS:
            ok = isinstance(value, str)
        elif key == "tags":
            ok = _strings(value)
        elif key in ("start_date", "end_date"):
            ok = isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit()
        elif key == "kind":
            ok = value in ["THREAD_KIND_" + name for name in KINDS]
        else:
            return f"unknown filter {key!r}"
        if not ok:
            return f"filters.{key}: invalid value {value!r}"
    return None


def page_problem(body: Any) -> str | None:
    """Why a list or count request's body would be refused, or None."""
    if not isinstance(body, dict):
        return "a JSON object is required"
    for key in body:
        if key not in ("filters", "limit", "page"):
            return f"unknown key {key!r}"
    for key in ("limit", "page"):
        if key in body and not (_is_int(body[key]) and body[key] > 0):
            return f"{key} must be a positive integer, not {body[key]!r}"
    return filters_problem(body.get("filters"))


def _value_problem(name: str, field: fields.Field, value: Any) -> str | None:
    if value is None:
        return f"{name}: null is not a value"
    if name == "kind":
        ok = value in ["THREAD_KIND_" + k for k in KINDS]
    elif isinstance(field, fields.Nested):
        if not isinstance(value, dict):
            return f"{name}: an object is required"
        inner = {f.data_key or n: f for n, f in field.schema.fields.items()}
        for key in value:
            if key not in inner:
                return f"{name}.{key}: unknown key"
        for key, sub in inner.items():
            if key not in value:
                return f"{name}.{key}: required"
            problem = _value_problem(f"{name}.{key}", sub, value[key])
            if problem:
                return problem
        return None
    elif isinstance(field, NonNegativeNumber):
        ok = _is_int(value) if isinstance(field, NonNegativeCount) else _is_number(value)
    elif isinstance(field, StringList):
        ok = _strings(value)
    elif isinstance(field, UtcDateTime):
        try:
            field.deserialize(value)
            ok = True
        except Exception:  # noqa: BLE001 - any refusal of the schema's own field
            ok = False
    else:
        ok = isinstance(value, str)
    return None if ok else f"{name}: invalid value {value!r}"


def update_problem(body: Any) -> str | None:
    """Why an update (PATCH) body would be refused, or None."""
    if not isinstance(body, dict):
        return "an object of fields is required"
    updatable = {(f.data_key or n): f for n, f in updatable_fields().items()}
    for key, value in body.items():
        if key in CLEARS:
            if not isinstance(value, bool):
                return f"{key} must be a boolean"
            if value and CLEARS[key] in body:
                return f"{key} and {CLEARS[key]} are mutually exclusive"
            continue
        if key not in updatable:
            return f"{key!r} is not a field of an update"
        problem = _value_problem(key, updatable[key], value)
        if problem:
            return problem
    return None
