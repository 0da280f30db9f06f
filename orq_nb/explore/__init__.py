"""Layer 5: views: the plots (matplotlib, plotly) and the Jupyter widgets."""

from orq_nb.explore.change_plot import plot_change
from orq_nb.explore.comparison_plot import plot_comparison
from orq_nb.explore.explorer import SessionExplorer, explore
from orq_nb.explore.plots import plot_duration_vs_cost
from orq_nb.explore.spend_plot import plot_spend
from orq_nb.explore.tag_filter import TagFilter

__all__ = [
    "plot_duration_vs_cost", "plot_change", "plot_comparison", "plot_spend", "SessionExplorer", "TagFilter",
    "explore",
]
