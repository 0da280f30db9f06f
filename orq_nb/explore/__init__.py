"""Layer 5: views: the duration-vs-cost plot (matplotlib, plotly) and the Jupyter widgets."""

from orq_nb.explore.explorer import SessionExplorer, explore
from orq_nb.explore.plots import plot_duration_vs_cost
from orq_nb.explore.tag_filter import TagFilter

__all__ = ["plot_duration_vs_cost", "SessionExplorer", "TagFilter", "explore"]
