"""Is the difference real? Two cohorts of sessions compared metric by metric, with honest intervals.

The comparison is observational: the cohorts are not randomised, so a difference says the
cohorts differ, not that the tag or the change caused it (other things may differ between
them too: time, users, projects).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from orq_nb.analysis import cohorts
from orq_nb.analysis.compare.pandas_rows import SessionData, compare_masks
from orq_nb.analysis.compare.rows import Metric, Options, empty_row, welch_row
from orq_nb.analysis.inputs import is_dask, is_frame, sessions_input
from orq_nb.analysis.summaries import tag_counts
from orq_nb.analysis.tags import TagIndex

__all__ = ["compare_cohorts", "compare_tags", "COLUMNS", "DEFAULT_METRICS", "RATIO_METRICS"]

DEFAULT_METRICS = ("total_cost", "duration_ms", "total_tokens", "traces_count", "cost_per_1k_tokens")
#: Ratio metrics: (numerator, denominator, scale): a ratio of the cohort's sums, never a mean of ratios.
RATIO_METRICS = {"cost_per_1k_tokens": ("total_cost", "total_tokens", 1000.0)}
COLUMNS = ["n_a", "n_b", "a", "b", "difference", "difference_low", "difference_high", "ratio", "ratio_low",
           "ratio_high", "p_value", "p_adjusted", "method", "reliable", "note"]
_NUMBERS = COLUMNS[2:12]
OBSERVATIONAL = ("observational: the cohorts are not randomised, so a difference shows that they differ, "
                 "not that the tag or change caused it")


def compare_cohorts(
    df: Any,
    a: Any,
    b: Any = None,
    *,
    metrics: list[str] | None = None,
    statistic: Literal["mean", "median"] = "mean",
    method: Literal["bootstrap", "welch"] | None = None,
    cluster: Literal["contact_ids"] | None = None,
    confidence: float = 0.95,
    winsorize: float | None = None,
    n_resamples: int = 2000,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Compare two cohorts of sessions, metric by metric: difference and ratio with intervals and p-values.

    Parameters
    ----------
    df : DataFrame, dask DataFrame or SessionStore
        Sessions. A Dask frame (``SessionStore.to_dask()``) takes ``method="welch"``
        (the default there): each cohort's sufficient statistics are computed per
        partition and combined, equal to the pandas answer to 1e-9. A store is read
        into pandas with the columns the comparison needs.
    a, b : str, dict or boolean mask
        A tag, a dict of :func:`filter_sessions` arguments (``{"tags": [...],
        "projects": [...], "start": ..., "end": ...}``) or a mask aligned with ``df``.
        ``b=None``: every session not in ``a``. A session in both cohorts, or an
        empty cohort, is a ValueError.
    metrics : list of str, optional
        Numeric columns, and ``"cost_per_1k_tokens"``: 1000 x sum(cost) / sum(tokens)
        of the cohort (a ratio metric, never the mean of per-session ratios; it stays
        a ratio of sums with ``statistic="median"``). Default: total_cost,
        duration_ms, total_tokens, traces_count, cost_per_1k_tokens.
    statistic : {"mean", "median"}
        The mean is the decision metric for spend (total = n x mean). Medians are
        compared by Mood's median test (from 20 independent sessions a cohort), with
        the intervals that invert it; clustered or smaller, by the bootstrap. Not on
        Dask (a ValueError).
    method : {"welch", "bootstrap"}, optional
        ``"welch"`` (the default for means, and the only one on Dask): Welch's t for
        the difference (Welch–Satterthwaite dof; the delta-method variance for ratio
        metrics) and Fieller's interval for the ratio with the same t and dof, so that
        it excludes 1 exactly when ``p_value`` < 1 - confidence (unbounded: ``inf``,
        and the note says so). ``"bootstrap"``: cohorts resampled independently, whole
        sessions (or whole contacts), BCa intervals from a closed-form jackknife
        (equal to ``scipy.stats.bootstrap(method="BCa")`` under the same seed),
        percentile where BCa is degenerate; a mean's p-value is Welch's, and a row
        whose interval disagrees with it, or a skewed mean below 5,000 sessions a
        cohort (where BCa covered 88-91%), is flagged. See
        benchmarks/bench_validity.py for the coverage of each.
    cluster : {"contact_ids"}, optional
        Treat the sessions of one contact (a session's first contact id; without
        one, a session is its own cluster) as one unit: the bootstrap resamples
        contacts, Welch uses the cluster-robust (CR2) variance with G - 1 degrees of
        freedom a cohort. Sessions of one user are correlated; without this the
        interval is too narrow then. Fewer than 10 effective contacts: flagged.
    confidence : float, default 0.95
    winsorize : float, optional
        Cap each metric at this quantile of the pooled cohorts first (e.g. 0.999, as
        Statsig does): narrower, steadier intervals, at the price of a small bias
        against the heaviest sessions (the caps are in ``attrs``; exact on Dask too).
    n_resamples : int, default 2000
    random_state : int or numpy Generator, optional
        The seed; the one used is recorded in ``attrs`` (drawn when None).

    Returns
    -------
    DataFrame
        One row per metric (index ``metric``), columns :data:`COLUMNS`: ``n_a``,
        ``n_b`` (non-missing values), ``a``, ``b`` (the statistic), ``difference``
        (a - b) and ``ratio`` (a / b) with their intervals, ``p_value``,
        ``p_adjusted`` (Benjamini–Hochberg over the rows), ``method`` (what ran,
        or why there is no interval: fewer than 2 sessions, all values equal),
        ``reliable`` (whether the row holds its nominal rate on data shaped like
        its own, as measured by simulation) and ``note`` (empty when reliable; else
        why, in words: "30 vs 50,000 sessions with skew 6.2: the interval
        under-covers", "8 contacts in a (5.1 effective): too few clusters", ...).
        ``attrs["orq_nb"]`` records the cohorts, confidence, seed and that the
        comparison is observational.

    Examples
    --------
    >>> import orq_nb
    >>> df = orq_nb.load_sample()
    >>> result = orq_nb.compare_cohorts(df, "gpt-4o", "gpt-4o-mini", random_state=0)
    >>> list(result.index)
    ['total_cost', 'duration_ms', 'total_tokens', 'traces_count', 'cost_per_1k_tokens']
    """
    opts = _options(statistic, method, cluster, confidence, winsorize, n_resamples, random_state)
    cohorts.check_cohort(a, "a")
    if not is_frame(df):
        names = metrics or list(DEFAULT_METRICS)
        df = _read(df, [*names, *cohorts.spec_columns(a), *cohorts.spec_columns(b)], cluster)
    if b is not None:
        cohorts.check_cohort(b, "b")
    chosen = _metrics(df, metrics)
    _check_backend(df, opts)
    if is_dask(df):
        from orq_nb.analysis.compare.dask_rows import dask_cohorts

        found = dask_cohorts(df, [(a, b)], chosen, opts)[0]
        _check_counts(found["sizes"], found["both"], raise_empty=True, specs=(a, b))
        rows, caps = [welch_row(m, *found["cohorts"][i], opts) for i, m in enumerate(chosen)], found["caps"]
        sizes = found["sizes"]
    else:
        index = TagIndex.of(df) if cohorts.needs_tags(a) or cohorts.needs_tags(b) else None
        mask_a = cohorts.cohort_mask(df, a, "a", index)
        mask_b = ~mask_a if b is None else cohorts.cohort_mask(df, b, "b", index)
        sizes = (int(mask_a.sum()), int(mask_b.sum()))
        _check_counts(sizes, int((mask_a & mask_b).sum()), raise_empty=True, specs=(a, b))
        rows, caps = compare_masks(SessionData.of(df, chosen, opts.cluster), mask_a, mask_b, chosen, opts)
    out = _frame(rows, pd.Index([m.name for m in chosen], name="metric"))
    out.attrs["orq_nb"] = _attrs(opts, "cohorts", caps, a=cohorts.describe(a, sizes[0]),
                                 b=cohorts.describe(b, sizes[1]), metrics=[m.name for m in chosen])
    return out


def compare_tags(
    df: Any,
    tags: list[str] | None = None,
    *,
    metric: str = "total_cost",
    statistic: Literal["mean", "median"] = "mean",
    method: Literal["bootstrap", "welch"] | None = None,
    cluster: Literal["contact_ids"] | None = None,
    confidence: float = 0.95,
    winsorize: float | None = None,
    n_resamples: int = 2000,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Each tag against the sessions without it: which tags cost more than the rest, for real.

    Parameters
    ----------
    df : DataFrame, dask DataFrame or SessionStore
        Sessions (a store is read with the columns needed).
    tags : list of str, optional
        Default: the 20 most used tags.
    metric : str, default "total_cost"
    statistic, method, cluster, confidence, winsorize, n_resamples, random_state
        As for :func:`compare_cohorts`.

    Returns
    -------
    DataFrame
        One row per tag (index ``tag``), the columns of :func:`compare_cohorts`,
        ``p_adjusted`` by Benjamini–Hochberg across the tags, sorted by it. A tag
        that no session (or every session) has gets a row without an interval.
    """
    opts = _options(statistic, method, cluster, confidence, winsorize, n_resamples, random_state)
    if not isinstance(metric, str):
        raise TypeError(f"metric must be one metric name (str), not {type(metric).__name__}")
    df = _read(df, [metric], cluster)
    chosen = _metrics(df, [metric])
    _check_backend(df, opts)
    if tags is None:
        tags = list(tag_counts(df).index[:20])
    elif isinstance(tags, str):
        tags = [tags]
    tags = list(dict.fromkeys(tags))
    rows, caps = [], {}
    if is_dask(df):
        from orq_nb.analysis.compare.dask_rows import dask_cohorts

        for found in dask_cohorts(df, [(t, None) for t in tags], chosen, opts):
            reason = _check_counts(found["sizes"], 0, raise_empty=False)
            rows.append(empty_row(reason) if reason else welch_row(chosen[0], *found["cohorts"][0], opts))
    else:
        index, data = TagIndex.of(df), SessionData.of(df, chosen, opts.cluster)
        for tag in tags:
            mask = index.mask([tag])
            reason = _check_counts((int(mask.sum()), int((~mask).sum())), 0, raise_empty=False)
            rows.append(empty_row(reason) if reason else
                        compare_masks(data, mask, ~mask, chosen, opts)[0][0])
    out = _frame(rows, pd.Index(tags, name="tag", dtype="str"))
    out = out.sort_values(["p_adjusted", "p_value"], kind="stable", na_position="last")
    out.attrs["orq_nb"] = _attrs(opts, "tags", caps, metric=metric, tags=tags,
                                 cohorts="each tag against the sessions without it")
    return out


def _read(df: Any, metrics: list[str], cluster: str | None) -> Any:
    """A store read with the columns a comparison of ``metrics`` needs; a frame as it is."""
    if is_frame(df):
        return df
    wanted = ["id", "tags"] + (["contact_ids"] if cluster else [])
    for name in metrics:
        wanted += list(RATIO_METRICS[name][:2]) if name in RATIO_METRICS else [name]
    return sessions_input(df, list(dict.fromkeys(wanted)))


# -- arguments -------------------------------------------------------------------------------


def _options(statistic, method, cluster, confidence, winsorize, n_resamples, random_state) -> Options:
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic must be 'mean' or 'median', not {statistic!r}")
    if method not in (None, "bootstrap", "welch"):
        raise ValueError(f"method must be 'bootstrap', 'welch' or None, not {method!r}")
    if statistic == "median" and method == "welch":
        raise ValueError("statistic='median' needs method='bootstrap' (Welch compares means)")
    if cluster not in (None, "contact_ids"):
        raise ValueError(f"cluster must be None or 'contact_ids', not {cluster!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")
    if winsorize is not None and (isinstance(winsorize, bool) or not isinstance(winsorize, int | float)
                                  or not 0.5 < winsorize < 1):
        raise ValueError(f"winsorize must be a quantile between 0.5 and 1 (e.g. 0.999), not {winsorize!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer of at least 2, not {n_resamples!r}")
    if random_state is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    elif isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(2**63))
    elif isinstance(random_state, int | np.integer) and not isinstance(random_state, bool) \
            and random_state >= 0:
        seed = int(random_state)
    else:
        raise TypeError(f"random_state must be a non-negative int, a numpy Generator or None, not "
                        f"{type(random_state).__name__}")
    return Options(statistic, method, cluster, float(confidence), winsorize, int(n_resamples), seed)


def _metrics(df, metrics) -> list[Metric]:
    names = list(DEFAULT_METRICS if metrics is None else [metrics] if isinstance(metrics, str) else metrics)
    if not names:
        raise ValueError("metrics must name at least one metric")
    out = []
    for name in dict.fromkeys(names):
        num, den, scale = RATIO_METRICS.get(name, (name, None, 1.0))
        for column in (num, den):
            if column is None:
                continue
            if column not in df.columns:
                raise ValueError(f"metrics: no column {column!r} for {name!r}; numeric columns and "
                                 f"{sorted(RATIO_METRICS)} can be compared")
            if df.dtypes[column].kind not in "fiub":
                raise ValueError(f"metrics: {name!r} is not numeric ({df.dtypes[column]})")
        out.append(Metric(name, num, den, scale))
    return out


def _check_backend(df, opts: Options) -> None:
    if is_dask(df):
        if opts.statistic == "median":
            raise ValueError("statistic='median' needs the bootstrap, which needs a pandas frame: "
                             "compute() the cohorts first, or compare means")
        if opts.method == "bootstrap":
            raise ValueError("method='bootstrap' needs a pandas frame; on Dask use method='welch'")


def _check_counts(sizes: tuple[int, int], both: int, raise_empty: bool, specs=(None, None)) -> str | None:
    if both:
        raise ValueError(f"{both:,} sessions are in both cohorts a and b; narrow the cohorts so that none is")
    for name, size, spec in zip("ab", sizes, specs, strict=True):
        if size == 0:
            if raise_empty:
                what = (f"no session has the tag {spec!r}" if isinstance(spec, str) else
                        f"no session matches {spec!r}" if isinstance(spec, dict) else
                        "every session is in a" if spec is None else "the mask selects no session")
                raise ValueError(f"cohort {name} is empty: {what}")
            return f"none: cohort {name} is empty"
    return None


# -- pandas ----------------------------------------------------------------------------------

def _frame(rows: list[dict], index: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame(rows, index=index, columns=COLUMNS)
    for column in _NUMBERS:
        out[column] = out[column].astype(float)
    out["n_a"], out["n_b"] = out["n_a"].astype("int64"), out["n_b"].astype("int64")
    out["method"] = out["method"].astype("str")
    out["reliable"] = out["reliable"].fillna(False).astype(bool)
    out["note"] = out["note"].fillna("").astype("str")
    ok = out["p_value"].notna().to_numpy()
    if ok.any():
        out.loc[ok, "p_adjusted"] = stats.false_discovery_control(out["p_value"].to_numpy()[ok])
    return out


def _attrs(opts: Options, kind: str, caps: dict, **extra) -> dict:
    return {"comparison": kind, **extra, "statistic": opts.statistic, "method": opts.method,
            "cluster": opts.cluster, "confidence": opts.confidence, "winsorize": opts.winsorize,
            **({"caps": caps} if caps else {}), "n_resamples": opts.n_resamples, "seed": opts.seed,
            "observational": True, "note": OBSERVATIONAL}
