"""Spend anomalies: the baseline uses the past only, spikes are found, odd frames give an answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import orq_nb
from orq_nb.analysis.filters import filter_sessions
from orq_nb.analysis.spend.anomalies import COLUMNS, KEEP, SCALE_DAYS, spend_anomalies, top_anomalies
from orq_nb.analysis.summaries import daily_summary

START = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday
WEEKEND = np.array([1, 1, 1, 1, 1, 0.6, 0.6])


def frame(days, costs, tags=None, projects=None, durations=None) -> pd.DataFrame:
    """A sessions frame (every column of the layout) with one session per (day offset, cost)."""
    n = len(costs)
    data = {c: pd.Series([None] * n, dtype=object) if t == np.dtype(object) else
            pd.Series([np.nan] * n, dtype=t) for c, t in orq_nb.schemas.DTYPES.items()}
    data["id"] = pd.Series([f"s{i}" for i in range(n)], dtype="str")
    stamps = START + pd.to_timedelta(np.asarray(days, dtype=float), unit="D")
    data["started_at"] = pd.Series(stamps, dtype="datetime64[us, UTC]")
    data["total_cost"] = pd.Series(costs, dtype=float)
    data["total_tokens"] = pd.Series(np.asarray(costs, dtype=float) * 1e5)
    data["duration_ms"] = pd.Series(np.full(n, 1000.0) if durations is None else durations, dtype=float)
    data["tags"] = pd.Series([["t"]] * n if tags is None else list(tags), dtype=object)
    data["project_id"] = pd.Series(["p"] * n if projects is None else projects, dtype="str")
    return pd.DataFrame(data)


def daily_frame(series: dict[str, np.ndarray], per_day: int = 3) -> pd.DataFrame:
    """``per_day`` sessions a day per tag sharing the day's cost; NaN: no sessions that day."""
    days, costs, tags = [], [], []
    for tag, values in series.items():
        for d, v in enumerate(values):
            if np.isnan(v):
                continue
            for k in range(per_day):
                days.append(d + (k + 0.5) / (per_day + 1))
                costs.append(v / per_day)
                tags.append([tag])
    return frame(days, costs, tags)


def noisy(n: int, seed: int, level: float = 10.0, cv: float = 0.15, weekly: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pattern = np.resize(WEEKEND, n) if weekly else np.ones(n)
    return level * pattern * rng.lognormal(-cv**2 / 2, cv, n)


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


def test_every_day_of_every_group_with_the_columns_and_dtypes(sample):
    got = spend_anomalies(sample, by="project_id")
    days = daily_summary(sample).index
    groups = [*sorted(sample["project_id"].dropna().unique()), "(no project)"]
    assert list(got.columns) == COLUMNS
    assert got["group"].unique().tolist() == groups
    assert len(got) == len(groups) * len(days)
    for _, part in got.groupby("group", sort=False):
        assert part["day"].tolist() == days.tolist()
    assert str(got["day"].dtype) == "datetime64[us, UTC]" and got["anomaly"].dtype == np.dtype(bool)
    assert set(got["direction"]) <= {"high", "low", ""}
    assert ((got["direction"] != "") == got["anomaly"]).all()
    threshold = got.attrs["orq_nb"]["threshold"]
    assert (got.loc[got["direction"] == "high", "score"] > threshold).all()
    assert (got.loc[got["direction"] == "low", "score"] < -threshold).all()
    assert got["reliable"].dtype == bool and (got.loc[~got["reliable"], "note"] != "").all()


@pytest.mark.parametrize("metric", ["total_cost", "sessions", "median_duration_s", "total_tokens"])
def test_values_are_daily_summary_figures(sample, metric):
    got = spend_anomalies(sample, metric=metric)
    want = daily_summary(sample)[metric]
    assert (got["group"] == "(all)").all()
    np.testing.assert_allclose(got["value"], want.to_numpy(float), rtol=1e-12)


def test_tags_count_each_session_under_each_tag_once(sample):
    df = sample.copy()
    df.at[df.index[7], "tags"] = ["rag", "rag", "voice"]
    got = spend_anomalies(df, by="tag", metric="sessions")
    days = daily_summary(df).index
    for tag in ("rag", "voice", "gpt-4o"):
        want = daily_summary(filter_sessions(df, tags=tag), start=days[0],
                             end=days[-1] + pd.Timedelta(days=1))
        np.testing.assert_array_equal(got.loc[got["group"] == tag, "value"], want["sessions"].to_numpy(float))
    untagged = df[[len(t) == 0 for t in df["tags"]]]
    assert got.loc[got["group"] == "(no tag)", "value"].sum() == len(untagged) > 0
    assert got["group"].iloc[-1] == "(no tag)"


def test_cost_per_session_is_missing_on_days_without_sessions():
    values = noisy(30, 1)
    values[[12, 13]] = np.nan  # nobody came those two days
    got = spend_anomalies(daily_frame({"a": values}), metric="cost_per_session")
    assert len(got) == 30 and got["value"].isna().tolist() == [d in (12, 13) for d in range(30)]
    np.testing.assert_allclose(got["value"].dropna(), values[~np.isnan(values)] / 3)
    assert not got.loc[[12, 13], "anomaly"].any()
    cost = spend_anomalies(daily_frame({"a": values}))
    assert cost.loc[[12, 13], "value"].tolist() == [0.0, 0.0]


def test_a_spike_is_flagged_and_the_day_before_is_not():
    values = noisy(60, 2)
    values[45] *= 2.5
    values[52] *= 0.2
    got = spend_anomalies(daily_frame({"a": values}))
    assert got.loc[45, "anomaly"] and got.loc[45, "direction"] == "high"
    assert not got.loc[44, "anomaly"]
    assert got.loc[52, "anomaly"] and got.loc[52, "direction"] == "low"
    assert got.loc[45, "value"] > got.loc[45, "high"] and got.loc[52, "value"] < got.loc[52, "low"]
    assert got["anomaly"].sum() <= 4  # 2 real ones; noise with a CV of 15% leaves the rest alone


def test_baseline_is_the_median_of_the_window_before_and_the_band_from_day_to_day_changes():
    """A flat series without a trend: the baseline is the median of the window's days, the band's relative
    width the trimmed root mean square of the day-to-day changes of the log values (SCALE_DAYS of them)."""
    values = np.tile([9.0, 10.0, 11.0, 10.5, 9.5, 10.0, 10.2], 12)[:80]
    got = spend_anomalies(daily_frame({"a": values}), weekly=False, window=10, min_history=5)
    threshold = got.attrs["orq_nb"]["threshold"]
    for t in (5, 9, 10, 30, 79):
        past = values[max(0, t - 10):t]
        median = np.median(past)
        change = np.diff(np.log(values[max(0, t - SCALE_DAYS):t]))
        square = np.sort((change - np.median(change)) ** 2)
        keep = int(np.ceil(KEEP * len(square)))
        edge = stats.norm.isf((1 - KEEP) / 2)
        kept_variance = 1 - 2 * edge * stats.norm.pdf(edge) / KEEP
        relative = np.sqrt(square[:keep].mean() / kept_variance / 2)
        scale = max(median * relative, 0.05 * median)
        assert got.loc[t, "baseline"] == pytest.approx(median, rel=1e-12)
        assert got.loc[t, "high"] == pytest.approx(median + threshold * scale, rel=1e-9)
        assert got.loc[t, "score"] == pytest.approx((values[t] - median) / scale, rel=1e-9)
    assert got.loc[:4, "baseline"].isna().all() and not got.loc[:4, "anomaly"].any()
    assert got.loc[:4, "note"].str.startswith("new group").all() and not got.loc[:4, "reliable"].any()


@pytest.mark.parametrize("weekly", [None, True, False])
def test_a_days_baseline_does_not_change_when_later_days_do(weekly):
    rng = np.random.default_rng(4)
    series = {"a": noisy(70, 5, weekly=True), "b": noisy(70, 6, level=3)}
    before = spend_anomalies(daily_frame(series), by="tag", weekly=weekly)
    # From the lowest day of a stretch on: raising it would move a median that included it.
    first = 40 + int(np.argmin(series["a"][40:55]))
    later = {k: v.copy() for k, v in series.items()}
    later["a"][first:] *= rng.uniform(3, 5, 70 - first)
    later["b"][first + 2 : first + 6] = np.nan
    later["c"] = np.r_[np.full(first + 1, np.nan), noisy(69 - first, 7)]  # a new tag, later
    after = spend_anomalies(daily_frame(later), by="tag", weekly=weekly)
    cut = START + pd.Timedelta(days=first)
    for group in ("a", "b"):
        old = before[(before["group"] == group) & (before["day"] <= cut)].reset_index(drop=True)
        new = after[(after["group"] == group) & (after["day"] <= cut)].reset_index(drop=True)
        pd.testing.assert_frame_equal(new.iloc[:-1], old.iloc[:-1])
        band = ["baseline", "low", "high"]  # the first day changed: its own baseline stays too
        pd.testing.assert_frame_equal(new.iloc[-1:][band], old.iloc[-1:][band])
    late = [f.loc[(f["group"] == "a") & (f["day"] > cut + pd.Timedelta(days=5)), "baseline"]
            for f in (before, after)]
    assert not np.allclose(*late)  # the change is seen, later


def test_weekly_none_switches_on_from_21_days_of_history():
    values = noisy(70, 8, weekly=True)
    df = daily_frame({"a": values})
    auto, on, off = (spend_anomalies(df, weekly=w) for w in (None, True, False))
    cols = ["baseline", "low", "high", "score"]
    pd.testing.assert_frame_equal(auto.loc[:20, cols], off.loc[:20, cols])
    pd.testing.assert_frame_equal(auto.loc[21:, cols], on.loc[21:, cols])


def test_weekly_none_stays_off_without_a_weekday_pattern():
    df = daily_frame({"a": noisy(120, 9)})
    auto, off = spend_anomalies(df), spend_anomalies(df, weekly=False)
    same = np.isclose(auto["baseline"], off["baseline"], equal_nan=True)
    assert same.mean() >= 0.8  # the weekday test fires on noise at its 5% level, not every day


def test_weekly_finds_a_weekend_spike_a_flat_baseline_misses():
    values = noisy(84, 10, weekly=True, cv=0.08)
    spikes = [61, 68, 75]  # Saturdays: doubled, they only reach a weekday's level
    values[spikes] *= 2
    df = daily_frame({"a": values})
    weekly, flat = spend_anomalies(df), spend_anomalies(df, weekly=False)
    assert weekly.loc[spikes, "anomaly"].all()
    assert not flat.loc[spikes, "anomaly"].any()
    assert weekly.loc[21:, "anomaly"].sum() <= len(spikes) + 1  # before 21 days, weekends are low days


def test_a_group_that_starts_mid_range_has_zeros_then_no_baseline_for_min_history_days():
    series = {"old": noisy(40, 11), "new": np.r_[np.full(20, np.nan), noisy(20, 12)]}
    got = spend_anomalies(daily_frame(series), by="tag", min_history=7)
    new = got[got["group"] == "new"].reset_index(drop=True)
    assert len(new) == 40 and (new.loc[:19, "value"] == 0).all()
    assert new.loc[:26, "baseline"].isna().all() and not new.loc[:26, "anomaly"].any()
    assert new.loc[27:, "baseline"].notna().all()


def test_one_day_empty_and_all_zero_frames():
    one = spend_anomalies(daily_frame({"a": [5.0], "b": [1.0]}), by="tag")
    assert len(one) == 2 and one["baseline"].isna().all() and not one["anomaly"].any()
    empty = spend_anomalies(daily_frame({"a": [5.0]}).iloc[:0], by="tag")
    assert list(empty.columns) == COLUMNS and len(empty) == 0
    zero = spend_anomalies(daily_frame({"a": np.zeros(40)}))
    assert (zero["value"] == 0).all() and not zero["anomaly"].any()
    assert (zero.loc[7:, "score"] == 0).all() and (zero.loc[7:, "baseline"] == 0).all()
    assert zero.loc[14:, "reliable"].all() and not zero.loc[7:13, "reliable"].any()  # young: 7-13 days
    back = np.r_[np.zeros(30), 4.0]  # zeros for a month, then spend: beyond any threshold
    assert spend_anomalies(daily_frame({"a": back})).iloc[-1]["direction"] == "high"


def test_nan_costs_are_left_out_of_the_sums_as_daily_summary_does(sample):
    df = sample.copy()
    df.loc[df.index[::5], "total_cost"] = np.nan
    got = spend_anomalies(df)
    np.testing.assert_allclose(got["value"], daily_summary(df)["total_cost"].to_numpy(float))
    assert got["value"].notna().all()
    nan_only = spend_anomalies(daily_frame({"a": noisy(20, 13)}).assign(total_cost=np.nan))
    assert (nan_only["value"] == 0).all() and not nan_only["anomaly"].any()


def test_start_and_end_limit_the_days_not_the_history(sample):
    full = spend_anomalies(sample, by="tag")
    part = spend_anomalies(sample, by="tag", start="2026-09-15", end="2026-10-10")
    days = part["day"].unique()
    assert days.min() == pd.Timestamp("2026-09-15", tz="UTC")
    assert days.max() == pd.Timestamp("2026-10-09", tz="UTC")
    want = full[(full["day"] >= "2026-09-15") & (full["day"] < "2026-10-10")].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, want)
    wider = spend_anomalies(sample, start="2026-07-01")
    assert wider["day"].iloc[0] == pd.Timestamp("2026-07-01", tz="UTC")
    assert wider.loc[wider["day"] < sample["started_at"].min().floor("D"), "value"].eq(0).all()


def test_attrs_hold_the_parameters(sample):
    got = spend_anomalies(sample, by="tag", metric="sessions", window=21, threshold=4, weekly=False,
                          start="2026-09-01")
    params = got.attrs["orq_nb"]
    assert params["function"] == "spend_anomalies"
    assert {k: params[k] for k in ("by", "metric", "window", "min_history", "threshold", "weekly")} == {
        "by": "tag", "metric": "sessions", "window": 21, "min_history": 7, "threshold": 4.0, "weekly": False}
    assert params["start"].startswith("2026-09-01") and params["end"] is None


def test_low_session_counts_do_not_flag_every_extra_session():
    counts = np.random.default_rng(14).poisson(2, 60).astype(float)
    counts[-1] = 1  # the frame's last day
    days = np.repeat(np.arange(60), counts.astype(int)) + 0.5
    got = spend_anomalies(frame(days, np.ones(len(days))), metric="sessions")
    np.testing.assert_array_equal(got["value"], counts)
    assert got["anomaly"].sum() <= 2


def test_a_store_like_object_is_read_through_its_frames(sample):
    class ReadsPandas:
        def to_pandas(self, columns=None):
            self.columns = columns
            return sample[columns]

    reader = ReadsPandas()
    got = spend_anomalies(reader, by="project_id")
    pd.testing.assert_frame_equal(got, spend_anomalies(sample, by="project_id"))
    assert "project_id" in reader.columns and "tags" not in reader.columns


@pytest.mark.parametrize("kwargs, message", [
    ({"by": "model"}, "by must be"), ({"metric": "cost"}, "metric must be"), ({"window": 0}, "window"),
    ({"min_history": 30}, "min_history"), ({"threshold": -1}, "threshold"), ({"weekly": "yes"}, "weekly"),
    ({"start": "2026-10-01", "end": "2026-09-01"}, "end"),
])
def test_bad_arguments_are_named(sample, kwargs, message):
    with pytest.raises(ValueError, match=message):
        spend_anomalies(sample, **kwargs)


def test_frames_that_are_not_sessions_are_refused(sample):
    with pytest.raises(TypeError, match="df must be"):
        spend_anomalies([1, 2, 3])
    with pytest.raises(ValueError, match="started_at"):
        spend_anomalies(sample.drop(columns="started_at"))
    with pytest.raises(TypeError, match="lists of tags"):
        spend_anomalies(sample.assign(tags=sample["tags"].astype(str)), by="tag")


def test_top_anomalies_of_the_last_days_strongest_first():
    series = {"a": noisy(60, 15), "b": noisy(60, 16, level=4)}
    series["a"][[40, 56]] *= [3, 2.2]
    series["b"][[57, 58]] *= [4, 0.1]
    result = spend_anomalies(daily_frame(series), by="tag")
    top = top_anomalies(result, days=7)
    assert list(top.columns) == ["group", "day", "value", "baseline", "ratio", "score", "reliable", "note"]
    recent = result[result["anomaly"] & (result["day"] >= START + pd.Timedelta(days=53))]
    assert len(top) == len(recent) >= 3 and START + pd.Timedelta(days=40) not in top["day"].tolist()
    scores = recent.set_index(["group", "day"])["score"].abs()
    assert scores.loc[list(zip(top["group"], top["day"], strict=True))].is_monotonic_decreasing
    np.testing.assert_allclose(top["ratio"], top["value"] / top["baseline"])
    assert len(top_anomalies(result, days=7, n=1)) == 1
    assert len(top_anomalies(result.iloc[:0])) == 0
    with pytest.raises(ValueError, match="days"):
        top_anomalies(result, days=0)


def test_a_start_and_no_sessions_is_an_empty_answer_not_an_error(sample):
    empty = sample.iloc[:0]
    for start, end in (("2026-10-01", None), (None, "2026-10-01"), ("2026-10-01", "2026-10-03")):
        found = spend_anomalies(empty, by="tag", start=start, end=end)
        assert list(found.columns) == COLUMNS
        assert found["group"].isin(["(no tag)"]).all()
