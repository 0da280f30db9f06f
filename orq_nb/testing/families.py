"""Seeded data of the shapes real sessions take, with their truths: for validity runs and tests.

Two kinds of family, each drawn by one function from a name and a seed:

- :func:`compare_family`: two cohorts of values for ``compare_cohorts`` (a
  :class:`CompareDraw`: the arrays, the population means and medians they were drawn
  from, and :meth:`CompareDraw.frame` for a minimal sessions frame). Costs have mean
  ``MEAN_COST`` in cohort b and ``ratio`` times that in cohort a.
- :func:`spend_family`: a sessions frame of several series (one tag each) over
  ``N_DAYS`` days from ``START``, and what was planted in each series (a
  :class:`SpendDraw`): spike days, shift day, holiday days, empty days, the expected
  daily cost.

Every truth is exact (closed forms, or a sum over a discrete distribution's support),
not estimated from a draw. :func:`anomaly_score` and :func:`month_total` score what
``spend_anomalies`` and ``spend_forecast`` return against a draw, as
``benchmarks/bench_validity.py`` does, so that a test at CI size measures the same
figures the benchmark prints.

Examples
--------
>>> from orq_nb.testing.families import compare_family, spend_family
>>> draw = compare_family("lognormal-1", 30, seed=0, ratio=1.2)
>>> round(draw.target()[1], 6)
1.2
>>> df, mask_a, mask_b = draw.frame()
>>> int(mask_a.sum()), int(mask_b.sum())
(30, 30)
>>> spend = spend_family("empty-days", seed=0, n_series=2)
>>> sorted(spend.truth)
['empty-days-00', 'empty-days-01']
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "COMPARE_FAMILIES", "SPEND_FAMILIES", "CompareDraw", "SpendDraw", "compare_family", "spend_family",
    "minimal_frame", "anomaly_score", "month_total", "day_of", "START", "N_DAYS", "MEAN_COST", "EFFECT",
    "LOPSIDED_B", "SPEND_AS_OF",
]

#: Mean cost of a session in cohort b (USD); cohort a's is ``ratio`` times it.
MEAN_COST = 0.01
#: The true ratio of means the benchmark's effect versions use.
EFFECT = 1.2
#: The large cohort of the lopsided family.
LOPSIDED_B = 50_000
#: Compare families: name -> what it draws (``n`` is sessions a cohort, contacts for "clustered").
COMPARE_FAMILIES = {
    "lognormal-1": "lognormal costs, sigma 1 (skewness 6.2)",
    "lognormal-1.5": "lognormal costs, sigma 1.5 (skewness 33)",
    "lopsided": f"lognormal sigma 1 (skewness 6.2), n sessions in a against {LOPSIDED_B:,} in b",
    "clustered": "n contacts a cohort, 1 + negative binomial (mean 20) sessions each; contact level "
                 "lognormal sigma 0.75, sessions lognormal sigma 1 about it",
    "zero-inflated-lognormal": "60% zero-cost sessions, the rest lognormal sigma 1.5",
    "zero-inflated-pareto": "60% zero-cost sessions, the rest Pareto alpha 2.5",
    "pareto-2.5": "Pareto alpha 2.5 (finite variance, infinite skewness)",
    "tied-3v4": "whole-second durations (lognormal sigma 0.5 rounded): population medians 3 s vs 4 s",
    "tied-3v3": "whole-second durations: population medians 3 s vs 3 s (A/A)",
    "tied-3.5v3.5": "whole-second durations: P(<= 3 s) = 1/2 exactly, population medians 3.5 s (A/A)",
}
_TIED = {"tied-3v4": (3.0, 4.0), "tied-3v3": (3.0, 3.0), "tied-3.5v3.5": (3.5, 3.5)}
_TIED_SIGMA = 0.5
_CLUSTER_SIGMA, _SESSION_SIGMA, _CLUSTER_SIZE, _CLUSTER_K = 0.75, 1.0, 20.0, 1.5
_ZERO_SHARE, _PARETO_ALPHA = 0.6, 2.5

#: The spend families' first day and length.
START = pd.Timestamp("2026-01-01", tz="UTC")
N_DAYS = 120
#: The forecast date of the "new" family by default: its new tags have 3 days of history by then.
SPEND_AS_OF = pd.Timestamp("2026-04-15", tz="UTC")
#: Spend families: name -> what it draws (each series ~$100 a day, ~100 sessions, 15% daily noise).
SPEND_FAMILIES = {
    "steady": "steady level, no trend",
    "growth-5": "growth of 5% a week (volume and price alike)",
    "growth-10": "growth of 10% a week",
    "growth-15": "growth of 15% a week",
    "shift": "the level doubles for good on a known day (35-76; volume in even series, price in odd)",
    "empty-days": "20% of days (random) without any session; 5 spikes (2x cost per session) on days "
                  "with sessions",
    "holiday": "a holiday week (7 days at 40% of the level) starting on day 35-64; 4 spikes in the 4 "
               "weeks after it",
    "rare": "a rare tag: Poisson 0.3 sessions a day, ~$1 each",
    "new": "tags only 3 days old at the forecast date (as_of), beside one established tag",
}
_DAY = pd.Timedelta(days=1)
_DAY_US = 86_400_000_000
_SPREAD = 0.3  # per-session lognormal spread of the cost about the day's price


# -- compare -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareDraw:
    """Two cohorts of values and the populations they were drawn from.

    Attributes
    ----------
    family : str
        The family's name (a key of :data:`COMPARE_FAMILIES`).
    a, b : ndarray
        The values of cohorts a and b.
    truth : dict
        ``mean_a``, ``mean_b``, ``median_a``, ``median_b``: population means and medians
        (of a session drawn at random; exact).
    metric : str
        The column the values go in: ``"total_cost"``, or ``"duration_ms"`` for the tied families.
    contacts_a, contacts_b : ndarray of str, optional
        Each session's contact (the clustered family).
    """

    family: str
    a: np.ndarray
    b: np.ndarray
    truth: dict[str, float]
    metric: str = "total_cost"
    contacts_a: np.ndarray | None = None
    contacts_b: np.ndarray | None = None

    def target(self, statistic: str = "mean") -> tuple[float, float]:
        """The true difference (a - b) and ratio (a / b) of the population means or medians.

        Parameters
        ----------
        statistic : {"mean", "median"}

        Returns
        -------
        difference, ratio : float
        """
        if statistic not in ("mean", "median"):
            raise ValueError(f"statistic must be 'mean' or 'median', not {statistic!r}")
        a, b = self.truth[f"{statistic}_a"], self.truth[f"{statistic}_b"]
        return a - b, (a / b if b else np.nan)

    def frame(self) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """A minimal sessions frame (a's sessions first) and the masks of cohorts a and b.

        Returns
        -------
        df : DataFrame
            The column :attr:`metric`; with contacts also ``id`` (str) and ``contact_ids``
            (lists of one id), what ``cluster="contact_ids"`` reads.
        mask_a, mask_b : ndarray of bool
        """
        n_a, n_b = len(self.a), len(self.b)
        columns: dict[str, Any] = {self.metric: np.concatenate([self.a, self.b])}
        if self.contacts_a is not None and self.contacts_b is not None:
            columns["id"] = pd.array([f"s{i}" for i in range(n_a + n_b)], dtype="str")
            contacts = np.concatenate([self.contacts_a, self.contacts_b]).tolist()
            columns["contact_ids"] = [[c] for c in contacts]
        mask_a = np.r_[np.ones(n_a, dtype=bool), np.zeros(n_b, dtype=bool)]
        return pd.DataFrame(columns), mask_a, ~mask_a


def compare_family(name: str, n: int, seed: int, *, ratio: float = 1.0,
                   n_b: int | None = None) -> CompareDraw:
    """Draw two cohorts of one compare family.

    Parameters
    ----------
    name : str
        A key of :data:`COMPARE_FAMILIES`.
    n : int
        Sessions in cohort a (contacts, for ``"clustered"``).
    seed : int
        The draw is a function of ``(name, n, n_b, ratio, seed)``.
    ratio : float, default 1.0
        Cohort a's values are ``ratio`` times b's distribution (1: an A/A pair). The tied
        families take none (their medians are in their name).
    n_b : int, optional
        Cohort b's size; default ``n`` (``LOPSIDED_B`` for ``"lopsided"``).

    Returns
    -------
    CompareDraw
    """
    if name not in COMPARE_FAMILIES:
        raise ValueError(f"unknown compare family {name!r}; one of {', '.join(COMPARE_FAMILIES)}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive whole number, not {n!r}")
    if name in _TIED and ratio != 1.0:
        raise ValueError(f"{name} takes no ratio: its population medians are in its name")
    if not ratio > 0:
        raise ValueError(f"ratio must be positive, not {ratio!r}")
    n_b = int(n_b if n_b is not None else LOPSIDED_B if name == "lopsided" else n)
    rng = np.random.default_rng([zlib.crc32(name.encode()), int(n), n_b, int(round(ratio * 1e6)), int(seed)])
    if name in _TIED:
        med_a, med_b = _TIED[name]
        a, b = _tied(rng, med_a, int(n)), _tied(rng, med_b, n_b)
        (mean_a, pm_a), (mean_b, pm_b) = _tied_truth(med_a), _tied_truth(med_b)
        return CompareDraw(name, a, b, {"mean_a": mean_a, "mean_b": mean_b, "median_a": pm_a,
                                        "median_b": pm_b}, metric="duration_ms")
    if name == "clustered":
        a, contacts_a = _clustered(rng, int(n), "a")
        b, contacts_b = _clustered(rng, n_b, "b")
        median = np.exp(-(_CLUSTER_SIGMA**2 + _SESSION_SIGMA**2) / 2)
        return CompareDraw(name, ratio * MEAN_COST * a, MEAN_COST * b, _truth(ratio, median),
                           contacts_a=contacts_a, contacts_b=contacts_b)
    draw, median = _unit_draws(name)
    return CompareDraw(name, ratio * MEAN_COST * draw(rng, int(n)), MEAN_COST * draw(rng, n_b),
                       _truth(ratio, median))


def _truth(ratio: float, median: float) -> dict[str, float]:
    """Means and medians of cohorts a (``ratio`` x) and b, from the unit distribution's median (mean 1)."""
    return {"mean_a": ratio * MEAN_COST, "mean_b": MEAN_COST, "median_a": ratio * MEAN_COST * median,
            "median_b": MEAN_COST * median}


def _unit_draws(name: str):
    """A sampler of values with mean 1, and that distribution's median."""
    if name.startswith("lognormal") or name == "lopsided":
        sigma = 1.5 if name == "lognormal-1.5" else 1.0
        return (lambda rng, n: rng.lognormal(-sigma**2 / 2, sigma, n)), float(np.exp(-sigma**2 / 2))
    alpha = _PARETO_ALPHA
    xm = (alpha - 1) / alpha  # Pareto I with this minimum has mean 1

    def pareto(rng: np.random.Generator, n: int) -> np.ndarray:
        return xm * (1 + rng.pareto(alpha, n))

    if name == "pareto-2.5":
        return pareto, float(xm * 2 ** (1 / alpha))
    keep = 1 - _ZERO_SHARE  # zero-inflated: the tail has mean 1 / keep, so that the whole has mean 1

    def lognormal(rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(-1.125, 1.5, n)

    tail = lognormal if name == "zero-inflated-lognormal" else pareto

    def zero_inflated(rng: np.random.Generator, n: int) -> np.ndarray:
        return np.where(rng.random(n) < _ZERO_SHARE, 0.0, tail(rng, n) / keep)

    return zero_inflated, 0.0  # P(0) = 0.6 > 1/2: the median is 0


def _clustered(rng: np.random.Generator, contacts: int, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Sessions of ``contacts`` contacts: values with mean 1 (sizes independent of levels), contact ids."""
    k = _CLUSTER_K
    sizes = 1 + rng.negative_binomial(k, k / (k + _CLUSTER_SIZE - 1), contacts)
    level = rng.lognormal(-_CLUSTER_SIGMA**2 / 2, _CLUSTER_SIGMA, contacts)
    values = np.repeat(level, sizes) * rng.lognormal(-_SESSION_SIGMA**2 / 2, _SESSION_SIGMA, sizes.sum())
    return values, np.repeat(np.array([f"{prefix}{c}" for c in range(contacts)], dtype=object), sizes)


def _tied(rng: np.random.Generator, median_s: float, n: int) -> np.ndarray:
    """Durations in ms, whole seconds: a lognormal duration (median ``median_s``) rounded half up."""
    return 1000.0 * np.floor(rng.lognormal(np.log(median_s), _TIED_SIGMA, n) + 0.5)


def _tied_truth(median_s: float) -> tuple[float, float]:
    """Exact mean and median (ms) of :func:`_tied`'s durations, from the lognormal's CDF at k + 1/2."""
    k = np.arange(0, 2001, dtype=float)
    cdf = stats.lognorm.cdf(k + 0.5, _TIED_SIGMA, scale=median_s)  # P(rounded <= k)
    pmf = np.diff(np.r_[0.0, cdf])
    mean = float(k @ pmf)
    i = int(np.searchsorted(cdf, 0.5 - 1e-12))
    median = (k[i] + k[i + 1]) / 2 if abs(cdf[i] - 0.5) < 1e-12 else k[i]  # F(k) = 1/2: any value between
    return 1000.0 * mean, 1000.0 * float(median)


# -- spend -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendDraw:
    """A sessions frame of several series (one tag each) and what was planted in each.

    Attributes
    ----------
    family : str
        A key of :data:`SPEND_FAMILIES`.
    df : DataFrame
        Sessions (:func:`minimal_frame`'s columns), over ``n_days`` days from :data:`START`.
    truth : dict
        Tag -> that series' truth: ``spike``, ``holiday``, ``empty`` (bool arrays, one
        value a day: 2x cost per session; the holiday week; no session at all),
        ``level`` (the expected daily cost without spikes), ``shift`` (the first day of
        the doubled level, -1 if none), ``start`` (its first day), ``new`` (bool) and
        ``as_of`` (the forecast date it was drawn for, or None).
    weekly : bool
        Whether weekends are 40% lower.
    n_days : int
    as_of : Timestamp, optional
        The forecast date the ``"new"`` family was drawn for (its new tags have 3 complete
        days of history then); None for the other families.
    """

    family: str
    df: pd.DataFrame
    truth: dict[str, dict[str, Any]]
    weekly: bool
    n_days: int = N_DAYS
    as_of: pd.Timestamp | None = field(default=None)

    @property
    def days(self) -> pd.DatetimeIndex:
        """The UTC midnights of the draw's days."""
        return pd.date_range(START, periods=self.n_days, freq="D")


def spend_family(name: str, seed: int, *, weekly: bool = False, spikes: int | None = None, n_series: int = 10,
                 n_days: int = N_DAYS, as_of: Any = None) -> SpendDraw:
    """Draw the sessions of one spend family: ``n_series`` tags, ~$100 a day each, 15% daily noise.

    Parameters
    ----------
    name : str
        A key of :data:`SPEND_FAMILIES`.
    seed : int
    weekly : bool, default False
        Weekends (Saturday, Sunday) 40% lower.
    spikes : int, optional
        Days at 2x the cost per session a series (on days with sessions; for ``"holiday"``
        within the 4 weeks after the holiday week). Default: 5 for ``"empty-days"``, 4 for
        ``"holiday"``, none elsewhere (false alarms are measured on the rest).
    n_series : int, default 10
        New tags for ``"new"`` (beside one established tag, ``"new-established"``).
    n_days : int, default 120
        From :data:`START` (2026-01-01, a Thursday): January to April.
    as_of : datetime or str, optional
        ``"new"`` only: the forecast date at which its tags are 3 days old (default
        :data:`SPEND_AS_OF`, 15 April 2026).

    Returns
    -------
    SpendDraw
    """
    if name not in SPEND_FAMILIES:
        raise ValueError(f"unknown spend family {name!r}; one of {', '.join(SPEND_FAMILIES)}")
    if n_days < 60:
        raise ValueError(f"n_days must be at least 60 (the families plant events after day 35), not {n_days}")
    rng = np.random.default_rng([zlib.crc32(name.encode()), int(weekly), int(seed), n_series, n_days])
    day = np.arange(n_days)
    weekend = np.where(((START.weekday() + day) % 7) >= 5, 0.6 if weekly else 1.0, 1.0)
    default_spikes = {"empty-days": 5, "holiday": 4}.get(name, 0)
    n_spikes = default_spikes if spikes is None else int(spikes)
    when = None
    if name == "new":
        when = SPEND_AS_OF if as_of is None else pd.Timestamp(as_of)
        when = when.tz_localize("UTC") if when.tz is None else when.tz_convert("UTC")
        if not START + 4 * _DAY <= when <= START + n_days * _DAY:
            raise ValueError(f"as_of ({when}) must fall between day 4 and the end of the {n_days} days")
    stamps, costs, tags = [], [], []
    truth: dict[str, dict[str, Any]] = {}
    plans = [("new-established", False)] if name == "new" else []
    plans += [(f"{name}-{g:02d}", name == "new") for g in range(n_series)]
    for g, (tag, new) in enumerate(plans):
        level = rng.uniform(70.0, 140.0)  # USD a day on weekdays
        volume = np.full(n_days, level / 1.0)  # sessions a day at ~$1 each
        price = np.ones(n_days)
        spike = np.zeros(n_days, dtype=bool)
        holiday = np.zeros(n_days, dtype=bool)
        start, shift = 0, -1
        if name.startswith("growth-"):
            grow = (1 + int(name.split("-")[1]) / 100) ** (day / 7)
            volume, price = volume * np.sqrt(grow), price * np.sqrt(grow)
        elif name == "shift":
            shift = int(rng.integers(35, 77))
            step = np.where(day >= shift, 2.0, 1.0)
            volume, price = (volume * step, price) if g % 2 == 0 else (volume, price * step)
        elif name == "holiday":
            first = int(rng.integers(35, 65))
            holiday[first:first + 7] = True
            volume = volume * np.where(holiday, 0.4, 1.0)
        elif name == "rare":
            volume, price = np.full(n_days, 0.3), np.full(n_days, level / 100.0)
        elif name == "new" and new:
            start = int((when - START) // _DAY) - 3
        volume = volume * weekend
        volume[:start] = 0.0
        if name == "empty-days":
            empty = rng.random(n_days) < 0.2
            empty[0] = False
            volume = np.where(empty, 0.0, volume)
        if n_spikes:
            if name == "holiday":
                end = int(np.flatnonzero(holiday)[-1]) + 1
                pool = np.arange(end, min(end + 28, n_days))
            else:
                pool = np.flatnonzero((day >= 28) & (volume > 0))
            spike[rng.choice(pool, min(n_spikes, len(pool)), replace=False)] = True
        expected = volume * price
        # Price noise such that, with Poisson volume and the per-session spread, the day's total has CV 15%.
        with np.errstate(divide="ignore"):
            left = np.sqrt(np.maximum(0.15**2 - (1 + np.expm1(_SPREAD**2)) / volume, 0.0))
        sigma = np.sqrt(np.log1p(left**2))
        daily = price * rng.lognormal(-sigma**2 / 2, sigma) * np.where(spike, 2.0, 1.0)
        count = rng.poisson(volume)
        if name != "rare":  # spikes are planted on days with sessions: keep one there
            count = np.where(spike & (count == 0), 1, count)
        d = np.repeat(day, count)
        stamps.append(START.value // 1000 + d * _DAY_US + rng.integers(0, _DAY_US, count.sum()))
        costs.append(np.repeat(daily, count) * rng.lognormal(-_SPREAD**2 / 2, _SPREAD, count.sum()))
        tags.append(np.full(count.sum(), g))
        truth[tag] = {"spike": spike, "holiday": holiday, "empty": (count == 0) & (day >= start),
                      "level": expected, "shift": shift, "start": start, "new": new,
                      "as_of": when if new else None}
    order = np.argsort(np.concatenate(stamps), kind="stable")
    names = [[tag] for tag, _ in plans]
    df = minimal_frame(np.concatenate(stamps)[order], np.concatenate(costs)[order],
                       [names[g] for g in np.concatenate(tags)[order].tolist()], rng)
    return SpendDraw(name, df, truth, bool(weekly), n_days, when)


def minimal_frame(stamps: np.ndarray, costs: np.ndarray, tags: list, rng: np.random.Generator,
                  contacts: int = 500) -> pd.DataFrame:
    """A sessions frame with only the columns the analysis functions read.

    Parameters
    ----------
    stamps : ndarray of int
        Start times, microseconds since the epoch (UTC).
    costs : ndarray of float
        Total cost of each session (USD).
    tags : list of list of str
    rng : numpy Generator
        Draws the columns that play no part (tokens, durations, project, contact).
    contacts : int, default 500
        Each session gets one contact id of this many.

    Returns
    -------
    DataFrame
        ``id`` (str), ``started_at`` (datetime64[us, UTC]), ``total_cost``, ``total_tokens``,
        ``duration_ms``, ``project_id`` (str), ``tags`` and ``contact_ids`` (lists of str).
    """
    n = len(costs)
    who = np.array([f"c{i}" for i in range(contacts)], dtype=object)[rng.integers(0, contacts, n)]
    return pd.DataFrame({
        "id": pd.array([f"s{i}" for i in range(n)], dtype="str"),
        "started_at": pd.to_datetime(np.asarray(stamps), unit="us", utc=True).astype("datetime64[us, UTC]"),
        "total_cost": np.asarray(costs, dtype=float), "total_tokens": np.round(np.asarray(costs) * 1e5),
        "duration_ms": rng.lognormal(8, 0.5, n),
        "project_id": pd.array(rng.choice(["a", "b", "c"], n), dtype="str"), "tags": tags,
        "contact_ids": [[c] for c in who.tolist()],
    })


# -- scoring -----------------------------------------------------------------------------------------------


def day_of(days: Any) -> np.ndarray:
    """Day numbers (0 = :data:`START`) of UTC timestamps."""
    return ((pd.DatetimeIndex(days) - START) // _DAY).to_numpy().astype(np.int64)


def anomaly_score(result: pd.DataFrame, draw: SpendDraw, after_shift: int = 28) -> dict[str, Any]:
    """What ``spend_anomalies(draw.df, by="tag")`` found, against what was planted.

    A false alarm is any flag (high or low) on a day with a baseline that is not a spike,
    not in the holiday week, and not the first day of a shift or the ``after_shift`` days
    after it (counted apart). A spike is caught when flagged high.

    Parameters
    ----------
    result : DataFrame
        ``spend_anomalies(draw.df, by="tag", ...)``.
    draw : SpendDraw
    after_shift : int, default 28

    Returns
    -------
    dict
        ``alarms``, ``days`` (false alarms and the days they were counted on),
        ``caught``, ``spikes``, and for shifts ``shift_found`` (series whose first
        shifted day was flagged high), ``shifts`` and ``after`` (flags in the
        ``after_shift`` days after each shift: a list, one count a series).
    """
    out: dict[str, Any] = {"alarms": 0, "days": 0, "caught": 0, "spikes": 0, "shift_found": 0, "shifts": 0,
                           "after": []}
    groups = result["group"].to_numpy()
    for tag, t in draw.truth.items():
        part = result[groups == tag]
        if not len(part):
            continue
        day = day_of(part["day"])
        inside = day < draw.n_days
        day = day[inside]
        flagged = part["anomaly"].to_numpy(dtype=bool)[inside]
        high = flagged & (part["direction"].to_numpy(dtype=object)[inside] == "high")
        spike = t["spike"][day]
        out["caught"] += int((high & spike).sum())
        out["spikes"] += int(spike.sum())
        calm = part["baseline"].notna().to_numpy()[inside] & ~spike & ~t["holiday"][day]
        if t["shift"] >= 0:
            s = t["shift"]
            out["shifts"] += 1
            out["shift_found"] += bool(high[day == s].any())
            out["after"].append(int(flagged[(day > s) & (day <= s + after_shift)].sum()))
            calm &= ~((day >= s) & (day <= s + after_shift))
        out["alarms"] += int((flagged & calm).sum())
        out["days"] += int(calm.sum())
    return out


def month_total(draw: SpendDraw, as_of: Any) -> pd.Series:
    """Each tag's real spend in ``as_of``'s month (USD; sessions started in that month).

    Parameters
    ----------
    draw : SpendDraw
    as_of : datetime or str

    Returns
    -------
    Series
        Indexed by tag; tags without a session that month are absent.
    """
    when = pd.Timestamp(as_of)
    when = when.tz_localize("UTC") if when.tz is None else when.tz_convert("UTC")
    first = when.floor("D").replace(day=1)
    end = first + pd.offsets.MonthBegin(1)
    df = draw.df
    inside = ((df["started_at"] >= first) & (df["started_at"] < end)).to_numpy()
    tags = np.array([t[0] for t in df["tags"].to_numpy()[inside]], dtype=object)
    return pd.Series(df["total_cost"].to_numpy()[inside]).groupby(tags).sum()
