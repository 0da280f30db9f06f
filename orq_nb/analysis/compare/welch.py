"""Welch's t, Fieller's ratio interval and the delta method from sufficient statistics, so that pandas and
Dask share one path.

Every statistic compared here is a ratio of sums, ``R = sum(num) / sum(den)``: the mean
(``den`` is 1 per session) and a ratio metric such as cost per token. Its delta-method
variance (Deng et al. 2018, "Applying the Delta Method in Metric Analytics") is

    Var(R) = n / (n - 1) * sum((num_i - R den_i)^2) / sum(den)^2,

which for the mean is ``s^2 / n``, Welch's term. Clustered (sessions of one contact are
correlated), the sums run over clusters instead of sessions, with the CR2 correction
(Bell and McCaffrey 2002: each cluster's residual over ``1 - h_g``, ``h_g`` its share of
``den``) in place of n / (n - 1), and G - 1 degrees of freedom a cohort. A cohort reduces
to ``(n, R, Var(R), dof, third)``, ``third`` the third cumulant of ``R``
(``sum(psi^3) / n^3`` of the linearised residuals), which the reliability rules read; the
difference gets Welch–Satterthwaite degrees of freedom from the two variances, the ratio
Fieller's interval with the same statistic and degrees of freedom. scipy has no Welch test
from a variance with clusters or covariances, so the two lines of Welch–Satterthwaite are
written here; the test suite checks them against ``scipy.stats.ttest_ind(equal_var=False)``
to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["MOMENTS", "Cohort", "moments", "combine_moments", "from_moments", "from_clusters", "welch",
           "fieller"]

#: The sufficient statistics of one cohort and metric: count, means, centred sums of squares and products,
#: and the centred third-order sums of u = num - mean and v = den - mean (uuu, uuv, uvv, vvv).
MOMENTS = ("n", "mean_num", "mean_den", "m2_num", "m2_den", "cross", "m3_uuu", "m3_uuv", "m3_uvv", "m3_vvv")
_M2 = {(0, 0): 3, (1, 1): 4, (0, 1): 5}
_M3 = {(0, 0, 0): 6, (0, 0, 1): 7, (0, 1, 1): 8, (1, 1, 1): 9}


@dataclass(frozen=True)
class Cohort:
    """One cohort's estimate of one metric: sessions, units (clusters), estimate, its variance, dof, and
    the third cumulant of the estimate (its skewness times variance^1.5), and the effective number of
    units (Kish's, of the clusters' ``den``; the sessions unclustered)."""

    n: int
    units: int
    estimate: float
    variance: float
    dof: float
    third: float = 0.0
    effective: float = np.nan


def moments(num: np.ndarray, den: np.ndarray | None = None) -> np.ndarray:
    """The :data:`MOMENTS` of one block of sessions (``den`` None: the mean), centred in two passes."""
    n = len(num)
    if n == 0:
        return np.zeros(len(MOMENTS))
    mean_num = num.mean()
    u = num - mean_num
    if den is None:
        return np.array([n, mean_num, 1.0, u @ u, 0.0, 0.0, u @ (u * u), 0.0, 0.0, 0.0])
    mean_den = den.mean()
    v = den - mean_den
    return np.array([n, mean_num, mean_den, u @ u, v @ v, u @ v, u @ (u * u), u @ (u * v), u @ (v * v),
                     v @ (v * v)])


def combine_moments(blocks: np.ndarray) -> np.ndarray:
    """Moments of the union of blocks (rows of :data:`MOMENTS`), by the pairwise updates of Chan et al.
    (second order) and Pébay (2008, third order)."""
    total = np.zeros(len(MOMENTS))
    for block in blocks:
        n1, n2 = total[0], block[0]
        if n2 == 0:
            continue
        if n1 == 0:
            total = np.array(block, dtype=float)
            continue
        n = n1 + n2
        delta = (block[1] - total[1], block[2] - total[2])
        out = total.copy()
        out[0], out[1], out[2] = n, total[1] + delta[0] * n2 / n, total[2] + delta[1] * n2 / n

        def m2(part, i, j):
            return part[_M2[(min(i, j), max(i, j))]]

        for (i, j), k in _M2.items():
            out[k] = total[k] + block[k] + delta[i] * delta[j] * n1 * n2 / n
        for (i, j, k), at in _M3.items():
            out[at] = (total[at] + block[at] + n1 * n2 * (n1 - n2) / n**2 * delta[i] * delta[j] * delta[k]
                       + (delta[i] * (n1 * m2(block, j, k) - n2 * m2(total, j, k))
                          + delta[j] * (n1 * m2(block, i, k) - n2 * m2(total, i, k))
                          + delta[k] * (n1 * m2(block, i, j) - n2 * m2(total, i, j))) / n)
        total = out
    return total


def from_moments(m: np.ndarray) -> Cohort:
    """A cohort from its moments: R = mean_num / mean_den, its delta-method variance and third cumulant."""
    n = int(m[0])
    if n < 2 or m[2] == 0:
        return Cohort(n, n, m[1] / m[2] if n and m[2] else np.nan, np.nan, n - 1, np.nan)
    r = m[1] / m[2]
    # sum((num - R den)^k) from centred sums: the centring terms cancel since mean_num = R mean_den.
    ss = max(m[3] - 2 * r * m[5] + r * r * m[4], 0.0)
    cube = m[6] - 3 * r * m[7] + 3 * r * r * m[8] - r**3 * m[9]
    scale = n * m[2]
    return Cohort(n, n, r, n / (n - 1) * ss / scale**2, n - 1, cube / scale**3, float(n))


def from_clusters(num: np.ndarray, den: np.ndarray, sessions: int) -> Cohort:
    """A cohort from its clusters' sums of ``num`` and ``den``: the cluster-robust variance, CR2-corrected.

    Each cluster's residual ``num_g - R den_g`` is weighed by ``1 / (1 - h_g)``, ``h_g = den_g / sum(den)``
    its leverage (Bell and McCaffrey's CR2 for a mean or a ratio of sums): with equal clusters this is
    CR1's G / (G - 1); with unequal ones the large clusters, whose residuals the fit pulls towards zero,
    count more, as they should.
    """
    g = len(num)
    total = den.sum()
    square = float(den @ den)
    effective = float(total**2 / square) if square > 0 else 0.0
    if g < 2 or total == 0:
        return Cohort(sessions, g, num.sum() / total if total else np.nan, np.nan, g - 1, np.nan, effective)
    r = num.sum() / total
    resid = num - r * den
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = 1 - den / total
        variance = float(np.sum(resid**2 / kept)) / total**2 if (kept > 0).all() else np.nan
    return Cohort(sessions, g, r, variance, g - 1, float(np.sum(resid**3)) / total**3, effective)


def fieller(a: float, b: float, var_a: float, var_b: float, q: float) -> tuple[float, float, bool]:
    """Fieller's interval for ``a / b`` from independent estimates: every rho with
    ``(a - rho b)^2 <= q^2 (var_a + rho^2 var_b)``.

    Returns ``(low, high, bounded)``. Bounded when ``b`` is clearly away from 0
    (``b^2 > q^2 var_b``). Otherwise the set is unbounded: the ray that holds the
    estimate, or the whole line (when the set is two rays and 1 lies in the other one,
    the whole line, so that the interval excludes 1 exactly when the test at rho = 1
    rejects). Ratios of two positive estimates are clipped below at 0.
    """
    lead = b * b - q * q * var_b
    half = a * a * var_b + b * b * var_a - q * q * var_a * var_b
    disc = q * q * half
    estimate = a / b if b != 0 else np.nan
    positive = a > 0 and b > 0
    if lead > 0:
        root = np.sqrt(max(disc, 0.0))
        low, high = (a * b - root) / lead, (a * b + root) / lead
        return (max(low, 0.0) if positive else low), high, True
    if disc <= 0 or lead == 0:
        return (0.0 if positive else -np.inf), np.inf, False
    root = np.sqrt(disc)
    r1, r2 = sorted(((a * b - root) / lead, (a * b + root) / lead))
    inside_one = (a - b) ** 2 <= q * q * (var_a + var_b)
    if np.isfinite(estimate) and estimate >= r2 and not (inside_one and 1 <= r1):
        return r2, np.inf, False
    if np.isfinite(estimate) and estimate <= r1 and not (inside_one and 1 >= r2):
        return (0.0 if positive else -np.inf), r1, False
    return (0.0 if positive else -np.inf), np.inf, False


def welch(a: Cohort, b: Cohort, confidence: float) -> dict:
    """Difference (Welch's t, Satterthwaite dof) and ratio (Fieller, the same t and dof) of two cohorts.

    Fieller's set is the ratios rho that Welch's test of ``a - rho b = 0`` does not
    reject at ``1 - confidence``; at rho = 1 that test is Welch's test of the difference,
    so the ratio's interval excludes 1 exactly when ``p_value < 1 - confidence``
    (the log-scale delta method with a normal quantile disagreed in 12% of A/A rows at
    10 sessions a cohort). ``ratio_bounded`` is False where the interval is unbounded.
    """
    var = a.variance + b.variance
    diff = a.estimate - b.estimate
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = a.estimate / b.estimate if b.estimate != 0 else np.nan
        dof = var**2 / (a.variance**2 / a.dof + b.variance**2 / b.dof)
    out = {"difference": diff, "ratio": ratio, "difference_low": np.nan, "difference_high": np.nan,
           "ratio_low": np.nan, "ratio_high": np.nan, "p_value": np.nan, "ratio_bounded": True}
    if not np.isfinite(var) or var <= 0:
        return out
    se = np.sqrt(var)
    q = stats.t.ppf(0.5 + confidence / 2, dof)
    half = q * se
    out.update(difference_low=diff - half, difference_high=diff + half,
               p_value=float(2 * stats.t.sf(abs(diff) / se, dof)))
    if np.isfinite(ratio):
        low, high, bounded = fieller(a.estimate, b.estimate, a.variance, b.variance, q)
        out.update(ratio_low=low, ratio_high=high, ratio_bounded=bounded)
    return out
