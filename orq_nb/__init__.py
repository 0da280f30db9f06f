"""orq_nb: orq.ai sessions as typed pandas DataFrames, for Jupyter.

The layers, bottom up: ``load`` (schemas, the Arrow pipeline, readers),
``analysis`` (filters, summaries), ``api`` (the orq.ai client), ``explore``
(plots, widgets), ``testing`` (fake server, synthetic data). This module only
re-exports the public names.
"""

from orq_nb.analysis import (
    StaleDataWarning,
    UnknownTagWarning,
    compare_cohorts,
    compare_tags,
    cost_by_tag,
    daily_summary,
    explode_tags,
    filter_sessions,
    select_box,
    select_lasso,
    spend_anomalies,
    spend_forecast,
    tag_counts,
)
from orq_nb.api import (
    FetchWarning,
    OrqAPIError,
    OrqAuthError,
    OrqClient,
    OrqConnectionError,
    OrqNotFoundError,
    OrqPagingError,
    OrqRateLimitError,
    OrqRedirectError,
    OrqTimeoutError,
)
from orq_nb.errors import OrqError, OrqWarning
from orq_nb.explore import (
    SessionExplorer,
    TagFilter,
    explore,
    plot_comparison,
    plot_duration_vs_cost,
    plot_spend,
)
from orq_nb.load import (
    COLUMN_NAMES,
    DTYPES,
    BillingSchema,
    DuplicateSessionsWarning,
    Reject,
    Rejects,
    SessionFileError,
    SessionListSchema,
    SessionSchema,
    SessionsSkippedWarning,
    SessionValidationError,
    UsageSchema,
    load_sample,
    read_sessions,
    sessions_frame,
)
from orq_nb.versions import show_versions

__version__ = "0.3.0"

#: Names of the store layer, imported on first use so that ``import orq_nb`` needs no extra.
_LAZY = {"SessionStore", "SyncReport", "StoreError", "StoreScopeError", "StoreDriftWarning", "VacuumWarning"}


def __getattr__(name: str):
    if name in _LAZY:
        from orq_nb import store

        return getattr(store, name)
    raise AttributeError(f"module 'orq_nb' has no attribute {name!r}")

__all__ = [
    "COLUMN_NAMES",
    "DTYPES",
    "BillingSchema",
    "DuplicateSessionsWarning",
    "FetchWarning",
    "OrqAPIError",
    "OrqAuthError",
    "OrqClient",
    "OrqConnectionError",
    "OrqError",
    "OrqNotFoundError",
    "OrqPagingError",
    "OrqRateLimitError",
    "OrqRedirectError",
    "OrqTimeoutError",
    "OrqWarning",
    "Reject",
    "Rejects",
    "SessionFileError",
    "SessionListSchema",
    "SessionSchema",
    "SessionValidationError",
    "SessionsSkippedWarning",
    "SessionExplorer",
    "SessionStore",
    "StaleDataWarning",
    "StoreDriftWarning",
    "StoreError",
    "StoreScopeError",
    "SyncReport",
    "TagFilter",
    "UnknownTagWarning",
    "UsageSchema",
    "VacuumWarning",
    "compare_cohorts",
    "compare_tags",
    "cost_by_tag",
    "daily_summary",
    "explode_tags",
    "explore",
    "filter_sessions",
    "load_sample",
    "plot_comparison",
    "plot_duration_vs_cost",
    "plot_spend",
    "read_sessions",
    "select_box",
    "select_lasso",
    "sessions_frame",
    "show_versions",
    "spend_anomalies",
    "spend_forecast",
    "tag_counts",
]
