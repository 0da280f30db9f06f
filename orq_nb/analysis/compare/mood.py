"""Mood's median test, and the intervals that invert it: a difference and a ratio of medians that agree with
their p-value by construction.

``scipy.stats.median_test`` tests one pair of samples; an interval needs the test at many
shifts, so the 2 x 2 table and its Yates-corrected chi-square (scipy's defaults: values at
the grand median count as below it) are computed here directly, and checked against scipy
in the test suite. The interval of the difference is every shift ``d`` at which
``a - d`` and ``b`` pass the test; of the ratio, every ``r`` at which ``a / r`` and ``b``
do (Mood 1950, the inversion of a test into a confidence set). Under ties (whole-second
durations) the set can be a single point: a certain difference of the medians of the
rounded data, which is what it estimates, and the p-value at 0 still has its power there,
where a bootstrap's distribution of the median difference collapses to a point.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

__all__ = ["mood_p", "mood_interval"]

_STEPS = 60


def mood_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of Mood's median test, as ``scipy.stats.median_test(a, b).pvalue`` (1 where every
    value is on one side of the grand median, where scipy raises)."""
    grand = np.median(np.concatenate([a, b]))
    above = np.array([np.count_nonzero(a > grand), np.count_nonzero(b > grand)], dtype=float)
    sizes = np.array([len(a), len(b)], dtype=float)
    table = np.array([above, sizes - above])
    rows, cols, total = table.sum(axis=1), table.sum(axis=0), table.sum()
    if (rows == 0).any() or (cols == 0).any():
        return 1.0
    expected = np.outer(rows, cols) / total
    diff = np.maximum(np.abs(table - expected) - 0.5, 0.0)  # Yates, as chi2_contingency(correction=True)
    return float(chi2.sf(np.sum(diff**2 / expected), 1))


def mood_interval(a: np.ndarray, b: np.ndarray, confidence: float, *, ratio: bool = False
                  ) -> tuple[float, float]:
    """The shifts (``ratio``: scale factors) of ``a`` that Mood's test does not reject against ``b``.

    Found by bisection from the estimate (the difference or ratio of the medians) to
    either side; a bound within 1e-6 of the data's range of the estimate is the estimate
    (the set is a point there). Under ties the accepted set can come in pieces; the
    interval then holds 0 (a ratio: 1) exactly when the test at 0 accepts, as the p-value
    says: it takes 0 in when it is accepted, and keeps to the estimate's side of it when
    it is not. Where the test rejects at the estimate itself (under heavy ties), the search
    starts from the nearest shift it accepts; where there is none, the interval is the
    estimate (stretched to 0 when 0 is accepted).
    """
    alpha = 1 - confidence
    if ratio:
        mb = np.median(b)
        if not (np.median(a) > 0 and mb > 0 and (a >= 0).all() and (b >= 0).all()):
            return np.nan, np.nan
        estimate = np.log(np.median(a) / mb)
        positive = np.concatenate([a[a > 0], b[b > 0]])
        reach = np.log(positive.max() / positive.min()) + 1.0
        spread = float(np.subtract(*np.percentile(np.log(positive), [75, 25])))

        def accepted(x: float) -> bool:
            return mood_p(a / np.exp(x), b) >= alpha
    else:
        estimate = float(np.median(a) - np.median(b))
        reach = float(np.ptp(a) + np.ptp(b)) + 1.0
        spread = float(np.subtract(*np.percentile(np.concatenate([a, b]), [75, 25])))

        def accepted(x: float) -> bool:
            return mood_p(a - x, b) >= alpha
    tol = 1e-9 * reach
    null = accepted(0.0)  # the test itself: the interval must hold 0 exactly when it does
    start = estimate if accepted(estimate) else _nearest(accepted, estimate, spread)
    if start is None:  # nothing near the estimate passes: the estimate, stretched to 0 where 0 passes
        bounds = (min(estimate, 0.0), max(estimate, 0.0)) if null else (estimate, estimate)
    else:
        low, high = (_edge(accepted, start, start + side * reach, tol) for side in (-1, 1))
        if null:  # the accepted set need not be one piece under ties: take in 0
            low, high = min(low, 0.0), max(high, 0.0)
        elif low <= 0.0 <= high:  # 0 rejected but inside: the piece on the start's side of it
            if start > 0:
                low = _edge(accepted, start, 0.0, tol)
            else:
                high = _edge(accepted, start, 0.0, tol)
        bounds = (low, high)
    low, high = (start if start is not None and abs(x - start) <= 1e3 * tol else x for x in bounds)
    return (float(np.exp(low)), float(np.exp(high))) if ratio else (float(low), float(high))


def _nearest(accepted, estimate: float, spread: float, steps: int = 200) -> float | None:
    """The accepted point nearest the estimate on a grid of ``steps`` a side over ``spread``: under ties the
    test can reject the difference of the sample medians itself (3 s and 3 s, when the 3 s values lie on
    one side of the grand median more in one cohort) and accept shifts between the whole seconds."""
    if not spread > 0:
        return None
    for k in range(1, steps + 1):
        for x in (estimate - spread * k / steps, estimate + spread * k / steps):
            if accepted(x):
                return x
    return None


def _edge(accepted, inside: float, outside: float, tol: float) -> float:
    """The last accepted point between ``inside`` (accepted) and ``outside``, by bisection."""
    if accepted(outside):
        return outside
    for _ in range(_STEPS):
        middle = (inside + outside) / 2
        if accepted(middle):
            inside = middle
        else:
            outside = middle
        if abs(outside - inside) <= tol:
            break
    return inside
