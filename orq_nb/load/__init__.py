"""Layer 1: from any source to a validated sessions DataFrame.

Every source (JSON and JSON lines, gzipped or not, Parquet and Feather files,
Arrow tables, dicts in either key style, API pages) becomes typed Arrow arrays
(``from_json``, ``from_arrow``, ``from_records``); one validator derived from
the schemas checks them (``validate``) and sends only the rows it flags to
marshmallow; one conversion makes the DataFrame (``convert``).
"""

from orq_nb.load.columns import COLUMN_NAMES, DTYPES
from orq_nb.load.frame import sessions_frame
from orq_nb.load.readers import read_sessions
from orq_nb.load.sample import load_sample
from orq_nb.load.schemas import BillingSchema, SessionListSchema, SessionSchema, UsageSchema
from orq_nb.load.traces import spans_frame, traces_frame

__all__ = [
    "COLUMN_NAMES", "DTYPES", "BillingSchema", "SessionListSchema", "SessionSchema", "UsageSchema",
    "load_sample", "read_sessions", "sessions_frame", "spans_frame", "traces_frame",
]
