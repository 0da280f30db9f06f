"""Layer 2: filters and summaries, pure functions over a sessions frame."""

from orq_nb.analysis.errors import UnknownTagWarning
from orq_nb.analysis.filters import filter_sessions
from orq_nb.analysis.selection import select_box, select_lasso
from orq_nb.analysis.summaries import cost_by_tag, daily_summary, explode_tags, tag_counts
from orq_nb.analysis.tags import TagIndex

__all__ = [
    "TagIndex", "UnknownTagWarning", "filter_sessions", "select_box", "select_lasso", "tag_counts",
    "explode_tags", "cost_by_tag", "daily_summary",
]
