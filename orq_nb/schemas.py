"""The session schemas and the frame they define (public).

The marshmallow schemas are the one source of truth for a session's fields: the column list
(:data:`COLUMN_NAMES`), the dtypes (:data:`DTYPES`) and the request bodies derive from them.

>>> from orq_nb.schemas import DTYPES, SessionSchema
>>> str(DTYPES["traces_count"])
'Int64'
"""

from orq_nb.load.columns import COLUMN_NAMES, DTYPES
from orq_nb.load.schemas import BillingSchema, SessionListSchema, SessionSchema, UsageSchema

__all__ = ["COLUMN_NAMES", "DTYPES", "BillingSchema", "SessionListSchema", "SessionSchema", "UsageSchema"]
