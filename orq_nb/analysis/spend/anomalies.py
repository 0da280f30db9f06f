"""Spend watch: the days a tag's or project's daily figure leaves its own robust baseline.

Each day is compared with the days before it only: the median of the last ``window``
days with a value (moved along their trend where it is clear, or the new level where
the last days moved to one), and a band from the relative size of the day-to-day
changes over the 56 days before, the weekday pattern (when on) learnt from the past
weeks as well; groups with fewer than 2 sessions a day by a count model. A day's baseline
therefore never changes when later days do. All groups are computed at once over a
days x groups array (``sliding_window_view``), not day by day.

The weekday profile is a trimmed mean of each weekday's ratio to its week's mean, not
``statsmodels``' STL: STL over the whole series uses the future, and STL fitted on each
day's past is one fit per day and group; the profile is one array computation, and
met the detection targets of ``benchmarks/bench_spend.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import chi2, nbinom, norm, t

from orq_nb.analysis.spend.daily_groups import BY, METRICS, DailyGroups, daily_groups
from orq_nb.load.times import utc_timestamp

__all__ = ["spend_anomalies", "top_anomalies", "robust_baseline", "repeated_median_slope", "COLUMNS"]

COLUMNS = ["day", "group", "value", "baseline", "low", "high", "score", "anomaly", "direction", "reliable",
           "note"]
#: 1.4826 x MAD estimates the standard deviation of normal data.
MAD_TO_SD = 1.4826
#: The scale is at least this share of the baseline: a flat series does not flag every wiggle.
SCALE_FLOOR = 0.05
#: ... and at least this share of 1.2533 x the mean absolute deviation (which also estimates the
#: standard deviation): a sparse series, zero most days, has a MAD of 0 but is not flat.
SPREAD_FLOOR = 0.5
MEAN_AD_TO_SD = 1.2533
#: ``weekly=None`` turns the weekday profile on for a day once this many days of history precede it.
WEEKLY_AFTER = 21
#: The weekday profile is learnt from this many weeks before the day (more weeks: a steadier profile).
PROFILE_WEEKS = 12
#: ``weekly=None`` needs the weekday ratios of the past weeks to differ at this level (Kruskal-Wallis).
PATTERN_P = 0.05
#: Fewer of 7 days than this in a week: that week gives no weekday ratio.
_WEEK_MIN = 5
#: Cells (days x groups x window) per block: bounds the memory of the sliding windows.
_BLOCK = 2_000_000
#: The last this many days of a window, all beyond ``SHIFT_Z`` scales on one side of the baseline: a new
#: level, and the baseline is their median (it re-learns a permanent shift in this many days).
SHIFT_DAYS = 4
SHIFT_Z = 2.0
#: A split of the window whose later part's median is this many standard errors from the earlier part's,
#: with the last days nearer the later one: a new level (:func:`_relearn`).
SHIFT_SCORE = 6.0
#: The band's relative width is learnt from this many days before the day (day-to-day changes, log scale),
#: from the smallest ``KEEP`` of the changes (a spike moves two changes; one a fortnight is then left out).
SCALE_DAYS = 56
KEEP = 0.8
#: The variance of a standard normal kept within its central ``KEEP`` (to make the kept changes' mean square
#: an estimate of the variance of normal noise).
_KEPT_VARIANCE = float(1 - 2 * norm.isf((1 - KEEP) / 2) * norm.pdf(norm.isf((1 - KEEP) / 2)) / KEEP)
#: Fewer sessions a day than this on average over a group's window: sparse, judged by a count model.
SPARSE_RATE = 2.0
#: A baseline from fewer days of history than this is young: its band is learnt from a handful of days and
#: its false-alarm rate was not measured there; such rows are not ``reliable``.
YOUNG_DAYS = 14


def spend_anomalies(df: Any, *, by: str | None = None, metric: str = "total_cost", window: int = 28,
                    min_history: int = 7, threshold: float = 3.25, weekly: bool | None = None,
                    start: Any = None, end: Any = None) -> pd.DataFrame:
    """Every day of every group, with its baseline from the days before it and whether it leaves it.

    Parameters
    ----------
    df : DataFrame, dask DataFrame or store
        Sessions. A Dask frame is summed on its cluster (only the small daily
        sums come back); a store (anything with ``to_dask()`` or
        ``to_pandas(columns=...)``) is read through its Dask frame.
    by : {None, "tag", "project_id"}
        One series for the frame (group ``"(all)"``), one per tag (a session
        counts under each of its tags; untagged ones under ``"(no tag)"``) or per
        project (``"(no project)"``).
    metric : {"total_cost", "sessions", "cost_per_session", "median_duration_s", "total_tokens"}
        The daily figure. ``cost_per_session`` (total cost / sessions) is missing
        on a day without sessions and catches a price jump hidden by falling volume.
    window : int, default 28
        Days before each day that its baseline uses.
    min_history : int, default 7
        Fewer days with a value than this in the window: no baseline, no anomaly.
        A group's history starts on its first day with sessions.
    threshold : float, default 3.25
        A day is an anomaly when its robust z score is beyond +- ``threshold``
        (3.25: at most 1 false alarm per 30 days on steady, growing, shifting,
        sparse and holiday series, and 86-92% of 2x spikes found, in
        benchmarks/bench_validity.py).
    weekly : bool, optional
        Compare with the same weekday's level: a weekday profile learnt from the
        12 weeks before each day. Default: on for a day once 21 days of its group's
        history precede it and those weeks show a weekday pattern (Kruskal-Wallis,
        p < 0.05), both decided from the days before it.
    start, end : datetime, Timestamp or ISO string, optional
        The days returned (``end`` exclusive; naive means UTC). Baselines still
        use the days before ``start``.

    Returns
    -------
    DataFrame
        Columns ``day`` (UTC midnight), ``group``, ``value``, ``baseline``,
        ``low``/``high`` (the band of normal values), ``score`` (robust z),
        ``anomaly`` (bool), ``direction`` (``"high"``, ``"low"`` or ``""``),
        ``reliable`` (a baseline from at least 14 days of history: False for a
        group's first days) and ``note`` (why not, or how a sparse group was
        judged): one row per group and day, groups by name, days in order; a day
        without sessions is a row with value 0. The parameters are in
        ``.attrs["orq_nb"]``.

    Examples
    --------
    >>> import orq_nb
    >>> from orq_nb.analysis.spend.anomalies import spend_anomalies
    >>> found = spend_anomalies(orq_nb.load_sample(), by="project_id")
    >>> list(found.columns)
    ['day', 'group', 'value', 'baseline', 'low', 'high', 'score', 'anomaly', 'direction']
    """
    window, min_history, threshold = _check(by, metric, window, min_history, threshold, weekly)
    first = None if start is None else utc_timestamp(start)
    after = None if end is None else utc_timestamp(end)
    if first is not None and after is not None and after <= first:
        raise ValueError(f"end ({after}) must be after start ({first})")
    daily = daily_groups(df, by, medians=metric == "median_duration_s", start=start, end=end)
    values = daily.metric(metric)
    origin = daily.first()
    base, scale = robust_baseline(values, origin, window=window, min_history=min_history,
                                  weekly=weekly, counts=metric == "sessions")
    with np.errstate(invalid="ignore", divide="ignore"):
        score = (values - base) / scale
        # A zero scale (an all-equal past): no deviation is 0, any other is beyond every threshold.
        score = np.where(scale == 0, np.where(values == base, 0.0, np.sign(values - base) * np.inf), score)
    # An empty ($0) day is unusual only where the window before it had none.
    zeros, days = _window_sum(values == 0, origin, window)
    score = np.where((values == 0) & (zeros > 0), 0.0, score)
    low, high = np.maximum(base - threshold * scale, 0.0), base + threshold * scale
    notes = np.full(values.shape, "", dtype=object)
    # A group whose window holds days but none with a value: a baseline of 0, and any value is beyond it.
    silent = np.isnan(base) & (days >= min_history) & (zeros == days)
    base[silent], low[silent], high[silent] = 0.0, 0.0, 0.0
    score[silent] = np.where(values[silent] > 0, np.inf, 0.0)
    if metric in ("total_cost", "total_tokens", "sessions") and values.size:
        amount = None if metric == "sessions" else daily.metric(metric)
        sessions = _window_sum(daily.sessions, origin, window)
        sparse, found = _sparse(daily.sessions, amount, sessions, window, min_history, threshold)
        for target, value in zip((base, low, high, score), found, strict=True):
            target[sparse] = value[sparse]
        per_day = sessions[0][sparse] / sessions[1][sparse]
        notes[sparse] = [f"sparse: count model ({r:.2g} sessions a day)" for r in per_day]
    out = _frame(daily, values, base, low, high, score, threshold, notes, origin, min_history)
    if first is not None:
        out = out[(out["day"] >= first.floor("D")).to_numpy()]
    out = out.reset_index(drop=True)
    out.attrs["orq_nb"] = {
        "function": "spend_anomalies", "by": by, "metric": metric, "window": window,
        "min_history": min_history, "threshold": threshold, "weekly": weekly,
        "start": None if first is None else first.isoformat(),
        "end": None if after is None else after.isoformat(),
        "scale": f"max({MAD_TO_SD} x MAD, {SPREAD_FLOOR} x {MEAN_AD_TO_SD} x mean abs. deviation, "
                 f"{SCALE_FLOOR} x baseline)" + (
            ", at least sqrt(baseline) sessions" if metric == "sessions" else ""),
        "weekly_after_days": WEEKLY_AFTER, "profile_weeks": PROFILE_WEEKS,
        "empty_days": "the level and spread are those of days with a value; a $0 day is unusual only where "
                      "the window before it had none",
        "sparse": f"fewer than {SPARSE_RATE:g} sessions a day: a negative binomial on the day's sessions "
                  "and a robust z (Student's t) on its log amount per session",
    }
    return out


def _check(by, metric, window, min_history, threshold, weekly) -> tuple[int, int, float]:
    if by not in BY:
        raise ValueError(f"by must be None, 'tag' or 'project_id', not {by!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(map(repr, METRICS))}, not {metric!r}")
    for name, value in (("window", window), ("min_history", min_history)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive whole number of days, not {value!r}")
    if min_history > window:
        raise ValueError(f"min_history ({min_history}) cannot exceed window ({window}): "
                         "no day would ever have a baseline")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.number) or not threshold > 0:
        raise ValueError(f"threshold must be a positive number, not {threshold!r}")
    if weekly not in (None, True, False):
        raise ValueError(f"weekly must be True, False or None (automatic), not {weekly!r}")
    return int(window), int(min_history), float(threshold)


def _frame(daily: DailyGroups, values: np.ndarray, base: np.ndarray, low: np.ndarray, high: np.ndarray,
           score: np.ndarray, threshold: float, notes: np.ndarray, first: np.ndarray,
           min_history: int) -> pd.DataFrame:
    """The long result: one row per group and day, group by group."""
    n_days, n_groups = values.shape
    anomaly = np.abs(np.nan_to_num(score, nan=0.0)) > threshold
    direction = np.where(anomaly, np.where(score > 0, "high", "low"), "")
    age = np.arange(n_days)[:, None] - first[None, :]  # days of history before each day
    missing = np.isnan(base)
    notes = notes.copy()
    new = missing & (age < min_history)
    notes[new] = [f"new group: {max(a, 0)} day{'s' if a != 1 else ''} of history" for a in age[new]]
    notes[missing & ~new] = f"no baseline: fewer than {min_history} days with a value in the window"
    young = ~missing & (age < YOUNG_DAYS)
    notes[young] = [f"young group: a baseline from {a} days" + (f"; {n}" if n else "")
                    for a, n in zip(age[young], notes[young], strict=True)]

    def flat_t(a: np.ndarray) -> np.ndarray:  # group-major
        return a.T.reshape(-1)

    return pd.DataFrame({
        "day": np.tile(daily.days, n_groups) if n_days else pd.DatetimeIndex([], dtype="datetime64[us, UTC]"),
        "group": pd.array(np.repeat(np.asarray(daily.groups, dtype=object), n_days), dtype="str"),
        "value": flat_t(values).astype(float), "baseline": flat_t(base), "low": flat_t(low),
        "high": flat_t(high), "score": flat_t(score), "anomaly": flat_t(anomaly).astype(bool),
        "direction": pd.array(flat_t(direction).astype(object), dtype="str"),
        "reliable": flat_t(~missing & ~young).astype(bool),
        "note": pd.array(flat_t(notes).astype(object), dtype="str"),
    }, columns=COLUMNS)


def _window_sum(values: np.ndarray, first: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """For each day and group: the sum of ``values`` over the ``window`` days before it (from the group's
    first day), and how many days that is."""
    history = np.where(np.arange(len(values))[:, None] >= first[None, :], values.astype(float), np.nan)
    windows = _days_before(history, window)
    return np.nansum(windows, axis=-1), np.sum(~np.isnan(windows), axis=-1)


def _days_before(a: np.ndarray, length: int) -> np.ndarray:
    """For each day (axis 0) of a days x groups array, the ``length`` days before it, never the day itself
    (NaN before the first): shape (days, groups, length), ``[..., -1]`` the day before."""
    padded = np.concatenate([np.full((length, a.shape[1]), np.nan), a[:-1]], axis=0)
    return sliding_window_view(padded, length, axis=0)


def _sparse(sessions: np.ndarray, amount: np.ndarray | None, counted: tuple[np.ndarray, np.ndarray],
            window: int, min_history: int, threshold: float) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Groups with fewer than :data:`SPARSE_RATE` sessions a day: a day's count against a count model, and
    its amount per session against the past sessions'.

    The count is judged by its predictive distribution, a negative binomial (Poisson with
    the rate's Gamma posterior from the window: Jeffreys' prior, so 0 sessions in the window
    still leaves room for one); the amount per session by a robust z on the log scale, read
    through Student's t with the window's active days less one (few days: wide). One
    session more than usual is then not "unusual", and a baseline of 0 with no spread makes
    nothing an anomaly. ``counted``: the sessions in each day's window and its days
    (:func:`_window_sum`). Returns where the model applies, and its baseline, low, high, score.
    """
    total, days = counted
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = total / days
        shape, prob = total + 0.5, days / (days + 1.0)
        sparse = (days >= min_history) & (rate < SPARSE_RATE)
        tail = norm.sf(threshold)
        p_count = np.where(sessions > 0, nbinom.sf(sessions - 1, shape, prob), 1.0)
        z_count = np.where(sparse, norm.isf(np.clip(p_count, 1e-300, 1.0)), 0.0)
        z_count = np.maximum(z_count, 0.0)
        per = 1.0
        z_price = np.zeros(sessions.shape)
        if amount is not None:
            logs = np.where((sessions > 0) & (amount > 0), np.log(amount / np.maximum(sessions, 1)), np.nan)
            windows = _days_before(logs, window)
            centre, mad, m = _median_mad(windows)
            mean_ad = np.nansum(np.abs(windows - centre[..., None]), axis=-1) / m
            spread = np.maximum(MAD_TO_SD * mad, SPREAD_FLOOR * MEAN_AD_TO_SD * mean_ad)
            z = (logs - centre) / spread
            z_price = np.where((m >= 3) & (spread > 0) & np.isfinite(z),
                               np.sign(z) * norm.isf(np.clip(t.sf(np.abs(z), np.maximum(m - 1, 1)),
                                                             1e-300, 1)),
                               0.0)
            per = np.where(m > 0, np.exp(centre), np.nan)
        score = np.where(z_count >= np.abs(z_price), z_count, z_price)
        base = rate * per
        high = nbinom.isf(tail, shape, prob) * per
    return sparse, (base, np.zeros_like(base), high, score)


def robust_baseline(values: np.ndarray, first: np.ndarray | None = None, *, window: int = 28,
                    min_history: int = 7, weekly: bool | None = None,
                    counts: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Baseline and robust scale of each day from the days before it, for a days x groups array.

    Parameters
    ----------
    values : ndarray, shape (days, groups)
        Daily figures, NaN where there is none (e.g. cost per session of an empty day).
    first : ndarray of int, shape (groups,), optional
        Where each group's history starts (days before are not history). Default 0.
    window, min_history, weekly
        As in :func:`spend_anomalies`.
    counts : bool
        The figures are counts: the scale is at least sqrt(baseline) (Poisson noise).

    Returns
    -------
    baseline, scale : ndarray, shape (days, groups)
        NaN where fewer than ``min_history`` values precede the day in its window.
    """
    values = np.asarray(values, dtype=float)
    n_days, n_groups = values.shape
    first = np.zeros(n_groups, dtype=np.int64) if first is None else np.asarray(first)
    base, scale = np.full(values.shape, np.nan), np.full(values.shape, np.nan)
    if not n_days or not n_groups:
        return base, scale
    past = np.where(np.arange(n_days)[:, None] >= first[None, :], values, np.nan)
    step = max(1, _BLOCK // (n_days * max(window * window, 7 * PROFILE_WEEKS, SCALE_DAYS)))
    for lo in range(0, n_groups, step):  # blocks of groups, each vectorised over days x groups
        part = slice(lo, lo + step)
        base[:, part], scale[:, part] = _block(past[:, part], first[part], window, min_history, weekly,
                                               counts)
    return base, scale


def _block(past: np.ndarray, first: np.ndarray, window: int, min_history: int, weekly: bool | None,
           counts: bool) -> tuple[np.ndarray, np.ndarray]:
    n_days, n_groups = past.shape
    factors = np.ones((n_days, n_groups, 7))
    if weekly is not False:
        factors, pattern = _weekday_factors(np.where(past > 0, past, np.nan))  # empty days: no weekday
        if weekly is None:  # decided per day from its own past: enough history, and a weekday pattern in it
            off = ((np.arange(n_days)[:, None] - first[None, :]) < WEEKLY_AFTER) | ~pattern
            factors[off] = 1.0
    # The window of each day: the `window` days before it (never the day itself).
    windows = _days_before(past, window)
    offset = (np.arange(window) - window) % 7  # weekday of each window position relative to the day
    with np.errstate(invalid="ignore", divide="ignore"):
        seasonal = factors[:, :, offset]
        # A hurdle: the level and spread are those of the days with a value above 0; how often a day is 0
        # is judged apart (spend_anomalies), so that empty days neither drag the level down nor widen it.
        adjusted = np.where((seasonal > 0) & (windows > 0), windows / seasonal, np.nan)
    trend = _trend(adjusted, window)
    ago = window - np.arange(window)  # days before the day of each window position
    with np.errstate(invalid="ignore", over="ignore"):
        detrended = adjusted * np.exp(trend[..., None] * ago)
    level, _, n = _median_mad(detrended, mad=False)
    long = max(SCALE_DAYS, window)
    longer = _days_before(past, long)
    with np.errstate(invalid="ignore", divide="ignore"):
        seasonal = factors[:, :, (np.arange(long) - long) % 7]
        logs = np.log(np.where((seasonal > 0) & (longer > 0), longer / seasonal, np.nan))
    spread = level * _successive_spread(logs)
    level = _relearn(adjusted, level, spread, trend)
    today = factors[:, :, 0]
    base = level * today
    scale = np.maximum(spread * today, SCALE_FLOOR * np.abs(base))
    if counts:
        scale = np.maximum(scale, np.sqrt(np.maximum(base, 1.0)))
    missing = n < min_history
    base[missing] = np.nan
    scale[missing] = np.nan
    return base, scale


def _trend(adjusted: np.ndarray, window: int) -> np.ndarray:
    """Daily growth rate (log scale) of each window: Siegel's repeated median slope, where it is clear.

    The median over days of each day's median slope to the others: half the window can be a
    holiday, a spike or a new level before the slope moves (the medians of two halves moved
    with a holiday week). Kept only where it exceeds twice its standard error (from the
    residuals' MAD), so that a flat series gets no slope to wander with; then steady growth
    moves the baseline with it instead of leaving every recent day above a level a fortnight old.
    """
    if window < 8:
        return np.zeros(adjusted.shape[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(adjusted)
    k = np.arange(window, dtype=float)
    slope = repeated_median_slope(k, logs)
    n = np.sum(~np.isnan(logs), axis=-1)
    with np.errstate(invalid="ignore"):
        resid = logs - slope[..., None] * k
        _, mad, m = _median_mad(resid)
        present = ~np.isnan(logs)
        centre = np.sum(np.where(present, k, 0.0), axis=-1, keepdims=True) / np.maximum(
            present.sum(axis=-1, keepdims=True), 1)
        spread_k = np.sum(np.where(present, (k - centre) ** 2, 0.0), axis=-1)
        se = 1.25 * MAD_TO_SD * mad / np.sqrt(spread_k)
    clear = (n >= 8) & np.isfinite(slope) & (np.abs(slope) > 2 * se)
    return np.where(clear, slope, 0.0)


def repeated_median_slope(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Siegel's repeated median slope of ``y`` against ``t`` over the last axis, NaN left out: the median
    over points of each point's median slope to the others (a step, a holiday week or spikes in under half
    of the points barely move it). ``t`` is one axis of positions shared by every row of ``y``."""
    gap = t[None, :] - t[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        pair = (y[..., None, :] - y[..., :, None]) / np.where(gap == 0, np.nan, gap)
    each, _, _ = _median_mad(pair, mad=False)
    slope, _, _ = _median_mad(each, mad=False)
    return slope


def _successive_spread(logs: np.ndarray) -> np.ndarray:
    """The relative spread (log scale) of each window from its day-to-day changes.

    ``sqrt(mean of the smallest KEEP of squared changes / _KEPT_VARIANCE / 2)``: the
    changes' trimmed root mean square, scaled to estimate the standard deviation of normal
    noise (``_KEPT_VARIANCE`` is the variance of a normal kept within its central ``KEEP``). A level shift,
    a holiday week or a trend moves only one or two changes, where it would widen a spread
    about the window's one median (a holiday week made the band 1.5x wider for the four weeks
    after it); the trimmed mean of squares is steadier than a median of the few dozen changes
    a window holds, and the log scale lets :data:`SCALE_DAYS` of history serve a level that grew.
    Pairs with a missing or empty day are left out.
    """
    change = np.diff(logs, axis=-1)
    with np.errstate(invalid="ignore"):
        centre, _, _ = _median_mad(change, mad=False)
        square = np.sort((change - centre[..., None]) ** 2, axis=-1)  # NaN last
    n = np.sum(~np.isnan(change), axis=-1)
    keep = np.ceil(KEEP * n).astype(np.int64)
    total = np.cumsum(np.nan_to_num(square), axis=-1)
    kept = np.take_along_axis(total, np.clip(keep - 1, 0, square.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 3, np.sqrt(kept / np.maximum(keep, 1) / _KEPT_VARIANCE / 2), np.nan)


def _relearn(adjusted: np.ndarray, level: np.ndarray, spread: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """The level, or the level the window moved to.

    Two rules, both from the days before the day. The window's last days since a move:
    for each split of the window with at least :data:`SHIFT_DAYS` days after it and 7
    before, the medians (log scale) of the two parts, their distance in standard errors
    (from the pooled median absolute deviation), and whether the last :data:`SHIFT_DAYS`
    days are all nearer the later median; the best split beyond :data:`SHIFT_SCORE`
    makes the later median the level, so that a new level stays learnt (a median of 28
    days takes 14 to follow it). Else, where the last :data:`SHIFT_DAYS` days all left the
    level by more than :data:`SHIFT_Z` spreads on one side, their median. A permanent
    shift is then flagged on its first days and learnt after :data:`SHIFT_DAYS` of them;
    a holiday week is learnt the same way and forgotten as soon as the days after it no
    longer agree with it. Steady growth of 15% a week scores about 4, a doubling 7 or more.
    """
    window = adjusted.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(adjusted)
    recent = logs[..., -SHIFT_DAYS:]
    best = np.zeros(level.shape)
    moved = np.full(level.shape, np.nan)
    for c in range(7, window - SHIFT_DAYS + 1):
        before, after = logs[..., :c], logs[..., c:]
        centre_b, _, n_b = _median_mad(before, mad=False)
        centre_a, _, n_a = _median_mad(after, mad=False)
        with np.errstate(invalid="ignore", divide="ignore"):
            deviation = np.concatenate([np.abs(before - centre_b[..., None]),
                                        np.abs(after - centre_a[..., None])], axis=-1)
            mad, _, _ = _median_mad(deviation, mad=False)
            se = 1.2533 * MAD_TO_SD * mad * np.sqrt(1 / n_b + 1 / n_a)
            score = np.abs(centre_a - centre_b) / se
            nearer = (np.abs(recent - centre_a[..., None])
                      < np.abs(recent - centre_b[..., None])).all(axis=-1)
        better = nearer & (n_b >= 7) & (n_a >= SHIFT_DAYS) & (se > 0) & (score > best)
        best = np.where(better, score, best)
        moved = np.where(better, centre_a, moved)
    found = best > SHIFT_SCORE
    k = SHIFT_DAYS
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        expected = level[..., None] * np.exp(-trend[..., None] * (k - np.arange(k)))
        z = (adjusted[..., -k:] - expected) / spread[..., None]
    complete = ~np.isnan(z).any(axis=-1)
    shifted = complete & ((z > SHIFT_Z).all(axis=-1) | (z < -SHIFT_Z).all(axis=-1))
    newest, _, _ = _median_mad(adjusted[..., -k:], mad=False)
    return np.where(found, np.exp(moved), np.where(shifted, newest, level))


def _weekday_factors(past: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each day, the weekday profile learnt from the weeks before it, and whether it is real.

    ``factors[t, g, j]`` (shape days x groups x 7) is the factor of the weekday ``j``
    days after day ``t``'s weekday (``j = 0``: the day's own): the trimmed mean over
    the past ``PROFILE_WEEKS`` weeks of a day's value over the mean of its week
    (itself and the 6 days before), so that the trend cancels; normalised to
    average 1; missing: 1. ``pattern[t, g]``: those ratios differ by weekday
    (Kruskal-Wallis, p < ``PATTERN_P``), as they do not in noise.
    """
    n_days, n_groups = past.shape
    weeks = sliding_window_view(np.concatenate([np.full((6, n_groups), np.nan), past], axis=0), 7, axis=0)
    n_week = np.sum(~np.isnan(weeks), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(weeks, axis=-1) / n_week
        ratio = np.where((n_week >= _WEEK_MIN) & (mean > 0), past / mean, np.nan)
    span = 7 * PROFILE_WEEKS
    history = _days_before(ratio, span)  # (days, groups, span), ends the day before
    # Position k is (span - k) days before the day: its weekday is k - span = k (mod 7) days after.
    by_weekday = history.reshape(n_days, n_groups, PROFILE_WEEKS, 7).transpose(0, 1, 3, 2)
    profile = _trimmed_mean(by_weekday)
    with np.errstate(invalid="ignore"):
        present = ~np.isnan(profile)
        norm = np.nansum(profile, axis=-1, keepdims=True) / np.sum(present, axis=-1, keepdims=True)
        profile = np.where(present & (norm > 0), profile / norm, 1.0)
    return profile, _kruskal_wallis(by_weekday)


def _kruskal_wallis(samples: np.ndarray) -> np.ndarray:
    """Whether the values differ by their group (axis -2: the weekday), NaN left out: (days, groups).

    Vectorised ``scipy.stats.kruskal`` (without its tie correction: the ratios are
    continuous), so that it runs for every day and group at once; ranks are robust to
    a spike in the past weeks, and the test keeps a noisy series from a noisy profile.
    """
    flat = samples.reshape(*samples.shape[:-2], -1)
    valid = ~np.isnan(flat)
    total = valid.sum(axis=-1)
    ranks = np.argsort(np.argsort(flat, axis=-1), axis=-1) + 1.0  # NaNs sort last: valid ranks are 1..N
    ranks = np.where(valid, ranks, 0.0).reshape(samples.shape)
    n = valid.reshape(samples.shape).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = np.sum(np.where(n > 0, ranks.sum(axis=-1) ** 2 / n, 0.0), axis=-1)
        h = 12.0 / (total * (total + 1.0)) * spread - 3.0 * (total + 1.0)
    groups = (n > 0).sum(axis=-1)
    critical = chi2.ppf(1 - PATTERN_P, np.maximum(groups - 1, 1))
    return (total >= WEEKLY_AFTER - 6) & (groups == 7) & (h > critical)


def _trimmed_mean(a: np.ndarray) -> np.ndarray:
    """The mean over the last axis without its largest and smallest value (from 4 values on), NaN left out.

    Steadier than the median with the 3-8 values a weekday has (a weekly profile from a
    median moves the baseline ~40% more), and one spike a weekday still does not move it.
    """
    s = np.sort(a, axis=-1)
    n = np.sum(~np.isnan(a), axis=-1)
    total = np.cumsum(np.nan_to_num(s), axis=-1)

    def at(i: np.ndarray) -> np.ndarray:
        return np.take_along_axis(total, np.clip(i, 0, a.shape[-1] - 1)[..., None], axis=-1)[..., 0]

    whole = np.where(n > 0, at(n - 1), 0.0)
    cut = n >= 4
    trimmed = np.where(cut, at(n - 2) - s[..., 0], whole)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, trimmed / np.where(cut, n - 2, n), np.nan)


def _median_mad(a: np.ndarray, mad: bool = True) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Median and median absolute deviation over the last axis, NaN left out; and how many values."""
    n = np.sum(~np.isnan(a), axis=-1)
    med = _sorted_median(np.sort(a, axis=-1), n)
    dev = _sorted_median(np.sort(np.abs(a - med[..., None]), axis=-1), n) if mad else None
    return med, dev, n


def _sorted_median(s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """The median of each row of ``s`` sorted with its NaNs last, ``n`` values each (NaN if none)."""
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[..., None].clip(max=s.shape[-1] - 1), axis=-1)[..., 0]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def top_anomalies(result: pd.DataFrame, *, days: int = 7, n: int = 10) -> pd.DataFrame:
    """The strongest anomalies of the last ``days`` days of a :func:`spend_anomalies` result.

    Parameters
    ----------
    result : DataFrame
        What :func:`spend_anomalies` returned.
    days : int, default 7
        Counted back from the result's last day (that day included).
    n : int, default 10
        At most this many rows.

    Returns
    -------
    DataFrame
        Columns ``group``, ``day``, ``value``, ``baseline``, ``ratio``
        (value / baseline), ``score`` (how unusual, in robust standard scores),
        ``reliable`` and ``note``, strongest first (largest absolute score).
    """
    missing = [c for c in COLUMNS if c not in result.columns]
    if missing:
        raise ValueError(f"result must be what spend_anomalies returns; it has no {', '.join(missing)}")
    for name, value in (("days", days), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, not {value!r}")
    columns = ["group", "day", "value", "baseline", "score", "reliable", "note"]
    if not len(result):
        out = pd.DataFrame({c: result[c] for c in columns} | {"ratio": pd.Series(dtype=float)})
        return out[[*columns[:4], "ratio", *columns[4:]]].reset_index(drop=True)
    since = result["day"].max() - pd.Timedelta(days=days - 1)
    recent = result[(result["day"] >= since).to_numpy() & result["anomaly"].to_numpy()]
    order = np.argsort(-np.abs(recent["score"].to_numpy()), kind="stable")
    top = recent.iloc[order[:n]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = top["value"].to_numpy() / top["baseline"].to_numpy()
    return top[columns].assign(ratio=ratio)[[*columns[:4], "ratio", *columns[4:]]].reset_index(drop=True)
