"""When a comparison row cannot hold its nominal rate: the rules, their thresholds and the words.

Measured by seeded simulation (``benchmarks/bench_validity.py``), not assumed:

- **Skew that does not cancel.** Welch's t is accurate when the two cohorts' skewness
  cancels in the difference (cohorts of similar size and shape: 95-96% coverage even at
  10 lognormal sessions a cohort). It does not cancel when one cohort is much smaller:
  30 sessions against 50,000 of lognormal sigma 1 covered 87%. The measure is the
  skewness of the difference of the two estimates, with each cohort's shape taken from
  the cohort with more units (its sample skewness is steady; the small cohort's own is
  lowest exactly when it missed the tail, which would hide the worst rows):
  ``shape x |V_a^1.5 / sqrt(u_a) - V_b^1.5 / sqrt(u_b)| / (V_a + V_b)^1.5``. Above
  :data:`SKEW_LIMIT` coverage fell below 93% in every family tried.
- **Few clusters.** With ``cluster=`` the interval rests on the contacts. Below
  :data:`CLUSTER_FLOOR` effective contacts in a cohort (Kish's ``(sum w)^2 / sum w^2`` of
  the contacts' sessions, so that one contact with most sessions counts as few) the
  CR2 interval with G - 1 degrees of freedom covered 87-92%; from 10 on, 93-96%.
- **A median from few sessions.** Fewer than :data:`MEDIAN_MIN` values in a cohort: no
  test of medians here holds its rate, and Mood's test needs them.
- **The bootstrap's interval of a skewed mean** below :data:`BOOTSTRAP_MIN` sessions a
  cohort: BCa intervals covered 89-91% with a real difference at 100-500 lognormal
  sessions (93-94% at 5,000), where Welch's held.
- **An interval that disagrees with its p-value** (bootstrap rows: the interval is the
  bootstrap's, the p-value Welch's or Mood's).
- **An unbounded ratio interval** (Fieller: b is not clearly away from 0).
"""

from __future__ import annotations

import numpy as np

from orq_nb.analysis.compare.welch import Cohort

__all__ = ["SKEW_LIMIT", "CLUSTER_FLOOR", "MEDIAN_MIN", "BOOTSTRAP_MIN", "BOOTSTRAP_SKEW",
           "skew_of_difference", "judge"]

#: Skewness of the difference above which Welch's interval under-covers (see the module docstring).
SKEW_LIMIT = 0.3
#: Fewer effective contacts than this in a cohort: a clustered interval under-covers.
CLUSTER_FLOOR = 10.0
#: Fewer values than this in a cohort: no median comparison is trusted (and Mood's test is not used).
MEDIAN_MIN = 20
#: The bootstrap's (BCa) interval of a mean of skewed values (skewness above ``BOOTSTRAP_SKEW``) is too
#: narrow below this many sessions (contacts) in a cohort: 89-91% at 100-500 lognormal sessions with a real
#: difference, 93-94% at 5,000 (benchmarks/bench_compare.py, bench_validity.py); Welch's holds there.
BOOTSTRAP_MIN = 5000
BOOTSTRAP_SKEW = 1.0


def _shape(c: Cohort) -> float:
    """The standardised skewness of one unit (session or contact) of a cohort, from its estimate's."""
    if not (np.isfinite(c.third) and np.isfinite(c.variance) and c.variance > 0):
        return 0.0
    return abs(c.third) * np.sqrt(c.units) / c.variance**1.5


def skew_of_difference(a: Cohort, b: Cohort) -> tuple[float, float]:
    """The skewness of ``a - b`` (each cohort's shape from the cohort with more units), and that shape."""
    shape = _shape(a) if a.units > b.units else _shape(b) if b.units > a.units else max(_shape(a), _shape(b))
    var = a.variance + b.variance
    if not (np.isfinite(var) and var > 0):
        return 0.0, shape
    parts = [c.variance**1.5 / np.sqrt(c.units) if c.units > 0 and np.isfinite(c.variance) else 0.0
             for c in (a, b)]
    return shape * abs(parts[0] - parts[1]) / var**1.5, shape


def judge(a: Cohort, b: Cohort, *, clustered: bool = False, median: bool = False, bootstrap: bool = False,
          agree: bool = True, bounded: bool = True, tested: str = "Welch's p-value") -> tuple[bool, str]:
    """Whether a row holds its nominal rate, and if not why, in words.

    Parameters
    ----------
    a, b : Cohort
        The cohorts' estimates (for the skewness rule; sizes for the median rule).
    clustered : bool
        The units are contacts: the cohorts' ``effective`` counts are checked against the floor.
    median : bool
        The row compares medians (the skewness rule is for means and ratios of sums).
    bootstrap : bool
        The row's interval of a mean (or ratio of sums) is the bootstrap's.
    agree : bool
        Whether the row's interval excludes the null exactly when its p-value is below
        1 - confidence.
    bounded : bool
        Whether the ratio's interval is bounded.
    tested : str
        What gave the p-value, for the disagreement note.
    """
    notes = []
    if median:
        for name, c in (("a", a), ("b", b)):
            if c.n < MEDIAN_MIN:
                notes.append(f"{c.n} sessions in {name}: too few for a median's interval or test "
                             f"(at least {MEDIAN_MIN})")
    else:
        skew, shape = skew_of_difference(a, b)
        unit = "contacts" if clustered else "sessions"
        (name, small), big = (("a", a), b) if a.units <= b.units else (("b", b), a)
        if bootstrap and small.units < BOOTSTRAP_MIN and shape > BOOTSTRAP_SKEW:
            notes.append(f"the bootstrap's interval of a mean of values this skewed (skew {shape:.1f}) is "
                         f"too narrow at {small.units:,} {unit} (below {BOOTSTRAP_MIN:,}); "
                         "method='welch' holds")
        if skew > SKEW_LIMIT:
            if big.units >= 2 * small.units:
                notes.append(f"{small.units:,} vs {big.units:,} {unit} with skew {shape:.1f}: "
                             f"the interval under-covers (too few in {name} for values this skewed)")
            else:
                notes.append(f"{small.units:,} {unit} in {name}: too few for values this skewed "
                             f"(skew {shape:.1f})")
    if clustered:
        for name, c in (("a", a), ("b", b)):
            g = c.effective
            if not g >= CLUSTER_FLOOR:
                notes.append(f"{c.units:,} contacts in {name} ({g:.1f} effective): too few clusters for a "
                             f"cluster-robust interval (at least {CLUSTER_FLOOR:g})")
    if not agree:
        notes.append(f"the interval and {tested} disagree about the null")
    if not bounded:
        notes.append("the ratio's interval is unbounded: b is not clearly away from 0")
    return not notes, "; ".join(notes)
