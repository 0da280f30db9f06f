"""Why it cost that: cost by anything (:func:`cost_breakdown`), a change in spend split exactly into
volume, mix, tokens and price (:func:`explain_change`), and sessions against the service's own report
(:func:`reconcile`)."""

from orq_nb.analysis.costs.breakdown import cost_breakdown
from orq_nb.analysis.costs.explain import explain_change
from orq_nb.analysis.costs.reconcile import reconcile

__all__ = ["cost_breakdown", "explain_change", "reconcile"]
