"""orq_nb: orq.ai sessions as typed pandas DataFrames, for Jupyter."""

from orq_nb.api_errors import OrqAPIError, OrqAuthError, OrqError, OrqNotFoundError, OrqRateLimitError
from orq_nb.client import FetchWarning, OrqClient
from orq_nb.columns import COLUMN_NAMES, DTYPES
from orq_nb.errors import (
    DuplicateSessionsWarning,
    Reject,
    Rejects,
    SessionFileError,
    SessionsSkippedWarning,
    SessionValidationError,
)
from orq_nb.filters import cost_by_tag, daily_summary, explode_tags, filter_sessions, tag_counts
from orq_nb.frame import sessions_frame
from orq_nb.plots import plot_duration_vs_cost
from orq_nb.readers import read_sessions
from orq_nb.sample import load_sample
from orq_nb.schemas import BillingSchema, SessionListSchema, SessionSchema, UsageSchema
from orq_nb.widgets import SessionExplorer, TagFilter, explore

__version__ = "0.1.0"

__all__ = [
    "COLUMN_NAMES",
    "DTYPES",
    "BillingSchema",
    "DuplicateSessionsWarning",
    "FetchWarning",
    "OrqAPIError",
    "OrqAuthError",
    "OrqClient",
    "OrqError",
    "OrqNotFoundError",
    "OrqRateLimitError",
    "Reject",
    "Rejects",
    "SessionFileError",
    "SessionListSchema",
    "SessionSchema",
    "SessionValidationError",
    "SessionsSkippedWarning",
    "SessionExplorer",
    "TagFilter",
    "UsageSchema",
    "cost_by_tag",
    "daily_summary",
    "explode_tags",
    "explore",
    "filter_sessions",
    "load_sample",
    "plot_duration_vs_cost",
    "read_sessions",
    "sessions_frame",
    "tag_counts",
]
