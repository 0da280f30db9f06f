"""What the pandas and Dask paths of a comparison share: the metric and option records, and the rows.

A row is a dict of the result's columns; :func:`welch_row` makes one from two cohorts' moments (either
path), :func:`empty_row` one without an interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orq_nb.analysis.compare.reliability import judge
from orq_nb.analysis.compare.welch import Cohort, welch

__all__ = ["Metric", "Options", "welch_row", "empty_row", "too_small", "no_estimate", "notes"]


@dataclass(frozen=True)
class Metric:
    """A metric: the mean (or median) of ``num``, or with ``den`` the ratio sum(num) / sum(den) x scale."""

    name: str
    num: str
    den: str | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class Options:
    statistic: str
    method: str | None
    cluster: str | None
    confidence: float
    winsorize: float | None
    n_resamples: int
    seed: int


def too_small(units_a: int, units_b: int, n_a: int, n_b: int, opts: Options) -> str | None:
    for name, n, g in (("a", n_a, units_a), ("b", n_b, units_b)):
        if n < 2:
            return f"none: cohort {name} has {n} session{'s' if n != 1 else ''} with a value"
        if opts.cluster and g < 2:
            return f"none: cohort {name} has {g} contact"
    return None


def no_estimate(m: Metric, ea: float, eb: float) -> str | None:
    for name, e in (("a", ea), ("b", eb)):
        if not np.isfinite(e):
            return f"none: cohort {name} has no {m.den or m.num}"
    return None


def welch_row(m: Metric, ca: Cohort, cb: Cohort, opts: Options) -> dict:
    row = {"n_a": ca.n, "n_b": cb.n, "a": ca.estimate * m.scale, "b": cb.estimate * m.scale}
    reason = too_small(ca.units, cb.units, ca.n, cb.n, opts) or no_estimate(m, ca.estimate, cb.estimate)
    if reason:
        return {**empty_row(reason, ca.n, cb.n), "a": row["a"], "b": row["b"]}
    found = welch(ca, cb, opts.confidence)
    if not np.isfinite(found["p_value"]):
        return {**empty_row("none: all values equal within each cohort", ca.n, cb.n), "a": row["a"],
                "b": row["b"], "difference": found["difference"] * m.scale, "ratio": found["ratio"]}
    for key in ("difference", "difference_low", "difference_high"):
        found[key] *= m.scale
    reliable, note = judge(ca, cb, clustered=opts.cluster is not None, bounded=found.pop("ratio_bounded"))
    text = ("welch" + (" (delta method)" if m.den else "") + (", cluster-robust CR2" if opts.cluster else "")
            + "; Fieller ratio" + notes(opts) + ("" if np.isfinite(found["ratio_low"]) else "; no ratio"))
    return {**row, **found, "method": text, "reliable": reliable, "note": note}


def notes(opts: Options) -> str:
    return f"; winsorized at the {opts.winsorize:g} quantile" if opts.winsorize is not None else ""


def empty_row(reason: str, n_a: int = 0, n_b: int = 0) -> dict:
    """A row without an interval: not reliable, the reason as its method and note."""
    return {"n_a": n_a, "n_b": n_b, "method": reason, "reliable": False,
            "note": reason.removeprefix("none: ")}
