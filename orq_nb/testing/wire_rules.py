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

__all__ = ["filters_problem", "page_problem", "update_problem", "search_problem", "report_problem"]

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


#: What the fake's traces search knows: its filter fields and operators (``/v3/traces/fields`` on the
#: real service tells more), and the most values an ``in``/``not_in`` takes.
SEARCH_FIELDS = ("thread_id", "session_id", "trace_id", "project_id", "status")
SEARCH_OPS = ("eq", "neq", "in", "not_in", "exists")
MAX_VALUES = 100
_SEARCH_KEYS = {"from", "to", "filters", "filter_operator", "sort", "limit", "page_token"}
_REPORT_KEYS = {"metric", "from", "to", "grain", "group_by", "filters", "limit", "time_zone",
                "include_totals", "mode", "sort"}
REPORT_METRICS = ("genai.cost", "genai.tokens", "genai.requests")
REPORT_GROUPS = ("model", "provider", "project")
REPORT_CAP = 5000


def _rfc3339(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = UtcDateTime().deserialize(value)
    except Exception:  # noqa: BLE001 - any failure is "not a time"
        return False
    return parsed is not None and ("Z" in value or "+" in value[10:] or "-" in value[10:])


def _filter_problem(spec: Any, fields_: tuple[str, ...], ops: tuple[str, ...]) -> str | None:
    if not isinstance(spec, dict) or set(spec) - {"field", "op", "values"}:
        return f"a filter is {{field, op, values}}, not {spec!r}"
    if spec.get("field") not in fields_:
        return f"unknown filter field {spec.get('field')!r}"
    if spec.get("op") not in ops:
        return f"unknown operator {spec.get('op')!r}"
    values = spec.get("values")
    if spec["op"] == "exists":
        return None
    if not _strings(values) or not values:
        return f"{spec['op']} needs a list of strings"
    if spec["op"] in ("eq", "neq") and len(values) != 1:
        return f"{spec['op']} takes exactly one value"
    if len(values) > MAX_VALUES:
        return f"{spec['op']} takes at most {MAX_VALUES} values, not {len(values)}"
    return None


def search_problem(body: Any) -> str | None:
    """Why a traces search body would be refused, or None (the SDK's ``SearchTracesRequest``: ``from`` and
    ``to`` required RFC 3339 times; here also: no unknown key, ``limit`` 1-100)."""
    if not isinstance(body, dict):
        return "a JSON object is required"
    unknown = set(body) - _SEARCH_KEYS
    if unknown:
        return f"unknown keys {sorted(unknown)}"
    for key in ("from", "to"):
        if not _rfc3339(body.get(key)):
            return f"{key} must be an RFC 3339 time, not {body.get(key)!r}"
    limit = body.get("limit", 50)
    if not _is_int(limit) or not 1 <= limit <= 100:
        return f"limit must be 1-100, not {limit!r}"
    if body.get("filter_operator", "and") not in ("and", "or"):
        return "filter_operator must be 'and' or 'or'"
    if body.get("filter_operator") == "or":
        return "the fake knows filter_operator 'and' only"
    for spec in body.get("filters") or []:
        problem = _filter_problem(spec, SEARCH_FIELDS, SEARCH_OPS)
        if problem:
            return problem
    if "page_token" in body and not isinstance(body["page_token"], str):
        return "page_token must be a string"
    return None


def report_problem(body: Any) -> str | None:
    """Why a reporting body would be refused, or None (the SDK's ``QueryReportRequest``; the fake knows
    fewer metrics and groups, and UTC only)."""
    if not isinstance(body, dict):
        return "a JSON object is required"
    unknown = set(body) - _REPORT_KEYS
    if unknown:
        return f"unknown keys {sorted(unknown)}"
    if body.get("metric") not in REPORT_METRICS:
        return f"the fake reports {list(REPORT_METRICS)}, not {body.get('metric')!r}"
    for key in ("from", "to"):
        if not _rfc3339(body.get(key)):
            return f"{key} must be an RFC 3339 time, not {body.get(key)!r}"
    if body.get("grain", "auto") not in ("auto", "minute", "hour", "day"):
        return f"unknown grain {body.get('grain')!r}"
    groups = body.get("group_by", [])
    if not _strings(groups) or set(groups) - set(REPORT_GROUPS) or len(set(groups)) != len(groups):
        return f"the fake groups by {list(REPORT_GROUPS)}, not {groups!r}"
    filters = body.get("filters", [])
    if not isinstance(filters, list) or len(filters) > 20:
        return "at most 20 filters"
    for spec in filters:
        problem = _filter_problem(spec, REPORT_GROUPS, ("eq", "neq", "in", "not_in"))
        if problem:
            return problem
    limit = body.get("limit", 1000)
    if not _is_int(limit) or not 1 <= limit <= REPORT_CAP:
        return f"limit must be 1-{REPORT_CAP}, not {limit!r}"
    if body.get("time_zone", "UTC") not in ("UTC", ""):
        return "the fake reports in UTC only"
    if body.get("mode", "timeseries") != "timeseries":
        return "the fake reports timeseries only"
    return None
