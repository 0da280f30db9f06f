"""The spend plot: most anomalous groups first, marks where the anomalies are, units, the forecast band."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

import orq_nb
from orq_nb.analysis.spend.anomalies import spend_anomalies
from orq_nb.analysis.spend.forecast import spend_forecast
from orq_nb.explore.common import usd
from orq_nb.explore.spend_plot import MAX_GROUPS, plot_spend, rank_groups

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


@pytest.fixture(scope="module")
def by_tag(sample):
    return spend_anomalies(sample, by="tag")


def shown_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def marks(ax) -> np.ndarray:
    found = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    return np.concatenate(found) if found else np.empty((0, 2))


def test_at_most_twelve_groups_most_anomalous_first(by_tag):
    fig = plot_spend(by_tag)
    axes = shown_axes(fig)
    order = rank_groups(by_tag)
    assert by_tag["group"].nunique() > MAX_GROUPS and len(axes) == MAX_GROUPS
    assert [ax.get_title(loc="left").split(" · ")[0] for ax in axes] == order[:MAX_GROUPS]
    counts = by_tag.groupby("group")["anomaly"].sum()
    assert counts.loc[order[:MAX_GROUPS]].is_monotonic_decreasing
    assert counts.loc[order[:MAX_GROUPS]].min() >= counts.drop(order[:MAX_GROUPS]).max()
    assert f"12 of {by_tag['group'].nunique()} groups" in fig._suptitle.get_text()


def test_anomalies_are_marked_where_they_are_and_axes_are_in_usd(by_tag):
    group = rank_groups(by_tag)[0]
    ax = shown_axes(plot_spend(by_tag, groups=group))[0]
    part = by_tag[by_tag["group"] == group]
    got = marks(ax)
    want = part[part["anomaly"]]
    days = matplotlib.dates.date2num(want["day"].dt.tz_localize(None))
    assert len(got) == len(want) > 0
    np.testing.assert_allclose(np.sort(got[:, 0]), np.sort(days))
    np.testing.assert_allclose(np.sort(got[:, 1]), np.sort(want["value"]))
    assert ax.get_ylabel() == "total cost (USD)"
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.startswith("$") for label in labels)
    line = next(line for line in ax.get_lines() if line.get_label() == "day")
    np.testing.assert_allclose(line.get_ydata(), part["value"])


def test_the_units_follow_the_metric(sample):
    for metric, label in (("sessions", "sessions"), ("median_duration_s", "median duration (s)"),
                          ("cost_per_session", "cost per session (USD)")):
        fig = plot_spend(spend_anomalies(sample, by="project_id", metric=metric), groups=["support-bot"])
        assert shown_axes(fig)[0].get_ylabel() == label


def test_groups_are_checked(by_tag):
    with pytest.raises(ValueError, match="no group 'nope'"):
        plot_spend(by_tag, groups=["rag", "nope"])
    with pytest.raises(ValueError, match="at most 12"):
        plot_spend(by_tag, groups=by_tag["group"].unique()[:13])
    fig = plot_spend(by_tag, groups=["voice", "rag"])
    assert [ax.get_title(loc="left").split(" · ")[0] for ax in shown_axes(fig)] == ["voice", "rag"]


def test_the_forecast_band_shows_the_daily_spend_left_to_month_end(sample):
    as_of = "2026-10-20T12:00Z"
    result = spend_anomalies(sample, by="project_id", end=as_of)
    forecast = spend_forecast(sample, by="project_id", as_of=as_of)
    ax = shown_axes(plot_spend(result, groups=["support-bot"], forecast=forecast))[0]
    row = forecast.set_index("group").loc["support-bot"]
    line = next(line for line in ax.get_lines() if line.get_label() == "forecast per day")
    np.testing.assert_allclose(line.get_ydata(), (row["forecast"] - row["spent"]) / row["days_left"])
    ends = [pd.Timestamp(d).strftime("%Y-%m-%d %H") for d in line.get_xdata()]
    assert ends == ["2026-10-20 12", "2026-11-01 00"]
    assert f"month end {usd(row['forecast'])}" in ax.get_title(loc="left")
    with pytest.raises(ValueError, match="total_cost"):
        plot_spend(spend_anomalies(sample, by="project_id", metric="sessions"), forecast=forecast)


def test_plotly_figure_has_the_panels_and_no_cloud_buttons(sample):
    result = spend_anomalies(sample, by="project_id")
    forecast = spend_forecast(sample, by="project_id", as_of="2026-10-20T12:00Z")
    fig = plot_spend(result, forecast=forecast, backend="plotly")
    assert list(fig.layout.modebar.remove) == ["sendChartToCloud", "sendDataToCloud", "editInChartStudio"]
    titles = [a.text.split(" · ")[0] for a in fig.layout.annotations]
    assert titles == rank_groups(result)
    days = [t for t in fig.data if t.name == "day"]
    assert len(days) == result["group"].nunique()
    np.testing.assert_allclose(days[0].y, result.loc[result["group"] == titles[0], "value"])
    highs = [t for t in fig.data if t.name == "anomaly (high)"]
    assert sum(len(t.x) for t in highs) == int((result["direction"] == "high").sum())
    assert fig.layout.yaxis.tickformat == "$,~g" and fig.layout.yaxis.title.text == "total cost (USD)"
    assert any(t.name == "forecast per day" for t in fig.data)


def test_an_empty_result_draws_an_empty_state(sample):
    empty = spend_anomalies(sample.iloc[:0], by="tag")
    fig = plot_spend(empty)
    assert "No days to show" in [t.get_text() for ax in fig.axes for t in ax.texts]
    plot_spend(empty, backend="plotly")
    with pytest.raises(ValueError, match="spend_anomalies"):
        plot_spend(pd.DataFrame({"day": []}))


def test_dollar_labels():
    assert [usd(v) for v in (0, 0.0001, 0.00015, 0.0125, 0.5, 12.5, 1200)] == [
        "$0", "$0.0001", "$0.00015", "$0.0125", "$0.5", "$12.5", "$1,200"]
