"""marshmallow schemas for what lies under a session: traces, spans and a trace's conversation.

As for sessions, the schemas are the one definition of every field: the traces and spans frames'
columns and dtypes derive from them (:data:`TRACE_COLUMNS`, :data:`SPAN_COLUMNS`). The wire form is
the ``/v3/traces`` API's (``TraceSummary``, ``SpanSummary``); camelCase keys load too. The API sends
every field as optional: a missing number is missing (NaN / ``<NA>``), never 0.

Costs are renamed from the wire's ``cost: {input, output, cache_read, ...}`` to ``input_cost``,
``output_cost``, ``cache_read_cost``... and the trace's own ``session_id`` loads as
``trace_session_id``: the frames' ``session_id`` is the id of the orq.ai session (thread) the trace
was fetched for, the join key to a sessions frame.
"""

from __future__ import annotations

from marshmallow import fields, validate

from orq_nb.load.columns import Column, schema_columns
from orq_nb.load.fields import NonNegativeCount, NonNegativeNumber, StringList, Text, UtcDateTime
from orq_nb.load.schemas import WireSchema

__all__ = [
    "TraceUsageSchema", "TraceCostSchema", "TraceSchema", "SpanSchema", "MessageSchema",
    "TRACE_COLUMNS", "SPAN_COLUMNS", "MESSAGE_COLUMNS", "USAGE_NAMES", "COST_NAMES",
]


def _count() -> NonNegativeCount:
    return NonNegativeCount(allow_none=True)


def _cost(key: str) -> NonNegativeNumber:
    return NonNegativeNumber(data_key=key, allow_none=True)


def _text() -> Text:
    return Text(allow_none=True)


class TraceUsageSchema(WireSchema):
    """Token usage of a trace or span (``usage``, the SDK's ``TraceUsage``).

    ``prompt_tokens`` includes the cached ones (``prompt_cached_tokens``), as the providers count them.
    """

    prompt_tokens = _count()
    completion_tokens = _count()
    total_tokens = _count()
    prompt_cached_tokens = _count()
    prompt_cache_creation_tokens = _count()
    completion_reasoning_tokens = _count()


class TraceCostSchema(WireSchema):
    """Cost of a trace or span in USD (``cost``, the SDK's ``TraceCost``), each part as ``<part>_cost``."""

    input_cost = _cost("input")
    output_cost = _cost("output")
    cache_read_cost = _cost("cache_read")
    cache_write_cost = _cost("cache_write")
    reasoning_cost = _cost("reasoning")
    web_search_cost = _cost("web_search")
    total_cost = _cost("total")
    billable = fields.Boolean(allow_none=True)


class TraceSchema(WireSchema):
    """One trace (``TraceSummary``), in the traces frame's column order (after ``session_id``)."""

    trace_id = Text(required=True, validate=validate.Length(min=1))
    thread_id = _text()
    #: The trace's own ``session_id`` on the wire (not the orq.ai session the frame joins it to).
    trace_session_id = Text(data_key="session_id", allow_none=True)
    name = _text()
    status = _text()
    started_at = UtcDateTime(allow_none=True)
    ended_at = UtcDateTime(allow_none=True)
    duration_ms = NonNegativeNumber(allow_none=True)
    project_id = _text()
    models = StringList(allow_none=True)
    providers = StringList(allow_none=True)
    usage = fields.Nested(TraceUsageSchema, allow_none=True)
    cost = fields.Nested(TraceCostSchema, allow_none=True)


class SpanSchema(WireSchema):
    """One span (``SpanSummary``), in the spans frame's column order (after ``session_id``)."""

    trace_id = Text(required=True, validate=validate.Length(min=1))
    span_id = Text(required=True, validate=validate.Length(min=1))
    parent_span_id = _text()
    name = _text()
    type = _text()
    operation = _text()
    status = _text()
    started_at = UtcDateTime(allow_none=True)
    ended_at = UtcDateTime(allow_none=True)
    duration_ms = NonNegativeNumber(allow_none=True)
    model = _text()
    provider = _text()
    usage = fields.Nested(TraceUsageSchema, allow_none=True)
    cost = fields.Nested(TraceCostSchema, allow_none=True)


class MessageSchema(WireSchema):
    """One item of a trace's conversation. The SDK's model of it is empty, so it is read from the JSON:
    ``role`` and its text (``content`` as a string, or the text parts of a list of parts)."""

    role = _text()
    type = _text()


TRACE_COLUMNS: tuple[Column, ...] = schema_columns(TraceSchema())
SPAN_COLUMNS: tuple[Column, ...] = schema_columns(SpanSchema())
MESSAGE_COLUMNS = ("trace_id", "position", "role", "type", "text", "item")
#: The usage and cost columns, as named in the frames.
USAGE_NAMES = tuple(c.name for c in schema_columns(TraceUsageSchema()))
COST_NAMES = tuple(c.name for c in schema_columns(TraceCostSchema()))
