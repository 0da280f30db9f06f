"""Cohort comparison on pandas: the frame, the statistics against scipy and closed forms, and edge cohorts."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import orq_nb
from orq_nb.analysis.compare.bca import loo_median, loo_ratio
from orq_nb.analysis.compare.comparison import COLUMNS, DEFAULT_METRICS, compare_cohorts, compare_tags
from orq_nb.analysis.filters import filter_sessions
from orq_nb.analysis.summaries import tag_counts


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return orq_nb.load_sample()


def numeric(n_a: int, n_b: int, seed: int, sigma: float = 1.5, ratio: float = 1.0,
            contacts=None) -> pd.DataFrame:
    """A minimal sessions frame: lognormal costs (cohort a first, its mean ``ratio`` x b's), tokens, ids."""
    rng = np.random.default_rng(seed)
    mu = -sigma**2 / 2
    cost = np.r_[ratio * rng.lognormal(mu, sigma, n_a), rng.lognormal(mu, sigma, n_b)]
    n = n_a + n_b
    ids = [f"s{i}" for i in range(n)]
    return pd.DataFrame({
        "id": ids, "total_cost": cost, "total_tokens": np.round(rng.lognormal(6, 1, n)) + 1,
        "duration_ms": rng.lognormal(9, 1, n), "traces_count": rng.integers(1, 6, n).astype(float),
        "tags": [["a"] if i < n_a else ["b"] for i in range(n)],
        "contact_ids": [[c] for c in (contacts if contacts is not None else ids)]})


def in_a(n_a: int, n_b: int) -> np.ndarray:
    return np.r_[np.ones(n_a, bool), np.zeros(n_b, bool)]


# -- the frame -----------------------------------------------------------------------------


def test_result_has_the_columns_index_and_attrs(sample):
    got = compare_cohorts(sample, "gpt-4o", "gpt-4o-mini", random_state=3)
    assert list(got.columns) == COLUMNS
    assert got.index.name == "metric" and list(got.index) == list(DEFAULT_METRICS)
    assert got["n_a"].dtype == np.int64 and got["method"].str.startswith("welch").all()
    assert got["reliable"].dtype == bool and got["note"].dtype == "str"
    assert (got["note"] == "").equals(got["reliable"])  # a note exactly where a row is not reliable
    info = got.attrs["orq_nb"]
    assert info["a"] == {"tag": "gpt-4o"} and info["b"] == {"tag": "gpt-4o-mini"}
    assert info["observational"] is True and info["seed"] == 3 and info["confidence"] == 0.95
    json.dumps(info)  # small and JSON-like
    masked = compare_cohorts(sample, (sample["total_cost"] > 0.01).to_numpy(), method="welch")
    size = (sample["total_cost"] > 0.01).sum()
    assert masked.attrs["orq_nb"]["a"] == {"mask": f"boolean mask of {size:,} sessions"}
    assert masked.attrs["orq_nb"]["b"]["rest"]
    assert len(json.dumps(masked.attrs)) < 2000


def test_statistics_are_the_cohorts_own(sample):
    got = compare_cohorts(sample, "gpt-4o", "gpt-4o-mini", method="welch")
    a = filter_sessions(sample, tags=["gpt-4o"])
    b = filter_sessions(sample, tags=["gpt-4o-mini"])
    assert got.loc["total_cost", "n_a"] == len(a) and got.loc["total_cost", "n_b"] == len(b)
    for metric in ("total_cost", "duration_ms", "total_tokens", "traces_count"):
        assert got.loc[metric, "a"] == pytest.approx(a[metric].mean(), rel=1e-12)
        assert got.loc[metric, "difference"] == pytest.approx(a[metric].mean() - b[metric].mean(), rel=1e-12)
        assert got.loc[metric, "ratio"] == pytest.approx(a[metric].mean() / b[metric].mean(), rel=1e-12)
    # A ratio metric: 1000 x sum of cost / sum of tokens, not the mean of the sessions' ratios.
    want = 1000 * a["total_cost"].sum() / a["total_tokens"].sum()
    assert got.loc["cost_per_1k_tokens", "a"] == pytest.approx(want, rel=1e-12)
    assert abs(want - 1000 * (a["total_cost"] / a["total_tokens"]).mean()) > 1e-3 * want
    medians = compare_cohorts(sample, "gpt-4o", "gpt-4o-mini", statistic="median", random_state=0)
    assert medians.loc["duration_ms", "a"] == a["duration_ms"].median()


def test_dict_cohorts_follow_filter_sessions(sample):
    spec = {"projects": ["support-bot"], "start": "2026-08-10", "tags": ["rag", "voice"]}
    other = {"projects": ["sales-assistant"], "exclude_tags": ["rag"]}
    got = compare_cohorts(sample, spec, other, metrics=["total_cost"], method="welch")
    assert got.loc["total_cost", "n_a"] == len(filter_sessions(sample, **spec))
    assert got.loc["total_cost", "n_b"] == len(filter_sessions(sample, **other))
    assert got.attrs["orq_nb"]["a"] == {"filter": spec}


def test_mask_series_aligns_on_the_index(sample):
    shuffled = sample.sample(frac=1, random_state=1)
    mask = shuffled["total_cost"] > 0.01
    got = compare_cohorts(sample, mask.sort_index(ascending=False), metrics=["total_cost"], method="welch")
    assert got.loc["total_cost", "n_a"] == int(mask.sum())
    assert got.loc["total_cost", "a"] == pytest.approx(sample.loc[mask[mask].index, "total_cost"].mean())


# -- the bootstrap against scipy -----------------------------------------------------------


def scipy_bca(data, statistic, seed, n_resamples):
    res = stats.bootstrap(data, statistic, method="BCa", n_resamples=n_resamples, rng=seed, vectorized=True)
    return np.array([res.confidence_interval.low, res.confidence_interval.high])


@pytest.mark.parametrize("statistic,sizes", [("mean", (12, 17)), ("mean", (60, 45)), ("median", (12, 17)),
                                             ("median", (19, 45))])  # from 20 a cohort, medians are Mood's
def test_bca_equals_scipy_under_the_same_seed(statistic, sizes):
    n_a, n_b = sizes
    df = numeric(n_a, n_b, seed=n_a)
    got = compare_cohorts(df, in_a(n_a, n_b), metrics=["total_cost", "cost_per_1k_tokens"],
                          statistic=statistic, method="bootstrap", n_resamples=999, random_state=11)
    f = np.mean if statistic == "mean" else np.median
    xa, xb = df["total_cost"].to_numpy()[:n_a], df["total_cost"].to_numpy()[n_a:]
    diff = scipy_bca((xa, xb), lambda a, b, axis=-1: f(a, axis=axis) - f(b, axis=axis), 11, 999)
    ratio = scipy_bca((xa, xb), lambda a, b, axis=-1: f(a, axis=axis) / f(b, axis=axis), 11, 999)
    row = got.loc["total_cost"]
    np.testing.assert_allclose(row[["difference_low", "difference_high"]].to_numpy(float), diff, rtol=1e-9)
    np.testing.assert_allclose(row[["ratio_low", "ratio_high"]].to_numpy(float), ratio, rtol=1e-9)
    # The ratio metric resamples whole sessions (cost and tokens together): scipy on session indices.
    c, t = df["total_cost"].to_numpy(), df["total_tokens"].to_numpy()
    ca, ta, cb, tb = c[:n_a], t[:n_a], c[n_a:], t[n_a:]

    def per_1k(ia, ib, axis=-1):
        return 1000 * ca[ia].sum(axis) / ta[ia].sum(axis) - 1000 * cb[ib].sum(axis) / tb[ib].sum(axis)

    want = scipy_bca((np.arange(n_a), np.arange(n_b)), per_1k, 11, 999)
    np.testing.assert_allclose(got.loc["cost_per_1k_tokens", ["difference_low", "difference_high"]]
                               .to_numpy(float), want, rtol=1e-9)


def test_clustered_bca_equals_scipy_on_contacts():
    rng = np.random.default_rng(5)
    sizes = rng.integers(1, 6, 30)  # 30 contacts, the first 12 in cohort a
    contacts = np.repeat([f"c{i}" for i in range(30)], sizes)
    n_a = int(sizes[:12].sum())
    df = numeric(n_a, len(contacts) - n_a, seed=5, contacts=contacts)
    got = compare_cohorts(df, in_a(n_a, len(contacts) - n_a), metrics=["total_cost"], cluster="contact_ids",
                          method="bootstrap", n_resamples=500, random_state=2)
    sums = df.groupby(contacts, sort=False)["total_cost"].agg(["sum", "size"]).to_numpy()
    sa, sb = sums[:12], sums[12:]

    def diff(ia, ib, axis=-1):
        return sa[ia, 0].sum(axis) / sa[ia, 1].sum(axis) - sb[ib, 0].sum(axis) / sb[ib, 1].sum(axis)

    want = scipy_bca((np.arange(12), np.arange(18)), diff, 2, 500)
    np.testing.assert_allclose(got.loc["total_cost", ["difference_low", "difference_high"]].to_numpy(float),
                               want, rtol=1e-9)
    assert got.loc["total_cost", "method"] == "bootstrap BCa, clustered by contact; Welch p-value"


def test_closed_form_jackknives_equal_leaving_out_by_hand():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 6, 40).astype(float)  # ties on purpose
    units = rng.integers(0, 9, 40)
    units = np.unique(units, return_inverse=True)[1]
    g = units.max() + 1
    by_hand = [np.median(values[units != u]) for u in range(g)]
    np.testing.assert_array_equal(loo_median(values, units, g), by_hand)
    np.testing.assert_array_equal(loo_median(values[:11]),
                                  [np.median(np.delete(values[:11], i)) for i in range(11)])
    num, den = rng.lognormal(size=15), rng.lognormal(size=15)
    np.testing.assert_allclose(loo_ratio(num, den), [np.delete(num, i).sum() / np.delete(den, i).sum()
                                                     for i in range(15)], rtol=1e-12)


# -- Welch and the delta method against scipy and Deng et al. (2018) -----------------------


def test_welch_difference_equals_scipy_ttest_ind():
    df = numeric(80, 130, seed=4)
    got = compare_cohorts(df, in_a(80, 130), metrics=["total_cost", "duration_ms"], method="welch",
                          confidence=0.9)
    for metric in ("total_cost", "duration_ms"):
        x = df[metric].to_numpy()
        want = stats.ttest_ind(x[:80], x[80:], equal_var=False)
        ci = want.confidence_interval(confidence_level=0.9)
        row = got.loc[metric]
        np.testing.assert_allclose([row["difference_low"], row["difference_high"]], [ci.low, ci.high],
                                   rtol=1e-9)
        assert row["p_value"] == pytest.approx(want.pvalue, rel=1e-9)


def fieller_by_root_finding(a, var_a, b, var_b, q):
    """Fieller's interval found numerically: the rho where Welch's statistic of a - rho b equals q."""
    def t(rho):
        return (a - rho * b) ** 2 / (var_a + rho**2 * var_b) - q**2

    centre = a / b
    return [optimize.brentq(t, centre / 100, centre), optimize.brentq(t, centre, centre * 100)]


def deng_ratio_metric(num, den):
    """Deng et al. (2018), section 3: the ratio of means X / Y of one cohort and its delta-method variance."""
    n = len(num)
    mx, my = num.mean(), den.mean()
    cov = np.cov(num, den, ddof=1)
    var = (cov[0, 0] / my**2 - 2 * mx / my**3 * cov[0, 1] + mx**2 / my**4 * cov[1, 1]) / n
    return mx / my, var


def test_ratio_interval_is_fiellers_with_welchs_t_and_the_delta_method_variance():
    df = numeric(150, 90, seed=8)
    got = compare_cohorts(df, in_a(150, 90), metrics=["total_cost", "cost_per_1k_tokens"], method="welch")
    x = df["total_cost"].to_numpy()
    a, b = x[:150], x[150:]
    va, vb = a.var(ddof=1) / 150, b.var(ddof=1) / 90
    q = stats.t.ppf(0.975, (va + vb) ** 2 / (va**2 / 149 + vb**2 / 89))
    np.testing.assert_allclose(got.loc["total_cost", ["ratio_low", "ratio_high"]].to_numpy(float),
                               fieller_by_root_finding(a.mean(), va, b.mean(), vb, q), rtol=1e-9)
    c, t = df["total_cost"].to_numpy(), df["total_tokens"].to_numpy()
    ra, va = deng_ratio_metric(c[:150], t[:150])
    rb, vb = deng_ratio_metric(c[150:], t[150:])
    row = got.loc["cost_per_1k_tokens"]
    assert row["a"] == pytest.approx(1000 * ra, rel=1e-12)
    se = np.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / 149 + vb**2 / 89)
    q = stats.t.ppf(0.975, dof)
    np.testing.assert_allclose(row[["ratio_low", "ratio_high"]].to_numpy(float),
                               fieller_by_root_finding(ra, va, rb, vb, q), rtol=1e-9)
    half = q * se
    np.testing.assert_allclose(row[["difference_low", "difference_high"]].to_numpy(float),
                               1000 * (ra - rb + np.array([-half, half])), rtol=1e-9)


def test_ratio_interval_excludes_one_exactly_when_welchs_p_is_below_alpha():
    """Small skewed cohorts, where a normal quantile on the log scale disagreed in 12% of A/A rows."""
    rows = pd.concat([compare_cohorts(numeric(10, 10, seed=r, ratio=1.0 + (r % 5) / 4), in_a(10, 10),
                                      metrics=["total_cost"], method="welch") for r in range(300)])
    excludes = (rows["ratio_low"] > 1) | (rows["ratio_high"] < 1)
    assert (excludes == (rows["p_value"] < 0.05)).all()
    unbounded = np.isinf(rows["ratio_high"])
    assert 0 < unbounded.sum() < len(rows) / 2  # some b too uncertain for a bounded ratio at n = 10 ...
    assert rows.loc[unbounded, "note"].str.contains("unbounded").all()  # ... and those rows say so
    assert not rows.loc[unbounded, "reliable"].any()


def test_one_contact_per_session_clusters_change_nothing():
    df = numeric(70, 90, seed=9)
    mask = in_a(70, 90)
    for method in ("welch", "bootstrap"):
        plain = compare_cohorts(df, mask, method=method, random_state=4, n_resamples=500,
                                metrics=["total_cost", "cost_per_1k_tokens"])
        clustered = compare_cohorts(df, mask, method=method, random_state=4, n_resamples=500,
                                    metrics=["total_cost", "cost_per_1k_tokens"], cluster="contact_ids")
        numbers = COLUMNS[:-5] + ["p_value"]
        # A mean's CR2 leverage with one session per contact is 1 / n: n / (n - 1), the plain variance.
        pd.testing.assert_frame_equal(plain.loc[["total_cost"], numbers],
                                      clustered.loc[["total_cost"], numbers], rtol=1e-11)
        # A ratio metric's leverage is the session's share of the tokens: close to, not equal to, 1 / n.
        pd.testing.assert_frame_equal(plain[numbers], clustered[numbers], rtol=0.05)


# -- validity at CI sizes ------------------------------------------------------------------


def coverage(method: str, reps: int, n: int, seed: int, shrink: float = 1.0) -> tuple[float, float]:
    """Share of ``reps`` ratio intervals (true ratio 1.3) that cover the truth, and the same with every
    interval shrunk by ``shrink`` on the log scale about the estimate."""
    hits, shrunk = 0, 0
    for r in range(reps):
        df = numeric(n, n, seed=seed + r, sigma=1.0, ratio=1.3)
        row = compare_cohorts(df, in_a(n, n), metrics=["total_cost"], method=method, n_resamples=1000,
                              random_state=r).loc["total_cost"]
        hits += row["ratio_low"] <= 1.3 <= row["ratio_high"]
        centre = np.log(row["ratio"])
        low, high = (centre + shrink * (np.log(row[k]) - centre) for k in ("ratio_low", "ratio_high"))
        shrunk += low <= np.log(1.3) <= high
    return hits / reps, shrunk / reps


@pytest.mark.parametrize("method,n", [("welch", 400), ("bootstrap", 300)])
def test_ratio_interval_covers_the_true_ratio(method, n):
    covered, narrow = coverage(method, reps=200, n=n, seed=1000, shrink=0.7)
    assert 0.89 <= covered <= 0.99
    assert narrow < 0.89  # the band fails the same intervals made 30% narrower


def test_clustered_interval_covers_where_the_plain_one_does_not():
    """Contacts with their own mean cost: the plain interval is too narrow, the clustered one is not."""
    plain = clustered = 0
    reps = 200
    for r in range(reps):
        rng = np.random.default_rng(r)
        sizes = rng.integers(5, 51, 120)
        level = rng.lognormal(-0.5, 1.0, 120)
        cost = np.repeat(level, sizes) * rng.lognormal(-0.125, 0.5, sizes.sum())
        contacts = np.repeat([f"c{i}" for i in range(120)], sizes)
        n_a = int(sizes[:60].sum())
        df = pd.DataFrame({"id": [f"s{i}" for i in range(len(cost))], "total_cost": cost,
                           "contact_ids": [[c] for c in contacts]})
        mask = in_a(n_a, len(cost) - n_a)
        for name in ("plain", "clustered"):
            row = compare_cohorts(df, mask, metrics=["total_cost"], method="welch",
                                  cluster="contact_ids" if name == "clustered" else None).loc["total_cost"]
            covered = row["difference_low"] <= 0 <= row["difference_high"]  # same law on both sides
            if name == "plain":
                plain += covered
            else:
                clustered += covered
    assert 0.89 <= clustered / reps <= 0.99
    assert plain / reps < 0.8


def test_aa_halvings_reject_at_the_nominal_rate():
    """Random halvings of fresh lognormal samples: no true difference, p < 0.05 about 5% of the time."""
    for method, halvings in (("welch", 100), ("bootstrap", 40)):
        ps = []
        for sample in range(4):
            rng = np.random.default_rng(sample)
            df = pd.DataFrame({"total_cost": rng.lognormal(0, 1.0, 2000)})
            for r in range(halvings):
                mask = np.zeros(2000, bool)
                mask[rng.permutation(2000)[:1000]] = True
                ps.append(compare_cohorts(df, mask, metrics=["total_cost"], method=method, n_resamples=999,
                                          random_state=r).loc["total_cost", "p_value"])
        ps = np.array(ps)
        assert 0.015 <= (ps < 0.05).mean() <= 0.09, method
        assert 0.4 <= ps.mean() <= 0.6, method  # uniform-ish, not piled at one end


def test_median_rows_agree_with_their_p_value_or_say_they_do_not():
    """Medians of 40 and 50 sessions: Mood's p-value and the intervals that invert it; where they still
    disagree (only under heavy ties) the row is flagged."""
    agree = 0
    for r in range(60):
        df = numeric(40, 50, seed=r, ratio=1.0 + r / 40)
        row = compare_cohorts(df, in_a(40, 50), metrics=["total_cost"], n_resamples=999,
                              random_state=r, confidence=0.9, statistic="median").loc["total_cost"]
        assert row["method"].startswith("Mood's median test")
        excludes = row["difference_low"] > 0 or row["difference_high"] < 0
        same = excludes == (row["p_value"] < 0.1)
        agree += same
        assert same or (not row["reliable"] and "disagree" in row["note"])
    assert agree >= 59


def test_tied_medians_are_a_certain_difference_with_a_p_value():
    """Whole-second durations, medians 3 s and 4 s: every resample gives the same medians. That is a certain
    difference, with Mood's p-value, not a missing answer; the same data without a difference is not one."""
    rng = np.random.default_rng(0)
    found = []
    for shift in (0, 1):
        rows = []
        for r in range(40):
            a = rng.choice([1, 2, 3, 4, 5, 6], 500, p=[0.1, 0.15, 0.35, 0.2, 0.1, 0.1]) + shift
            b = rng.choice([1, 2, 3, 4, 5, 6], 500, p=[0.1, 0.15, 0.35, 0.2, 0.1, 0.1])
            df = pd.DataFrame({"duration_ms": np.r_[a, b] * 1000.0})
            rows.append(compare_cohorts(df, in_a(500, 500), metrics=["duration_ms"], statistic="median",
                                        n_resamples=500, random_state=r).loc["duration_ms"])
        found.append(pd.DataFrame(rows))
    null, real = found
    assert real["p_value"].notna().all() and (real["p_value"] < 0.05).mean() >= 0.9
    covered = ((real["difference_low"] <= 1000) & (real["difference_high"] >= 1000)
               & (real["difference_low"] > 0))
    assert covered.mean() >= 0.9  # the difference of the medians of the rounded data, and not 0
    assert real["reliable"].mean() >= 0.9
    assert null["p_value"].notna().all() and (null["p_value"] < 0.05).mean() <= 0.2


@pytest.mark.parametrize("cluster", [None, "contact_ids"])
def test_bootstrap_p_value_of_a_mean_is_welchs(cluster):
    """Beside the bootstrap's interval, a mean's p-value is Welch's (the inverted one rejects too often)."""
    contacts = np.repeat([f"c{i}" for i in range(45)], 2)
    df = numeric(40, 50, seed=3, ratio=1.3, contacts=contacts)
    boot = compare_cohorts(df, in_a(40, 50), metrics=["total_cost", "cost_per_1k_tokens"], method="bootstrap",
                           n_resamples=300, random_state=1, cluster=cluster)
    welch = compare_cohorts(df, in_a(40, 50), metrics=["total_cost", "cost_per_1k_tokens"], method="welch",
                            cluster=cluster)
    np.testing.assert_allclose(boot["p_value"], welch["p_value"], rtol=1e-12)
    assert boot["method"].str.endswith("Welch p-value").all()
    assert (boot["ratio_low"] != welch["ratio_low"]).all()  # the intervals are still the bootstrap's


# -- method choice, options ----------------------------------------------------------------


def test_default_method_is_welch_for_means_and_the_bootstrap_for_medians():
    rng = np.random.default_rng(1)
    small = pd.DataFrame({"total_cost": rng.lognormal(size=3000)})
    mask = np.arange(3000) < 1000
    assert compare_cohorts(small, mask, metrics=["total_cost"]).loc["total_cost", "method"] == (
        "welch; Fieller ratio")
    got = compare_cohorts(small, mask, metrics=["total_cost"], statistic="median", n_resamples=50)
    assert got.loc["total_cost", "method"].startswith("Mood's median test")
    got = compare_cohorts(small.iloc[:30], mask[:30] & (np.arange(30) < 10), metrics=["total_cost"],
                          statistic="median", n_resamples=50)
    assert got.loc["total_cost", "method"].startswith("bootstrap") and not got.loc["total_cost", "reliable"]
    assert "too few for a median" in got.loc["total_cost", "note"]
    got = compare_cohorts(small, mask, metrics=["total_cost"], method="bootstrap", n_resamples=200)
    assert got.loc["total_cost", "method"] == "bootstrap BCa; Welch p-value"


def test_winsorize_caps_at_the_pooled_quantile(sample):
    got = compare_cohorts(sample, "gpt-4o", "gpt-4o-mini", metrics=["total_cost"], winsorize=0.99,
                          method="welch")
    pooled = filter_sessions(sample, tags=["gpt-4o", "gpt-4o-mini"])["total_cost"]
    cap = np.quantile(pooled, 0.99)
    a = filter_sessions(sample, tags=["gpt-4o"])["total_cost"]
    assert got.loc["total_cost", "a"] == pytest.approx(np.minimum(a, cap).mean(), rel=1e-12)
    assert got.attrs["orq_nb"]["caps"]["total_cost"] == pytest.approx(cap)
    assert "winsorized at the 0.99 quantile" in got.loc["total_cost", "method"]


def test_random_state_reproduces_and_none_records_a_seed(sample):
    first = compare_cohorts(sample, "rag", n_resamples=300)
    again = compare_cohorts(sample, "rag", n_resamples=300, random_state=first.attrs["orq_nb"]["seed"])
    pd.testing.assert_frame_equal(first, again)


# -- small, degenerate and wrong cohorts ---------------------------------------------------


@pytest.mark.parametrize("method", ["bootstrap", "welch"])
def test_cohorts_too_small_give_reasons_not_errors(method):
    df = numeric(10, 20, seed=3)
    one = np.zeros(30, bool)
    one[0] = True
    df.loc[10:, "total_tokens"] = 0.0
    df["traces_count"] = 2.0
    df.loc[[1, 2], "duration_ms"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = compare_cohorts(df, one, method=method, random_state=0)
        got = compare_cohorts(df, in_a(10, 20), method=method, random_state=0)
    assert single[["difference_low", "ratio_high", "p_value"]].isna().all().all()
    assert single["method"].str.startswith("none: cohort a has 1 session").all()
    assert got.loc["traces_count", "method"] == "none: all values equal within each cohort"
    assert np.isnan(got.loc["traces_count", "difference_low"]) and got.loc["traces_count", "difference"] == 0
    assert got.loc["cost_per_1k_tokens", "method"] == "none: cohort b has no total_tokens"
    assert got.loc["duration_ms", "n_a"] == 8 and np.isfinite(got.loc["duration_ms", "p_value"])
    assert np.isnan(got.loc["total_tokens", "ratio"])
    assert np.isfinite(got.loc["total_tokens", "difference_low"])
    # NaN p-values stay NaN and out of the adjustment.
    ok = got["p_value"].notna()
    np.testing.assert_allclose(got.loc[ok, "p_adjusted"],
                               stats.false_discovery_control(got.loc[ok, "p_value"]))
    assert got.loc[~ok, "p_adjusted"].isna().all()


def test_overlapping_or_empty_cohorts_are_errors(sample):
    both = len(filter_sessions(sample, tags=["rag", "voice"], match="all"))
    assert both > 0
    with pytest.raises(ValueError, match=rf"^{both:,} sessions are in both cohorts a and b"):
        compare_cohorts(sample, "rag", "voice")
    with pytest.raises(ValueError, match="cohort b is empty"):
        compare_cohorts(sample, np.ones(len(sample), bool))
    with pytest.raises(ValueError, match="no session has the tag 'gtp-4o'"), \
            pytest.warns(UserWarning, match="gpt-4o"):
        compare_cohorts(sample, "gtp-4o")


@pytest.mark.parametrize("kwargs,error,match", [
    ({"statistic": "mode"}, ValueError, "statistic"),
    ({"method": "t"}, ValueError, "method"),
    ({"statistic": "median", "method": "welch"}, ValueError, "bootstrap"),
    ({"cluster": "users"}, ValueError, "cluster"),
    ({"confidence": 95}, ValueError, "confidence"),
    ({"winsorize": 0.2}, ValueError, "winsorize"),
    ({"n_resamples": 1}, ValueError, "n_resamples"),
    ({"random_state": "x"}, TypeError, "random_state"),
    ({"metrics": ["cost"]}, ValueError, "metrics"),
    ({"metrics": ["tags"]}, ValueError, "not numeric"),
    ({"b": 3}, TypeError, "^b must be"),
    ({"b": {"tag": "x"}}, ValueError, "unknown filter_sessions arguments"),
    ({"b": np.ones(3, bool)}, ValueError, "one value per session"),
    ({"b": np.ones(4000)}, TypeError, "boolean"),
])
def test_bad_arguments_name_themselves(sample, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare_cohorts(sample, "gpt-4o", **kwargs)


# -- compare_tags --------------------------------------------------------------------------


def test_compare_tags_rows_are_each_tag_against_the_rest(sample):
    got = compare_tags(sample, method="welch")
    assert got.index.name == "tag" and list(got.columns) == COLUMNS
    assert set(got.index) == set(tag_counts(sample).index[:20])
    assert got["p_adjusted"].is_monotonic_increasing
    np.testing.assert_allclose(got["p_adjusted"], stats.false_discovery_control(got["p_value"]))
    for tag in ("gpt-4o", "voice"):
        want = compare_cohorts(sample, tag, metrics=["total_cost"], method="welch").iloc[0]
        pd.testing.assert_series_equal(got.loc[tag, COLUMNS[:-4]].astype(float),
                                       want[COLUMNS[:-4]].astype(float), check_names=False)


def test_compare_tags_marks_tags_without_a_rest(sample):
    everywhere = sample.assign(tags=[[*t, "all"] for t in sample["tags"]])
    got = compare_tags(everywhere, ["all", "rag", "nope"], metric="duration_ms", method="bootstrap",
                       n_resamples=200, random_state=0)
    assert got.loc["all", "method"] == "none: cohort b is empty"
    assert got.loc["nope", "method"] == "none: cohort a is empty"
    assert got.index[0] == "rag" and np.isfinite(got.loc["rag", "p_adjusted"])
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        compare_tags(sample, metrics=["total_cost"])
