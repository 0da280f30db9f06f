"""The session schemas and the frame they define (public).

The marshmallow schemas are the one source of truth for a session's fields: the column list
(:data:`COLUMN_NAMES`), the dtypes (:data:`DTYPES`) and the request bodies derive from them.

>>> from orq_nb.schemas import DTYPES, SessionSchema
>>> str(DTYPES["traces_count"])
'Int64'
"""

from orq_nb.load import columns as _columns
from orq_nb.load.schemas import BillingSchema, SessionListSchema, SessionSchema, UsageSchema

#: The columns of every sessions frame, in order: one per schema field, a nested object's fields
#: flattened (``billing.total_cost`` is ``total_cost``), ``duration`` as ``duration_ms``.
COLUMN_NAMES: tuple[str, ...] = _columns.COLUMN_NAMES
#: Each column's pandas dtype, fixed whatever the source, even for an empty frame: ``str`` for text,
#: ``float64`` for costs and durations (ms), ``Int64`` for counts (tokens, ``traces_count``),
#: ``datetime64[us, UTC]`` for times, ``object`` (lists of str) for ``tags`` and ``contact_ids``.
DTYPES: dict[str, object] = _columns.DTYPES

__all__ = ["COLUMN_NAMES", "DTYPES", "BillingSchema", "SessionListSchema", "SessionSchema", "UsageSchema"]
