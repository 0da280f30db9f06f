"""orq_nb: orq.ai sessions as typed pandas DataFrames, for Jupyter.

The layers, bottom up: ``load`` (schemas, the Arrow pipeline, readers), ``analysis`` (filters,
summaries, ``compare/``, ``spend/``, ``costs/``), ``api`` (the orq.ai client), ``store`` (Delta Lake),
``explore`` (plots, widgets), ``testing`` (fake server, synthetic data); their module paths are not public.

What is: this module (the verbs, :class:`OrqClient`, :class:`SessionStore`, :class:`SessionExplorer`,
:class:`OrqError`, :class:`OrqWarning`), :mod:`orq_nb.errors` (every exception and warning),
:mod:`orq_nb.schemas` (the schemas, column names and dtypes), :mod:`orq_nb.types` (classes handed out)
and :mod:`orq_nb.testing` (the fake server and synthetic data). The store's and Dask's libraries are
imported when a store is first opened, so ``import orq_nb`` needs no extra.
"""

import importlib
import warnings

# Public modules, there after `import orq_nb` as pandas.errors is after `import pandas`.
from orq_nb import errors as errors  # noqa: E402, I001
from orq_nb import schemas as schemas  # noqa: E402
from orq_nb import types as types  # noqa: E402
from orq_nb.analysis import (
    compare_cohorts,
    compare_tags,
    cost_breakdown,
    cost_by_tag,
    daily_summary,
    explain_change,
    explode_tags,
    filter_sessions,
    reconcile,
    select_box,
    select_lasso,
    spend_anomalies,
    spend_forecast,
    tag_counts,
    top_anomalies,
)
from orq_nb.api import OrqClient
from orq_nb.errors import OrqError, OrqWarning
from orq_nb.explore import (
    SessionExplorer,
    explore,
    plot_change,
    plot_comparison,
    plot_duration_vs_cost,
    plot_spend,
)
from orq_nb.load import load_sample, read_sessions, sessions_frame, spans_frame, traces_frame
from orq_nb.store import SessionStore
from orq_nb.versions import show_versions

__version__ = "0.4.0"

__all__ = [
    "OrqClient",
    "OrqError",
    "OrqWarning",
    "SessionExplorer",
    "SessionStore",
    "compare_cohorts",
    "compare_tags",
    "cost_breakdown",
    "cost_by_tag",
    "daily_summary",
    "explain_change",
    "explode_tags",
    "explore",
    "filter_sessions",
    "load_sample",
    "plot_change",
    "plot_comparison",
    "plot_duration_vs_cost",
    "plot_spend",
    "read_sessions",
    "reconcile",
    "select_box",
    "select_lasso",
    "sessions_frame",
    "show_versions",
    "spans_frame",
    "spend_anomalies",
    "spend_forecast",
    "tag_counts",
    "top_anomalies",
    "traces_frame",
]

#: Names that left the top level in 0.4.0, and their new homes. They still work, with a FutureWarning,
#: until the next release.
MOVED = {
    **dict.fromkeys([
        "DuplicateSessionsWarning", "FetchWarning", "OrqAPIError", "OrqAuthError", "OrqConnectionError",
        "OrqNotFoundError", "OrqPagingError", "OrqRateLimitError", "OrqRedirectError", "OrqTimeoutError",
        "Reject", "Rejects", "SessionFileError", "SessionValidationError", "SessionsSkippedWarning",
        "StaleDataWarning", "StoreDriftWarning", "StoreError", "StoreScopeError", "UnknownTagWarning",
        "VacuumWarning"], "orq_nb.errors"),
    **dict.fromkeys(["COLUMN_NAMES", "DTYPES", "BillingSchema", "SessionListSchema", "SessionSchema",
                     "UsageSchema"], "orq_nb.schemas"),
    **dict.fromkeys(["SyncReport", "TagFilter"], "orq_nb.types"),
}


def __getattr__(name: str):
    home = MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'orq_nb' has no attribute {name!r}")
    warnings.warn(f"orq_nb.{name} moved to {home}.{name}; the old name goes in the next release",
                  FutureWarning, stacklevel=2)
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
