"""Layer 2: pure functions over a sessions frame (pandas or Dask): filters, summaries, a selection on the
plot, cohort comparison (``compare/``), spend watch (``spend/``) and why it cost that (``costs/``)."""

from orq_nb.analysis.compare import compare_cohorts, compare_tags
from orq_nb.analysis.costs import cost_breakdown, explain_change, reconcile
from orq_nb.analysis.filters import filter_sessions
from orq_nb.analysis.selection import select_box, select_lasso
from orq_nb.analysis.spend import spend_anomalies, spend_forecast, top_anomalies
from orq_nb.analysis.summaries import cost_by_tag, daily_summary, explode_tags, tag_counts

__all__ = [
    "compare_cohorts", "compare_tags", "cost_breakdown", "cost_by_tag", "explain_change", "reconcile",
    "daily_summary", "explode_tags", "filter_sessions",
    "select_box", "select_lasso", "spend_anomalies", "spend_forecast", "tag_counts", "top_anomalies",
]
