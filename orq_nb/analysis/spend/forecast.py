"""Month-end spend forecast per group, from the days before ``as_of`` only.

Spend to date, and the total at ``until`` with a prediction interval. A day's cost is
a hurdle: the share of days with sessions times the cost of such a day, from a
regression of its log on a trend and the weekday over the last 8 weeks (recent days
weigh more, spikes and holiday weeks are down-weighted, a new level is a step in the fit);
empty days count as $0 (logging them with an offset biased a series with 20% empty days
by +17% and made its interval far too wide). The interval comes from the residuals as
they are, the fit's uncertainty and how far the level wandered (the moments of a sum of
correlated lognormal days, matched by one lognormal). Peers
project the run rate (spend so far / days so far x days in the month): it ignores
weekends and the month before, and is lost in a month's first days.

No ``statsmodels``: STL or ETS would need it, and this small regression measured
within the targets of ``benchmarks/bench_spend.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from orq_nb.analysis.inputs import is_dask
from orq_nb.analysis.spend.anomalies import repeated_median_slope
from orq_nb.analysis.spend.daily_groups import BY, daily_groups, session_frame
from orq_nb.errors import StaleDataWarning, warn_user
from orq_nb.load.times import utc_timestamp

__all__ = ["spend_forecast", "run_rate", "FORECAST_COLUMNS"]

FORECAST_COLUMNS = ["group", "spent", "forecast", "low", "high", "days_left", "method", "reliable", "note"]
#: The regression uses at most this many complete days before ``as_of``.
HISTORY_DAYS = 56
#: From this many days of history on, a trend and weekday effects; fewer: the mean level only.
MODEL_DAYS = 21
#: Half-life (days) of a past day's weight in the fit: the recent level counts most.
HALF_LIFE = 28.0
#: A group with this many days of history or fewer is "new": its interval comes from Student's t, and its
#: daily log costs are given at least this variance (a coefficient of variation of about 23%), since three
#: days can agree by chance (with their own spread only, 69% of 80% intervals held).
NEW_DAYS = 5
NEW_S2 = 0.05
#: A new level is found from this many days with a cost after it.
SHIFT_DAYS = 4
#: ... found only with at least this many days with a cost before it, and a difference of the medians
#: before and after of more than this many standard errors.
MIN_BEFORE = 7
SHIFT_SCORE = 6.0
_DAY = pd.Timedelta(days=1)


def spend_forecast(df: Any, *, by: str | None = None, until: Any = None, confidence: float = 0.8,
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
    confidence : float, default 0.8
        Coverage of the prediction interval ``low``-``high`` (the same word as
        :func:`compare_cohorts`' ``confidence``).
    as_of : datetime, Timestamp or ISO string, optional
        "Now". Default: the end of the data (just after the last session's start,
        so that it counts), not the clock: a sample or an export a month old is
        forecast where it ends. Sessions at or after ``as_of`` are not used. Where
        the data end more than a day before ``as_of``, a :class:`StaleDataWarning`
        names their last day (the days between count as $0).

    Returns
    -------
    DataFrame
        One row per group seen before ``as_of``: ``spent`` (USD, sessions started
        in ``as_of``'s month before ``as_of``), ``forecast`` (the median total at
        ``until``), ``low``/``high`` (the interval), ``days_left`` (days from
        ``as_of`` to ``until``), ``method``: ``"trend+weekday"`` (21 or more days
        with sessions), ``"level"`` (fewer), ``"new"`` (5 days of history or
        fewer: a wide interval from Student's t), ``"run rate"`` (only today so
        far: no interval), ``"none"`` (nothing spent yet: forecast 0); and
        ``reliable``/``note`` (a new group, a run rate; a sparse group or a new
        level is noted). Parameters in ``.attrs["orq_nb"]``.

    Notes
    -----
    A day without sessions counts as $0: the daily cost is a hurdle, the share of days
    with sessions (recency-weighted) times the cost of such a day (a regression of its
    log on a trend and the weekday, fitted with recency weights, Huber's and then
    Tukey's weights so that a holiday week or spikes do not tilt it). Where the level moved
    for good (the medians of the days before and after differ by more than 6 standard
    errors, and two levels fit better than one line), the fit has a step there.
    """
    if by not in BY:
        raise ValueError(f"by must be None, 'tag' or 'project_id', not {by!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float | np.number) or not (
            0 < confidence < 1):
        raise ValueError(f"confidence must be a probability between 0 and 1, not {confidence!r}")
    last = _last_start(df)
    if as_of is None:
        now = (last + pd.Timedelta(microseconds=1)) if last is not None else pd.Timestamp.now(tz="UTC")
    else:
        now = utc_timestamp(as_of)
        if last is not None and now - last > _DAY:
            warn_user(StaleDataWarning(
                f"the data end on {last.date()} (last session at {last.isoformat()}), "
                f"{(now - last) / _DAY:.1f} days before as_of ({now.isoformat()}): the days between count as "
                "$0; pass as_of= the data's end to forecast from there"))
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
    rows = []
    first = daily.first()
    weekday0 = daily.days[0].weekday() if len(daily.days) else 0
    for j, group in enumerate(daily.groups):
        spent = float(cost[in_month, j].sum())
        start = max(first[j], complete - HISTORY_DAYS)
        history = cost[start:complete, j]
        note = ""
        if len(history) and (history > 0).any():
            found = _remaining(history, start, future, confidence, weekday0,
                               new=complete - first[j] <= NEW_DAYS)
            mid, lo, hi, method, note = found
        elif spent > 0 and elapsed > 0:  # only part of today: no spread to learn an interval from
            method, lo, hi = "run rate", np.nan, np.nan
            mid = float(cost[complete:, j].sum()) / elapsed * float(future[1].sum())
            note = "only today so far: the run rate, no interval"
        else:
            method, mid, lo, hi = "none", 0.0, 0.0, 0.0
        rows.append((group, spent, spent + mid, spent + lo, spent + hi, method,
                     method not in ("new", "run rate"), note))
    out = pd.DataFrame(rows, columns=["group", "spent", "forecast", "low", "high", "method", "reliable",
                                      "note"])
    out.insert(5, "days_left", (end - now) / _DAY)
    for column in ("group", "method", "note"):
        out[column] = out[column].astype("str")
    out["reliable"] = out["reliable"].astype(bool)
    out = out[FORECAST_COLUMNS]
    out.attrs["orq_nb"] = {
        "function": "spend_forecast", "by": by, "as_of": now.isoformat(), "until": end.isoformat(),
        "month": month.isoformat(), "confidence": float(confidence), "history_days": HISTORY_DAYS,
        "half_life_days": HALF_LIFE, "data_end": None if last is None else last.isoformat(),
        "model": "share of days with sessions x log(cost of such a day) ~ trend + weekday, recency-, Huber- "
                 "and Tukey-weighted least squares, with a step at a new level; the days left summed as "
                 "correlated lognormal days",
    }
    return out


def _last_start(df: Any) -> pd.Timestamp | None:
    """The latest session start of a frame, Dask frame or store (None when there is none)."""
    frame = session_frame(df, ["started_at"])
    last = frame["started_at"].max()
    if is_dask(frame):
        last = last.compute()
    return None if pd.isna(last) else utc_timestamp(last)


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


def _remaining(history: np.ndarray, start: int, future: tuple[np.ndarray, np.ndarray], confidence: float,
               weekday0: int, new: bool) -> tuple[float, float, float, str, str]:
    """Median and interval of the spend over the days left, from a group's complete past days; the method
    and a note.

    A day's cost is a hurdle: with probability ``p`` (the recency-weighted share of past
    days with a cost) a cost ``X``, else $0. ``log X = a + b t +
    weekday`` (21 or more days with a cost; else ``a`` only) is fitted on the days with a
    cost, with recency weights, then Huber's and Tukey's weights (a spike or a holiday
    week does not tilt the trend). Where the level moved for good (:func:`_new_level`),
    the fit has a step there: the days before still tell the trend and the weekdays. A
    future day is the fitted level times a multiplier drawn from the
    residuals as they are; the coefficients' error, the error of ``p`` and the excess
    variance of the residuals' weekly means over independent days' (a level that moved)
    are shared by all days. The weighted sum of the days is matched by a lognormal with
    its mean and variance (Fenton-Wilkinson).
    """
    position, weight = future
    t_all = np.arange(start, start + len(history))
    active = history > 0
    recency_all = 0.5 ** ((t_all[-1] - t_all) / HALF_LIFE)
    n_eff_all = recency_all.sum() ** 2 / (recency_all**2).sum()
    p = float(recency_all @ active / recency_all.sum())  # unbiased for the share (a prior's pull is not)
    var_p = p * (1 - p) / (n_eff_all + 1.0)
    t, y = t_all[active], np.log(history[active])
    notes = []
    if p < 0.75:
        notes.append(f"sparse: sessions on {p:.0%} of days")
    moved = _new_level(t, y, weekday0)
    step = None
    if moved is not None:
        notes.append(f"a new level for the last {len(t) - moved} days with sessions")
        step = t[moved]
    fit = _fit(t, y, weekday0, step)
    method = "new" if new else ("trend+weekday" if len(t) >= MODEL_DAYS else "level")
    if new:
        notes.insert(0, f"new group: {len(history)} day{'s' if len(history) != 1 else ''} of history")
    coef, x_cols, design, raw, recency, s2, residual, w, cov_coef, robust = fit
    if new and s2 < NEW_S2:  # a few days can agree by chance: no less spread than the prior's
        cov_coef, s2 = cov_coef * (NEW_S2 / s2 if s2 > 0 else 1.0), NEW_S2
        residual, w = np.sqrt(NEW_S2) * np.array([-1.0, 1.0]), np.ones(2)
    xf = design(position)[:, x_cols]
    shared = xf @ cov_coef @ xf.T  # the coefficients' error, the same for all days
    if len(raw) >= 14:  # residuals that stay high or low for weeks: a level that moves, shared too
        kept = np.where(robust > 0, raw, 0.0)  # a holiday week given no weight is no wandering level
        weeks = kept[len(kept) % 7:].reshape(-1, 7).mean(axis=1)
        shared = shared + max(float(np.mean(weeks**2)) - s2 / 7, 0.0)
    m1, m2 = (float(w @ np.exp(k * residual) / w.sum()) for k in (1, 2))  # E exp(e), E exp(2e)
    level = np.exp(xf @ coef + np.diag(shared) / 2)
    expected = level * m1 * p
    mean = float(weight @ expected)
    if not mean > 0:
        return 0.0, 0.0, 0.0, method, "; ".join(notes)
    second = np.outer(level, level) * np.exp(shared) * m1**2 * (p * p + var_p)
    np.fill_diagonal(second, level**2 * np.exp(np.diag(shared)) * m2 * p)
    var = max(float(weight @ (second - np.outer(expected, expected)) @ weight), 0.0)
    sigma2 = np.log1p(var / mean**2)
    m = np.log(mean) - sigma2 / 2
    # A new group's spread comes from a few days: Student's t with their count less one, not the normal.
    q = stats.t.ppf(0.5 + confidence / 2, max(len(y) - 1, 1)) if new else stats.norm.ppf(0.5 + confidence / 2)
    mid, lo, hi = (float(np.exp(m + k * np.sqrt(sigma2))) for k in (0.0, -q, q))
    return mid, lo, hi, method, "; ".join(notes)


def _fit(t: np.ndarray, y: np.ndarray, weekday0: int, step: int | None = None):
    """The robust fit of log cost on the days with a cost, and what the forecast needs of it.

    ``step``: the day the level moved; a column for the days from it on lets the days before
    still tell the trend and the weekdays while the level is the new one's.
    """
    full = len(t) >= MODEL_DAYS
    centre = t.mean()

    def design(days: np.ndarray) -> np.ndarray:
        columns = [np.ones(len(days))]
        if step is not None:
            columns.append((days >= step).astype(float))
        if full:
            weekday = (days + weekday0) % 7
            columns += [(days - centre) / 7.0, *((weekday == d).astype(float) for d in range(1, 7))]
        return np.column_stack(columns)

    x = design(t)
    x_cols = np.flatnonzero(x.any(axis=0))  # a weekday absent from the history has no column
    x = x[:, x_cols]
    recency = 0.5 ** ((t[-1] - t) / HALF_LIFE)
    coef, robust = _robust_fit(x, y, recency)
    rank = np.linalg.matrix_rank(x)
    n_eff = recency.sum() ** 2 / (recency**2).sum()
    raw = y - x @ coef
    kept = recency * robust  # a holiday week or a spike given no weight is not noise either
    if n_eff - rank > 1:
        s2 = float(kept @ raw**2 / kept.sum() * n_eff / (n_eff - rank))
        # Fitted residuals are smaller than the errors they estimate. A day far below the fit (a holiday
        # week, an outage: weighed out of the fit) is not drawn for the days ahead; one far above (a
        # spike) is, as months hold spikes.
        residual, w = raw * np.sqrt(n_eff / (n_eff - rank)), recency * ((robust > 0) | (raw > 0))
    else:  # as many coefficients as days: nothing tells the noise; assume a CV of about 50%
        s2, residual, w = 0.2, np.array([-0.45, 0.45]), np.ones(2)
    inverse = np.linalg.pinv((x * recency[:, None]).T @ x)
    cov_coef = s2 * inverse @ ((x * (recency**2)[:, None]).T @ x) @ inverse
    return coef, x_cols, design, raw, recency, s2, residual, w, cov_coef, robust


def _new_level(t: np.ndarray, y: np.ndarray, weekday0: int) -> int | None:
    """Where the level moved for good: the start of the last days whose median differs most from the
    median of the days before them, when it differs by more than :data:`SHIFT_SCORE` standard errors
    and two levels fit those days better than one straight line.

    On the log costs less their weekday medians, so that a weekend is not a move; medians
    of the segments, so that a holiday week or a spike inside the history moves neither;
    the standard error from the pooled median absolute deviation; the days before a
    candidate are at most 28. A doubling scores 10 or more; steady growth can score high
    too, so the two levels must also fit those days better (a smaller median absolute
    residual) than one straight line (Siegel's repeated median slope) does. Needs
    :data:`SHIFT_DAYS` days after the move, all nearer the new median than the old (the days
    after a holiday week are not), and :data:`MIN_BEFORE` before it.
    """
    weekday = (t + weekday0) % 7
    medians = np.array([np.median(y[weekday == d]) if (weekday == d).any() else 0.0 for d in range(7)])
    y = y - medians[weekday]  # the weekday pattern out, so that a weekend is not a move
    where, best = _best_split(y)
    if where is None or best <= SHIFT_SCORE:
        return None
    # Growth is no move either: the two levels must fit the days better than one straight line does.
    part, tp = y[max(0, where - 28):], t[max(0, where - 28):]
    cut = where - max(0, where - 28)
    steps = np.r_[part[:cut] - np.median(part[:cut]), part[cut:] - np.median(part[cut:])]
    slope = float(repeated_median_slope(tp.astype(float), part))
    line = part - slope * tp
    line = line - np.median(line)
    return where if np.median(np.abs(steps)) < np.median(np.abs(line)) else None


def _split_score(y: np.ndarray, c: int) -> float:
    """How many standard errors the median of ``y[c:]`` lies from that of the (at most 28) days before,
    or 0 where the newest :data:`SHIFT_DAYS` days are not all nearer the later median."""
    before, after = y[max(0, c - 28):c], y[c:]
    centre_b, centre_a = np.median(before), np.median(after)
    mad = np.median(np.abs(np.r_[before - centre_b, after - centre_a]))
    se = 1.2533 * 1.4826 * mad * np.sqrt(1 / len(before) + 1 / len(after))
    recent = y[-SHIFT_DAYS:]
    if not se > 0 or not (np.abs(recent - centre_a) < np.abs(recent - centre_b)).all():
        return 0.0
    return float(abs(centre_a - centre_b) / se)


def _best_split(y: np.ndarray) -> tuple[int | None, float]:
    n = len(y)
    best, where = 0.0, None
    for c in range(max(MIN_BEFORE, n - HISTORY_DAYS), n - SHIFT_DAYS + 1):
        score = _split_score(y, c)
        if score > best:
            best, where = score, c
    return where, best


def _robust_fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, rounds: int = 3) -> tuple[np.ndarray,
                                                                                             np.ndarray]:
    """Weighted least squares, a few rounds with Huber's weights (k = 1.345 robust SDs), then Tukey's
    bisquare (c = 4.685): a holiday week, seven days far below, gets no weight, where Huber's kept a
    day and a half of it. Returns the coefficients and the robustness weights."""
    sw = np.sqrt(weight)
    coef = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]
    robust = np.ones(len(y))
    for kind in ("huber",) * rounds + ("tukey",) * rounds:
        r = y - x @ coef
        scale = 1.4826 * float(np.median(np.abs(r - np.median(r))))
        if not scale > 0:
            break
        u = np.abs(r) / scale
        robust = (np.minimum(1.0, 1.345 / np.maximum(u, 1e-300)) if kind == "huber" else
                  np.where(u < 4.685, (1 - (u / 4.685) ** 2) ** 2, 0.0))
        if (robust * weight).sum() <= 0 or np.count_nonzero(robust) < x.shape[1] + 1:
            break
        sw = np.sqrt(weight * robust)
        coef = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)[0]
    return coef, robust
