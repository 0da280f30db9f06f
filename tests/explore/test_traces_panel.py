"""The drill-down in the explorer: the traces panel, and the spend panel's explanation of a day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import orq_nb
from orq_nb.analysis.costs.explain import explain_day
from orq_nb.analysis.tags import tag_mask
from orq_nb.testing import FakeOrqServer, generate_sessions

EFFECTS = ["volume", "mix", "tokens", "price"]


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample(), orq_nb.load_sample("traces"), orq_nb.load_sample("spans")


def test_selected_and_clicked_sessions_show_their_traces_and_model_calls(sample):
    sessions, traces, spans = sample
    explorer = orq_nb.explore(sessions, traces=traces, spans=spans)
    panel = explorer.traces_panel
    ids = sessions["id"].iloc[10:14].tolist()
    explorer.select(ids)
    want = traces[traces["session_id"].isin(ids)]
    assert set(panel.shown_traces["trace_id"]) == set(want["trace_id"])
    calls = spans[spans["trace_id"].isin(want["trace_id"]) & spans["model"].notna()]
    assert len(panel.spans_table.df) == len(calls)
    cost = spans[spans["trace_id"].isin(want["trace_id"])]["total_cost"].sum()
    assert f"of 4 sessions: {len(want):,} traces, ${cost:,.4f}" in panel.head.value
    explorer._click_row(20)  # a click on a point
    clicked = sessions["id"].iloc[20]
    assert set(panel.shown_traces["session_id"]) == {clicked}
    assert list(panel.trace_picker.options) == traces[traces["session_id"] == clicked].sort_values(
        "started_at", ascending=False)["trace_id"].tolist()
    assert "give the explorer a client" in panel.conversation.value


def test_no_traces_and_no_client_means_no_panel(sample):
    assert orq_nb.explore(sample[0]).traces_panel is None


def test_with_a_client_the_panel_fetches_reading_only_and_shows_the_conversation():
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with FakeOrqServer(generate_sessions(60, seed=8, end=now, days=10), now=now) as fake:
        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url)
        sessions = client.query_sessions(progress=False)
        explorer = orq_nb.explore(sessions, client=client, write=False)
        fake.exchanges.clear()
        explorer.select(sessions["id"].head(3))
        panel = explorer.traces_panel
        assert len(panel.shown_traces) == sessions["traces_count"].head(3).sum()
        assert panel.conversation.value.count("orq-message") >= 3  # the first trace's, shown at once
        assert "<b>user</b>" in panel.conversation.value
        assert {ex.method for ex in fake.exchanges} <= {"GET", "POST"}
        assert {ex.path for ex in fake.exchanges if ex.method == "POST"} <= {"/v3/traces/search"}
        # The explorer's own rows go to the search: no session is read again, one by one.
        assert not [ex for ex in fake.exchanges if ex.path.startswith("/v2/sessions/")]


def test_a_picked_anomaly_is_explained_by_model_as_a_waterfall(sample):
    sessions, traces, spans = sample
    explorer = orq_nb.explore(sessions, spend=True, traces=traces, spans=spans)
    panel = explorer.spend_panel
    panel.table.selected_rows = [0]  # a click on the strongest anomaly
    row = panel.rows.iloc[0]
    got = panel.explained
    keep = tag_mask(sessions["tags"], [row["group"]]) if row["kind"] == "tag" else (
        sessions["project_id"] == row["group"]).to_numpy(dtype=bool, na_value=False)
    mine = spans["session_id"].isin(sessions["id"][keep]).to_numpy()
    pd.testing.assert_frame_equal(got, explain_day(spans, row["day"], by="model", mask=mine))
    day = spans[mine & (spans["started_at"].dt.floor("D") == row["day"]).to_numpy()]
    assert got.loc["(all)", "after"] == pytest.approx(day["total_cost"].sum())
    np.testing.assert_allclose(got[EFFECTS].sum(axis=1), got["change"], atol=1e-12)
    assert panel.explanation.value.count("orq-step") == 6 and "; by model)" in panel.explanation.value


def test_explain_day_compares_with_the_average_baseline_day(sample):
    sessions = sample[0]
    day = pd.Timestamp("2026-10-25", tz="UTC")
    got = explain_day(sessions, day, by="project_id")
    started = sessions["started_at"]
    base = sessions[(started >= day - pd.Timedelta(days=28)) & (started < day)]
    days = base["started_at"].dt.floor("D").nunique()
    assert got.loc["(all)", "before"] == pytest.approx(base["total_cost"].sum() / days)
    assert got.attrs["orq_nb"]["baseline_days"] == days
    np.testing.assert_allclose(got[EFFECTS].sum(axis=1), got["change"], atol=1e-12)


def test_add_to_dataset_previews_then_writes_behind_the_switch_once():
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with FakeOrqServer(generate_sessions(50, seed=9, end=now, days=10), now=now) as fake:
        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url)
        sessions = client.query_sessions(progress=False)
        explorer = orq_nb.explore(sessions, client=client, write=False)
        box = explorer.dataset_box
        explorer.select(sessions["id"].head(12))
        box.name.value = "triaged"
        box.preview_button.click()
        said = "Dry run, nothing written: 'triaged' (a new dataset): would add 12 datapoints"
        assert said in box.line.value
        assert fake.datasets.datasets == {} and box.add_button.disabled  # the switch is off
        explorer.write.value = True
        assert not box.add_button.disabled
        box.add_button.click()
        assert "On orq.ai: 'triaged' (a new dataset): added 12 datapoints" in box.line.value
        box.add_button.click()  # twice: nothing doubles
        assert "added 0 datapoints (12 already there" in box.line.value
        (points,) = fake.datasets.datapoints.values()
        assert sorted(p["inputs"]["orq_session_id"] for p in points) == sorted(sessions["id"].head(12))
        assert "triaged" in orq_nb.explore(sessions, client=client).dataset_box.name.options


def test_without_a_client_add_to_dataset_says_what_it_needs(sample):
    box = orq_nb.explore(sample[0]).dataset_box
    assert box.preview_button.disabled and "needs a client" in box.line.value


def test_add_needs_a_preview_of_the_same_name_and_selection():
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with FakeOrqServer(generate_sessions(30, seed=2, end=now, days=10), now=now) as fake:
        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url)
        sessions = client.query_sessions(progress=False)
        explorer = orq_nb.explore(sessions, client=client)
        box = explorer.dataset_box
        explorer.select(sessions["id"].head(5))
        box.preview("one")
        box.name.value = "another"
        assert box.add_button.disabled  # the name changed since the preview
        explorer.select(sessions["id"].head(6))
        with pytest.raises(ValueError, match="preview first"):
            box.add("one")
        assert fake.datasets.datasets == {}


def test_an_anomaly_of_sessions_without_a_project_is_explained_on_those_sessions(sample):
    from orq_nb.explore.spend_panel import _group_rows

    sessions = sample[0]
    none = _group_rows(sessions, "project", "(no project)")
    assert (none == sessions["project_id"].isna().to_numpy()).all()
    untagged = _group_rows(sessions, "tag", "(no tag)")
    assert untagged.sum() == sum(len(t) == 0 for t in sessions["tags"]) > 0


def test_the_traces_panel_costs_the_traces_not_only_the_spans_it_fetched(sample):
    sessions, traces, spans = sample
    explorer = orq_nb.explore(sessions, traces=traces, spans=spans.iloc[:0])  # no spans at all
    explorer.select(sessions["id"].head(3))
    cost = traces[traces["session_id"].isin(sessions["id"].head(3))]["total_cost"].sum()
    assert f"${cost:,.4f}" in explorer.traces_panel.head.value
