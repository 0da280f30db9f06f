"""Welch's t and the delta method from sufficient statistics, so that pandas and Dask share one path.

Every statistic compared here is a ratio of sums, ``R = sum(num) / sum(den)``: the mean
(``den`` is 1 per session) and a ratio metric such as cost per token. Its delta-method
variance (Deng et al. 2018, "Applying the Delta Method in Metric Analytics") is

    Var(R) = n / (n - 1) * sum((num_i - R den_i)^2) / sum(den)^2,

which for the mean is ``s^2 / n``, Welch's term. Clustered (sessions of one contact are
correlated), the sums run over clusters instead of sessions, with G / (G - 1) in place of
n / (n - 1): the cluster-robust (CR1) variance. A cohort reduces to ``(n, R, Var(R), dof)``;
the difference gets Welch–Satterthwaite degrees of freedom from the two variances, the
ratio a normal interval on the log scale. scipy has no Welch test from a variance with
clusters or covariances, so the two lines of Welch–Satterthwaite are written here; the
test suite checks them against ``scipy.stats.ttest_ind(equal_var=False)`` to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import ndtri

__all__ = ["MOMENTS", "Cohort", "moments", "combine_moments", "from_moments", "from_clusters", "welch"]

#: The sufficient statistics of one cohort and metric: count, means, centred sums of squares and products.
MOMENTS = ("n", "mean_num", "mean_den", "m2_num", "m2_den", "cross")


@dataclass(frozen=True)
class Cohort:
    """One cohort's estimate of one metric: sessions, units (clusters), estimate, its variance, dof."""

    n: int
    units: int
    estimate: float
    variance: float
    dof: float


def moments(num: np.ndarray, den: np.ndarray | None = None) -> np.ndarray:
    """The :data:`MOMENTS` of one block of sessions (``den`` None: the mean), centred in two passes."""
    n = len(num)
    if n == 0:
        return np.zeros(6)
    mean_num = num.mean()
    d_num = num - mean_num
    if den is None:
        return np.array([n, mean_num, 1.0, d_num @ d_num, 0.0, 0.0])
    mean_den = den.mean()
    d_den = den - mean_den
    return np.array([n, mean_num, mean_den, d_num @ d_num, d_den @ d_den, d_num @ d_den])


def combine_moments(blocks: np.ndarray) -> np.ndarray:
    """Moments of the union of blocks (rows of :data:`MOMENTS`), by Chan et al.'s pairwise update."""
    total = np.zeros(6)
    for block in blocks:
        n1, n2 = total[0], block[0]
        if n2 == 0:
            continue
        if n1 == 0:
            total = np.array(block, dtype=float)
            continue
        n = n1 + n2
        dn, dd = block[1] - total[1], block[2] - total[2]
        w = n1 * n2 / n
        total = np.array([n, total[1] + dn * n2 / n, total[2] + dd * n2 / n,
                          total[3] + block[3] + dn * dn * w, total[4] + block[4] + dd * dd * w,
                          total[5] + block[5] + dn * dd * w])
    return total


def from_moments(m: np.ndarray) -> Cohort:
    """A cohort from its moments: R = mean_num / mean_den and its delta-method variance."""
    n = int(m[0])
    if n < 2 or m[2] == 0:
        return Cohort(n, n, m[1] / m[2] if n and m[2] else np.nan, np.nan, n - 1)
    r = m[1] / m[2]
    # sum((num - R den)^2) from centred sums: the centring terms cancel since mean_num = R mean_den.
    ss = max(m[3] - 2 * r * m[5] + r * r * m[4], 0.0)
    return Cohort(n, n, r, n / (n - 1) * ss / (n * m[2]) ** 2, n - 1)


def from_clusters(num: np.ndarray, den: np.ndarray, sessions: int) -> Cohort:
    """A cohort from its clusters' sums of ``num`` and ``den``: the cluster-robust (CR1) variance."""
    g = len(num)
    total = den.sum()
    if g < 2 or total == 0:
        return Cohort(sessions, g, num.sum() / total if total else np.nan, np.nan, g - 1)
    r = num.sum() / total
    resid = num - r * den
    return Cohort(sessions, g, r, g / (g - 1) * (resid @ resid) / total**2, g - 1)


def welch(a: Cohort, b: Cohort, confidence: float) -> dict:
    """Difference (Welch's t, Satterthwaite dof) and ratio (delta method, log scale) of two cohorts.

    The ratio's interval is ``exp(log(a / b) +- z * sqrt(Var a / a^2 + Var b / b^2))``: on the log
    scale it stays positive and covers better under skew (measured in benchmarks/bench_compare.py).
    """
    var = a.variance + b.variance
    diff = a.estimate - b.estimate
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = a.estimate / b.estimate if b.estimate != 0 else np.nan
        dof = var**2 / (a.variance**2 / a.dof + b.variance**2 / b.dof)
    out = {"difference": diff, "ratio": ratio, "difference_low": np.nan, "difference_high": np.nan,
           "ratio_low": np.nan, "ratio_high": np.nan, "p_value": np.nan}
    if not np.isfinite(var) or var <= 0:
        return out
    se = np.sqrt(var)
    half = stats.t.ppf(0.5 + confidence / 2, dof) * se
    out.update(difference_low=diff - half, difference_high=diff + half,
               p_value=float(2 * stats.t.sf(abs(diff) / se, dof)))
    if a.estimate > 0 and b.estimate > 0:
        log_se = np.sqrt(a.variance / a.estimate**2 + b.variance / b.estimate**2)
        z = ndtri(0.5 + confidence / 2)
        out.update(ratio_low=ratio * np.exp(-z * log_se), ratio_high=ratio * np.exp(z * log_se))
    return out
