"""Month-end spend forecast per group, from the days before ``as_of`` only.

Spend to date, and the total at ``until`` with a prediction interval. The days left
come from a regression of the log daily cost on a trend and the weekday over the last
8 weeks (recent days weigh more, spikes are down-weighted); the interval from the
residuals as they are, the fit's uncertainty and how far the level wandered (the
moments of a sum of correlated lognormal days, matched by one lognormal). Peers
project the run rate (spend so far / days so far x days in the month): it ignores
weekends and the month before, and is lost in a month's first days.

No ``statsmodels``: STL or ETS would need it, and this small regression measured
within the targets of ``benchmarks/bench_spend.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from orq_nb.analysis.daily_groups import BY, daily_groups
from orq_nb.load.times import utc_timestamp

__all__ = ["spend_forecast", "run_rate", "FORECAST_COLUMNS"]

FORECAST_COLUMNS = ["group", "spent", "forecast", "low", "high", "days_left", "method"]
#: The regression uses at most this many complete days before ``as_of``.
HISTORY_DAYS = 56
#: From this many days of history on, a trend and weekday effects; fewer: the mean level only.
MODEL_DAYS = 21
#: Half-life (days) of a past day's weight in the fit: the recent level counts most.
HALF_LIFE = 28.0
#: Zero-cost days are logged as log(cost + OFFSET x the group's mean daily cost).
OFFSET = 0.05
_DAY = pd.Timedelta(days=1)


def spend_forecast(df: Any, *, by: str | None = None, until: Any = None, interval: float = 0.8,
                   as_of: Any = None) -> pd.DataFrame:
    """Spend so far this month and the forecast total at ``until``, per group.

    Parameters
    ----------
    df : DataFrame, dask DataFrame or store
        Sessions (only those started before ``as_of`` are read).
    by : {None, "tag", "project_id"}
        As in :func:`~orq_nb.analysis.spend.spend_anomalies`.
    until : datetime, Timestamp or ISO string, optional
        The end (exclusive) of the period forecast; default: the end of
        ``as_of``'s month (midnight UTC of the next month's first day).
    interval : float, default 0.8
        Coverage of the prediction interval ``low``-``high``.
    as_of : datetime, Timestamp or ISO string, optional
        "Now" (default: the current time, UTC). Sessions at or after it are not
        used: dropping them leaves the answer unchanged.

    Returns
    -------
    DataFrame
        One row per group seen before ``as_of``: ``spent`` (USD, sessions started
        in ``as_of``'s month before ``as_of``), ``forecast`` (the median total at
        ``until``), ``low``/``high`` (the interval), ``days_left`` (days from
        ``as_of`` to ``until``) and ``method``: ``"trend+weekday"`` (21 or more
        days of history), ``"level"`` (fewer), ``"run rate"`` (only today so
        far: no interval, ``low``/``high`` missing), ``"none"`` (nothing spent
        yet: forecast 0). Parameters in ``.attrs["orq_nb"]``.
    """
    if by not in BY:
        raise ValueError(f"by must be None, 'tag' or 'project_id', not {by!r}")
    if isinstance(interval, bool) or not isinstance(interval, int | float | np.number) or not (
            0 < interval < 1):
        raise ValueError(f"interval must be a probability between 0 and 1, not {interval!r}")
    now = pd.Timestamp.now(tz="UTC") if as_of is None else utc_timestamp(as_of)
    month = now.floor("D").replace(day=1)
    end = month + pd.offsets.MonthBegin(1) if until is None else utc_timestamp(until)
    if end <= now:
        raise ValueError(f"until ({end}) must be after as_of ({now})")
    daily = daily_groups(df, by, end=now)
    cost = daily.total_cost
    today = now.floor("D")
    elapsed = (now - today) / _DAY  # share of as_of's day that has passed
    complete = int(np.sum(daily.days < today))  # days wholly before as_of
    in_month = np.asarray(daily.days >= month)
    future = _future_days(daily.days[0] if len(daily.days) else today, now, end)
    z = norm.ppf(0.5 + interval / 2)
    rows = []
    first = daily.first()
    for j, group in enumerate(daily.groups):
        spent = float(cost[in_month, j].sum())
        start = max(first[j], complete - HISTORY_DAYS)
        history = cost[start:complete, j]
        if len(history):
            method = "trend+weekday" if len(history) >= MODEL_DAYS else "level"
            mid, lo, hi = _remaining(history, start, future, z, method == "trend+weekday",
                                     daily.days[0].weekday() if len(daily.days) else 0)
        elif spent > 0 and elapsed > 0:  # only part of today: no spread to learn an interval from
            method, lo, hi = "run rate", np.nan, np.nan
            mid = float(cost[complete:, j].sum()) / elapsed * float(future[1].sum())
        else:
            method, mid, lo, hi = "none", 0.0, 0.0, 0.0
        rows.append((group, spent, spent + mid, spent + lo, spent + hi, method))
    out = pd.DataFrame(rows, columns=["group", "spent", "forecast", "low", "high", "method"])
    out.insert(5, "days_left", (end - now) / _DAY)
    out["group"] = out["group"].astype("str")
    out["method"] = out["method"].astype("str")
    out = out[FORECAST_COLUMNS]
    out.attrs["orq_nb"] = {
        "function": "spend_forecast", "by": by, "as_of": now.isoformat(), "until": end.isoformat(),
        "month": month.isoformat(), "interval": float(interval), "history_days": HISTORY_DAYS,
        "half_life_days": HALF_LIFE,
        "model": "log(daily cost) ~ trend + weekday, recency- and Huber-weighted least squares; "
                 "the days left summed as correlated lognormal days",
    }
    return out


def run_rate(spent: Any, as_of: Any, until: Any = None) -> Any:
    """The linear run-rate forecast peers give: spend so far / days so far x days in the period.

    ``as_of``'s month starts the period; ``until`` ends it (default: the month's end).
    """
    now = utc_timestamp(as_of)
    month = now.floor("D").replace(day=1)
    end = month + pd.offsets.MonthBegin(1) if until is None else utc_timestamp(until)
    so_far = (now - month) / _DAY
    return spent / so_far * ((end - month) / _DAY) if so_far > 0 else spent * np.nan


def _future_days(origin: pd.Timestamp, now: pd.Timestamp, end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """The days from ``now`` to ``end``: their positions (day 0 = ``origin``) and the share of each left."""
    days = pd.date_range(now.floor("D"), (end - pd.Timedelta(microseconds=1)).floor("D"), freq="D")
    share = (np.minimum(days + _DAY, end) - np.maximum(days, now)) / _DAY
    return ((days - origin) // _DAY).to_numpy().astype(np.int64), np.asarray(share, dtype=float)


def _remaining(history: np.ndarray, start: int, future: tuple[np.ndarray, np.ndarray], z: float,
               full: bool, weekday0: int) -> tuple[float, float, float]:
    """Median and interval of the spend over the days left, from a group's complete past days.

    ``log(cost + offset) = a + b t + weekday`` (``full``; else ``a`` only), fitted with
    recency weights and Huber's weights (a spike does not tilt the trend). A future
    day is the fitted level times a multiplier drawn from the residuals as they are
    (spikes included); the coefficients' error, and the excess variance of the
    residuals' weekly means over what independent days give (a level that moved), are
    shared by all days. The weighted sum of the days is matched by a lognormal with
    its mean and variance (Fenton-Wilkinson).
    """
    position, weight = future
    offset = OFFSET * max(float(history.mean()), 1e-12)
    y = np.log(history + offset)
    t = np.arange(start, start + len(history))

    def design(days: np.ndarray) -> np.ndarray:
        columns = [np.ones(len(days))]
        if full:
            weekday = (days + weekday0) % 7
            columns += [(days - t.mean()) / 7.0, *((weekday == d).astype(float) for d in range(1, 7))]
        return np.column_stack(columns)

    x = design(t)
    x = x[:, np.flatnonzero(x.any(axis=0))]  # a weekday absent from the history has no column
    xf = design(position)[:, np.flatnonzero(design(t).any(axis=0))]
    recency = 0.5 ** ((t[-1] - t) / HALF_LIFE)
    coef = _huber_fit(x, y, recency)
    rank = np.linalg.matrix_rank(x)
    n_eff = recency.sum() ** 2 / (recency**2).sum()
    raw = y - x @ coef
    if n_eff - rank > 1:
        s2 = float(recency @ raw**2 / recency.sum() * n_eff / (n_eff - rank))
        # Fitted residuals are smaller than the errors they estimate.
        residual, w = raw * np.sqrt(n_eff / (n_eff - rank)), recency
    else:  # as many coefficients as days: nothing tells the noise; assume a CV of about 50%
        s2, residual, w = 0.2, np.array([-0.45, 0.45]), np.ones(2)
    inverse = np.linalg.pinv((x * recency[:, None]).T @ x)
    cov_coef = s2 * inverse @ ((x * (recency**2)[:, None]).T @ x) @ inverse
    shared = xf @ cov_coef @ xf.T  # the coefficients' error, the same for all days
    if len(raw) >= 14:  # residuals that stay high or low for weeks: a level that moves, shared too
        weeks = raw[len(raw) % 7:].reshape(-1, 7).mean(axis=1)
        shared = shared + max(float(np.mean(weeks**2)) - s2 / 7, 0.0)
    m1, m2 = (float(w @ np.exp(k * residual) / w.sum()) for k in (1, 2))  # E exp(e), E exp(2e)
    level = np.exp(xf @ coef + np.diag(shared) / 2)
    expected = level * m1
    mean = float(weight @ expected)
    if not mean > 0:
        return 0.0, 0.0, 0.0
    second = np.outer(level, level) * np.exp(shared) * m1**2
    np.fill_diagonal(second, level**2 * np.exp(np.diag(shared)) * m2)
    var = max(float(weight @ (second - np.outer(expected, expected)) @ weight), 0.0)
    sigma2 = np.log1p(var / mean**2)
    m = np.log(mean) - sigma2 / 2
    back = offset * float(weight.sum())  # the days were log(cost + offset): take the offsets back out
    mid, lo, hi = (max(float(np.exp(m + k * np.sqrt(sigma2))) - back, 0.0) for k in (0.0, -z, z))
    return mid, lo, hi


def _huber_fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Weighted least squares, then a few rounds with Huber's weights (k = 1.345 robust SDs)."""
    sw = np.sqrt(weight)
    coef = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]
    for _ in range(rounds):
        r = y - x @ coef
        scale = 1.4826 * float(np.median(np.abs(r - np.median(r))))
        if not scale > 0:
            break
        sw = np.sqrt(weight * np.minimum(1.0, 1.345 * scale / np.maximum(np.abs(r), 1e-300)))
        coef = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]
    return coef
