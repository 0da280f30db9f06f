"""Month-end forecast: spend to date, nothing from as_of on, intervals that hold, better than the run rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import orq_nb
from orq_nb.analysis.spend.forecast import FORECAST_COLUMNS, run_rate, spend_forecast
from orq_nb.errors import StaleDataWarning

START = pd.Timestamp("2026-01-01", tz="UTC")
WEEK = np.array([1, 1, 1, 1, 1, 0.6, 0.6])


def daily_frame(series: dict[str, np.ndarray], start: pd.Timestamp = START, per_day: int = 2) -> pd.DataFrame:
    """``per_day`` sessions a day per tag sharing its cost (every column of the layout)."""
    stamps, costs, tags = [], [], []
    for tag, values in series.items():
        for d, v in enumerate(values):
            for k in range(per_day):
                stamps.append(start + pd.Timedelta(days=d, hours=3 + 8 * k))
                costs.append(v / per_day)
                tags.append([tag])
    n = len(costs)
    data = {c: pd.Series([None] * n, dtype=object) if t == np.dtype(object) else
            pd.Series([np.nan] * n, dtype=t) for c, t in orq_nb.schemas.DTYPES.items()}
    data.update(id=pd.Series([f"s{i}" for i in range(n)], dtype="str"),
                started_at=pd.Series(stamps, dtype="datetime64[us, UTC]"),
                total_cost=pd.Series(costs, dtype=float),
                total_tokens=pd.Series(np.ones(n)), duration_ms=pd.Series(np.ones(n)),
                tags=pd.Series(tags, dtype=object), project_id=pd.Series(["p"] * n, dtype="str"))
    return pd.DataFrame(data)


def weekly_series(n: int, rng: np.random.Generator, cv: float = 0.15) -> np.ndarray:
    sigma = np.sqrt(np.log1p(cv**2))
    trend = np.exp(rng.uniform(-0.003, 0.003) * np.arange(n))
    weekday = WEEK[(np.arange(n) + START.weekday()) % 7]
    return rng.uniform(5, 50) * trend * weekday * rng.lognormal(-sigma**2 / 2, sigma, n)


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


def test_spent_is_the_month_so_far_and_days_left_what_remains(sample):
    as_of = pd.Timestamp("2026-10-20T12:00Z")
    got = spend_forecast(sample, by="project_id", as_of=as_of)
    assert list(got.columns) == FORECAST_COLUMNS
    month = sample[(sample["started_at"] >= "2026-10-01") & (sample["started_at"] < as_of)]
    want = month.groupby(month["project_id"].fillna("(no project)"))["total_cost"].sum()
    assert sorted(got["group"]) == sorted(want.index)
    np.testing.assert_allclose(got.set_index("group")["spent"].loc[want.index], want, rtol=1e-12)
    assert (got["days_left"] == 11.5).all() and (got["method"] == "trend+weekday").all()
    assert (got["low"] <= got["forecast"]).all() and (got["forecast"] <= got["high"]).all()
    assert (got["spent"] <= got["low"]).all()
    params = got.attrs["orq_nb"]
    assert params["as_of"].startswith("2026-10-20T12:00") and params["until"].startswith("2026-11-01")


def test_nothing_at_or_after_as_of_is_used(sample):
    as_of = pd.Timestamp("2026-10-12T08:30Z")
    before = sample[sample["started_at"] < as_of]
    changed = sample.copy()
    after = (changed["started_at"] >= as_of).to_numpy()
    changed.loc[after, "total_cost"] *= 100
    changed.loc[np.flatnonzero(after)[:50], "tags"] = pd.Series([["only-later"]] * 50).to_numpy()
    for by in (None, "tag", "project_id"):
        want = spend_forecast(before, by=by, as_of=as_of)
        pd.testing.assert_frame_equal(spend_forecast(sample, by=by, as_of=as_of), want)
        pd.testing.assert_frame_equal(spend_forecast(changed, by=by, as_of=as_of), want)
    at = sample[sample["started_at"] <= as_of]  # a session exactly at as_of is not "before"
    pd.testing.assert_frame_equal(spend_forecast(at, as_of=as_of), spend_forecast(before, as_of=as_of))


def test_intervals_hold_and_the_forecast_beats_the_run_rate():
    rng = np.random.default_rng(20)
    series = {f"s{i:02d}": weekly_series(90, rng) for i in range(30)}
    df = daily_frame(series)
    march = START + pd.Timedelta(days=59)
    actual = pd.Series({k: v[59:90].sum() for k, v in series.items()})
    inside, ours, peers = [], [], []
    for day in range(1, 31):  # every midnight of March after its first day
        as_of = march + pd.Timedelta(days=day)
        got = spend_forecast(df, by="tag", as_of=as_of).set_index("group")
        truth = actual.loc[got.index]
        inside.append(((got["low"] <= truth) & (truth <= got["high"])).to_numpy())
        ours.append(np.abs(got["forecast"] - truth) / truth)
        peers.append(np.abs(run_rate(got["spent"], as_of) - truth) / truth)
    coverage = np.concatenate(inside).mean()
    assert 0.7 <= coverage <= 0.9, coverage  # 80% intervals (900 forecasts of 30 series)
    assert np.mean(np.concatenate(ours)) < 0.85 * np.mean(np.concatenate(peers))


def test_a_steady_weekly_series_is_forecast_closely():
    rng = np.random.default_rng(21)
    values = weekly_series(90, rng, cv=0.03)
    as_of = START + pd.Timedelta(days=64)
    got = spend_forecast(daily_frame({"a": values}), as_of=as_of, confidence=0.98).iloc[0]
    actual = values[59:90].sum()
    assert got["spent"] == pytest.approx(values[59:64].sum())
    assert abs(got["forecast"] / actual - 1) < 0.03 and got["low"] <= actual <= got["high"]
    assert (got["high"] - got["low"]) / actual < 0.2


def test_until_sets_the_end_of_the_period(sample):
    as_of = "2026-10-20T12:00Z"
    month = spend_forecast(sample, as_of=as_of).iloc[0]
    sooner = spend_forecast(sample, as_of=as_of, until="2026-10-25").iloc[0]
    later = spend_forecast(sample, as_of=as_of, until="2026-11-15").iloc[0]
    assert (sooner["days_left"], month["days_left"], later["days_left"]) == (4.5, 11.5, 25.5)
    assert sooner["spent"] == month["spent"] == later["spent"]
    assert sooner["forecast"] < month["forecast"] < later["forecast"]
    assert run_rate(10.0, "2026-10-11") == pytest.approx(31.0)
    assert run_rate(10.0, "2026-10-11", until="2026-10-21") == pytest.approx(20.0)


def test_short_histories_fall_back_to_the_level_then_the_run_rate():
    rng = np.random.default_rng(22)
    as_of = START + pd.Timedelta(days=40, hours=12)
    series = {"old": weekly_series(41, rng), "new": np.r_[np.full(35, np.nan), weekly_series(6, rng)]}
    df = daily_frame({k: v[~np.isnan(v)] for k, v in series.items() if k == "old"})
    df = pd.concat([df, daily_frame({"new": series["new"][35:]}, start=START + pd.Timedelta(days=35))])
    today = daily_frame({"today": [4.0]}, start=START + pd.Timedelta(days=40), per_day=1)  # 03:00, 9 h before
    got = spend_forecast(pd.concat([df, today], ignore_index=True), by="tag", as_of=as_of).set_index("group")
    assert got["method"].to_dict() == {"new": "new", "old": "trend+weekday", "today": "run rate"}
    assert got["reliable"].to_dict() == {"new": False, "old": True, "today": False}
    assert got.loc["new", "note"].startswith("new group: 5 days of history")
    assert got.loc["today", "spent"] == 4.0
    assert np.isnan(got.loc["today", ["low", "high"]].astype(float)).all()
    assert got.loc["today", "days_left"] == 18.5  # to March 1st
    assert got.loc["today", "forecast"] == pytest.approx(4.0 + 4.0 / 0.5 * 18.5)  # 4 USD in half a day
    assert got.loc["new", "low"] <= got.loc["new", "forecast"] <= got.loc["new", "high"]


def test_a_wider_interval_holds_more(sample):
    narrow, wide = (spend_forecast(sample, by="tag", as_of="2026-10-15", confidence=p) for p in (0.5, 0.95))
    assert (narrow["forecast"] == wide["forecast"]).all()
    assert (wide["low"] <= narrow["low"]).all() and (wide["high"] >= narrow["high"]).all()
    assert ((wide["high"] - wide["low"]) > (narrow["high"] - narrow["low"])).all()


def test_empty_frames_and_now_as_the_default(sample):
    none = spend_forecast(sample.iloc[:0], as_of="2026-10-15")
    assert none[["spent", "forecast", "low", "high"]].iloc[0].tolist() == [0, 0, 0, 0]
    assert none["method"].iloc[0] == "none" and none["group"].iloc[0] == "(all)"
    assert len(spend_forecast(sample.iloc[:0], by="tag", as_of="2026-10-15")) == 0
    # as_of defaults to the end of the data, so that the sample is forecast where it ends (not in a month of
    # zeros); the last session counts.
    got = spend_forecast(sample)
    last = sample["started_at"].max()
    assert pd.Timestamp(got.attrs["orq_nb"]["as_of"]) == last + pd.Timedelta(microseconds=1)
    assert got["spent"].iloc[0] == pytest.approx(
        sample.loc[sample["started_at"] >= last.floor("D").replace(day=1), "total_cost"].sum())
    assert got["forecast"].iloc[0] > got["spent"].iloc[0]
    # A later as_of is allowed, with a warning that names the data's last day.
    with pytest.warns(StaleDataWarning, match=f"the data end on {last.date()}"):
        spend_forecast(sample, as_of=last + pd.Timedelta(days=30))


@pytest.mark.parametrize("kwargs, message", [
    ({"confidence": 1.0}, "confidence"), ({"confidence": True}, "confidence"),
    ({"confidence": 0}, "confidence"),
    ({"until": "2026-10-01"}, "until"), ({"by": "model"}, "by must be"),
])
def test_bad_arguments_are_named(sample, kwargs, message):
    with pytest.raises(ValueError, match=message):
        spend_forecast(sample, as_of="2026-10-15", **kwargs)
