"""The schemas and the frames they define (public): sessions, and the traces and spans under them.

The marshmallow schemas are the one source of truth for the fields: the column lists
(:data:`COLUMN_NAMES`), the dtypes (:data:`DTYPES`, :data:`TRACE_DTYPES`, :data:`SPAN_DTYPES`) and the
request bodies derive from them.

>>> from orq_nb.schemas import DTYPES, SPAN_DTYPES
>>> str(DTYPES["traces_count"]), str(SPAN_DTYPES["prompt_cached_tokens"])
('Int64', 'Int64')
"""

from orq_nb.load import columns as _columns
from orq_nb.load import traces as _traces
from orq_nb.load.schemas import BillingSchema, SessionListSchema, SessionSchema, UsageSchema
from orq_nb.load.trace_schemas import SpanSchema, TraceCostSchema, TraceSchema, TraceUsageSchema

#: The columns of every sessions frame, in order: one per schema field, a nested object's fields
#: flattened (``billing.total_cost`` is ``total_cost``), ``duration`` as ``duration_ms``.
COLUMN_NAMES: tuple[str, ...] = _columns.COLUMN_NAMES
#: Each column's pandas dtype, fixed whatever the source, even for an empty frame: ``str`` for text,
#: ``float64`` for costs and durations (ms), ``Int64`` for counts (tokens, ``traces_count``),
#: ``datetime64[us, UTC]`` for times, ``object`` (lists of str) for ``tags`` and ``contact_ids``.
DTYPES: dict[str, object] = _columns.DTYPES
#: Each column of a traces frame (:meth:`orq_nb.OrqClient.query_traces`) and its dtype, in order:
#: ``session_id`` (the orq.ai session the trace was joined to), then :class:`TraceSchema`'s fields, usage
#: and cost flattened (``cost.input`` is ``input_cost``; the trace's own ``session_id`` is
#: ``trace_session_id``); ``boolean`` for ``billable``, ``object`` (lists of str) for ``models`` and
#: ``providers``.
TRACE_DTYPES: dict[str, object] = _traces.trace_dtypes()
#: Each column of a spans frame (:meth:`orq_nb.OrqClient.query_spans`) and its dtype, in order:
#: ``session_id``, then :class:`SpanSchema`'s fields, usage and cost flattened as for traces.
SPAN_DTYPES: dict[str, object] = _traces.span_dtypes()

__all__ = ["COLUMN_NAMES", "DTYPES", "TRACE_DTYPES", "SPAN_DTYPES", "BillingSchema", "SessionListSchema",
           "SessionSchema", "UsageSchema", "TraceSchema", "SpanSchema", "TraceUsageSchema", "TraceCostSchema"]
