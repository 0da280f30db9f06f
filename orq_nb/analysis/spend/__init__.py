"""Spend watch: daily cost per group, its unusual days (``spend_anomalies``) and where the month ends
(``spend_forecast``)."""

from orq_nb.analysis.spend.anomalies import spend_anomalies, top_anomalies
from orq_nb.analysis.spend.forecast import spend_forecast

__all__ = ["spend_anomalies", "spend_forecast", "top_anomalies"]
