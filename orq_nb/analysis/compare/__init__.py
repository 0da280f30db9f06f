"""Two cohorts of sessions compared metric by metric: an estimate, its interval and p-value, and whether
the row can be relied on (Welch, Mood's median test or the bootstrap; pandas or Dask)."""

from orq_nb.analysis.compare.comparison import compare_cohorts, compare_tags

__all__ = ["compare_cohorts", "compare_tags"]
