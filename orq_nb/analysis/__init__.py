"""Layer 2: filters, summaries, cohort comparison and spend watch: pure functions over a sessions frame."""

from orq_nb.analysis.compare import compare_cohorts, compare_tags
from orq_nb.analysis.errors import StaleDataWarning, UnknownTagWarning
from orq_nb.analysis.filters import filter_sessions
from orq_nb.analysis.forecast import spend_forecast
from orq_nb.analysis.selection import select_box, select_lasso
from orq_nb.analysis.spend import spend_anomalies
from orq_nb.analysis.summaries import cost_by_tag, daily_summary, explode_tags, tag_counts
from orq_nb.analysis.tags import TagIndex

__all__ = [
    "TagIndex", "StaleDataWarning", "UnknownTagWarning", "filter_sessions", "select_box", "select_lasso",
    "tag_counts",
    "explode_tags", "cost_by_tag", "daily_summary", "compare_cohorts", "compare_tags", "spend_anomalies",
    "spend_forecast",
]
