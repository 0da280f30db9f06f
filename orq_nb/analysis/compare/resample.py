"""Bootstrap distributions of one cohort's statistics, every metric from one shared set of resamples.

A cohort is a table of resampling units: sessions, or clusters of sessions (one contact's).
Resample ``i`` draws the units ``rng.integers(0, G, G)``, exactly as
``scipy.stats.bootstrap`` draws them (``rng_integers(rng, 0, n, (n_resamples, n))`` for each
sample in turn), so that under the same seed the distribution is scipy's; the draw is
made chunk by chunk (the generator's stream does not depend on how it is split), so no
n_resamples x n float matrix is ever held whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orq_nb.analysis.compare.bca import loo_median, loo_ratio

__all__ = ["Units", "Statistic", "estimates", "jackknife", "bootstrap"]

#: Elements (resamples x units) per chunk: about 16 MB of gathered float64 at a time.
CHUNK = 2**21


@dataclass(frozen=True)
class Statistic:
    """What to compute per resample: ``"ratio"`` of column sums (num / den; den None: the mean) or
    ``"median"`` of column ``num``."""

    kind: str
    num: int
    den: int | None = None


@dataclass(frozen=True)
class Units:
    """A cohort as resampling units.

    ``values`` holds the sessions (rows) x columns; ``unit`` gives each session's unit
    (cluster) code in 0..G-1, or None when every session is its own unit.
    """

    values: np.ndarray
    unit: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(self.values) if self.unit is None else int(self.unit.max()) + 1 if len(self.unit) else 0

    def sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Per unit: the sum of each column, and the number of sessions."""
        if self.unit is None:
            return self.values, np.ones(len(self.values))
        g = self.count
        sums = np.stack([np.bincount(self.unit, weights=col, minlength=g) for col in self.values.T], axis=1)
        return sums, np.bincount(self.unit, minlength=g).astype(float)


def estimates(units: Units, statistics: list[Statistic]) -> np.ndarray:
    """Each statistic on the cohort as it is."""
    out = []
    for s in statistics:
        if not len(units.values):
            out.append(np.nan)
        elif s.kind == "median":
            out.append(np.median(units.values[:, s.num]))
        else:
            den = len(units.values) if s.den is None else units.values[:, s.den].sum()
            out.append(units.values[:, s.num].sum() / den if den else np.nan)
    return np.array(out)


def jackknife(units: Units, statistic: Statistic) -> np.ndarray:
    """The statistic with each unit left out in turn (closed forms, see :mod:`.bca`)."""
    if statistic.kind == "median":
        return loo_median(units.values[:, statistic.num], units.unit, units.count)
    sums, sizes = units.sums()
    return loo_ratio(sums[:, statistic.num], sizes if statistic.den is None else sums[:, statistic.den])


def bootstrap(units: Units, statistics: list[Statistic], n_resamples: int,
              rng: np.random.Generator) -> np.ndarray:
    """Statistics x resamples: each statistic on each of ``n_resamples`` resamples of the units."""
    g = units.count
    out = np.empty((len(statistics), n_resamples))
    sums, sizes = units.sums()
    columns = sorted({c for s in statistics if s.kind == "ratio" for c in (s.num, s.den) if c is not None})
    by_column = {c: np.ascontiguousarray(sums[:, c]) for c in columns}
    medians = [s.num for s in statistics if s.kind == "median"]
    sorted_values = {c: _sorted_by_value(units, c) for c in medians} if units.unit is not None else {}
    width = max(g, len(units.values)) if sorted_values else g
    rows = max(1, min(n_resamples, CHUNK // max(width, 1)))
    for start in range(0, n_resamples, rows):
        idx = rng.integers(0, g, (min(rows, n_resamples - start), g), dtype=np.int64)
        block = slice(start, start + len(idx))
        total = {c: by_column[c][idx].sum(axis=1) for c in columns}
        size = sizes[idx].sum(axis=1) if units.unit is not None else float(g)
        counts = _counts(idx, g) if sorted_values else None
        with np.errstate(invalid="ignore", divide="ignore"):
            for i, s in enumerate(statistics):
                if s.kind == "ratio":
                    out[i, block] = total[s.num] / (size if s.den is None else total[s.den])
                elif counts is None:
                    out[i, block] = np.median(units.values[:, s.num][idx], axis=1)
                else:
                    out[i, block] = _weighted_median(*sorted_values[s.num], counts)
    return out


def _sorted_by_value(units: Units, column: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(units.values[:, column], kind="stable")
    return units.values[order, column], units.unit[order]


def _counts(idx: np.ndarray, g: int) -> np.ndarray:
    """How often each unit is drawn in each resample (resamples x units)."""
    rows = len(idx)
    flat = (idx + (np.arange(rows) * g)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * g).reshape(rows, g)


def _weighted_median(values: np.ndarray, unit: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The median of each resample of clusters: every session weighted by how often its cluster was drawn."""
    cum = np.cumsum(counts[:, unit], axis=1)
    n = cum[:, -1]
    picks = [values[np.argmax(cum > k[:, None], axis=1)] for k in ((n - 1) // 2, n // 2)]
    return (picks[0] + picks[1]) / 2
