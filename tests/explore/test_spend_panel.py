"""The dashboard's spend panel: the strongest anomalies of the last 7 days; a click filters the explorer; the
rows flagged as unreliable are named with their notes."""

from __future__ import annotations

import pandas as pd
import pytest

import orq_nb
from orq_nb.analysis.filters import filter_sessions
from orq_nb.analysis.spend.anomalies import spend_anomalies
from orq_nb.explore import spend_panel
from orq_nb.explore.spend_panel import flagged_html, spend_rows


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


def test_the_rows_are_the_strongest_anomalies_of_the_last_week_by_tag_and_project(sample):
    rows = spend_rows(sample)
    assert list(rows.columns) == ["kind", "group", "day", "value", "baseline", "ratio", "score", "reliable",
                                  "note"]
    assert 0 < len(rows) <= 10 and set(rows["kind"]) <= {"tag", "project"}
    last = sample["started_at"].max().floor("D")
    assert (rows["day"] > last - pd.Timedelta(days=7)).all() and (rows["day"] <= last).all()
    for row in rows.itertuples():
        found = spend_anomalies(sample, by="tag" if row.kind == "tag" else "project_id")
        day = found[(found["group"] == row.group) & (found["day"] == row.day)].iloc[0]
        assert day["anomaly"] and day["value"] == row.value and day["baseline"] == row.baseline


def test_a_click_on_an_anomaly_filters_to_its_group_and_day(sample):
    explorer = orq_nb.explore(sample, spend=True)
    explorer.tag_filter.tags.value = ["rag"]  # cleared by the click
    panel = explorer.spend_panel
    for position, row in enumerate(panel.rows.itertuples()):
        panel.table.selected_rows = [position]  # what a click in the table does
        day = row.day
        if row.kind == "tag":
            kwargs = {} if row.group == "(no tag)" else {"tags": [row.group]}
        else:
            kwargs = {"projects": [None if row.group == "(no project)" else row.group]}
        want = filter_sessions(sample, **kwargs, start=day, end=day + pd.Timedelta(days=1))
        assert sorted(explorer.filtered["id"]) == sorted(want["id"])
        assert f"from {day:%Y-%m-%d}; to {day:%Y-%m-%d}" in explorer.filters_line


def test_the_panel_is_the_dashboards_choice(sample):
    assert orq_nb.explore(sample).spend_panel is None
    assert "Spend watch" in orq_nb.explore(sample, spend=True).spend_panel.head.value


def test_rows_flagged_as_unreliable_are_named_with_their_notes(sample):
    """A tag that appeared ten days before the data's end, with a dear last day: its anomaly rests on a
    baseline of a few days, and the panel says so."""
    last = sample["started_at"].max().floor("D")
    recent = (sample["started_at"] >= last - pd.Timedelta(days=9)).to_numpy() & (
        sample["project_id"] == "support-bot").to_numpy()
    df = sample.copy()
    df.loc[recent, "tags"] = pd.Series([[*t, "fresh"] for t in df.loc[recent, "tags"]],
                                       index=df.index[recent], dtype=object)
    df.loc[recent & (df["started_at"] >= last).to_numpy(), "total_cost"] *= 20
    rows = spend_rows(df)
    flagged = rows[~rows["reliable"]]
    assert len(flagged) >= 1 and (flagged["group"] == "fresh").all()
    assert flagged["note"].str.startswith("young group: a baseline from 9 days").all()
    assert (rows.loc[rows["reliable"], "note"].str.startswith("young").sum()) == 0
    panel = orq_nb.explore(df, spend=True).spend_panel
    head = panel.head.value
    assert "flagged as unreliable" in head
    assert f"tag fresh, {last:%Y-%m-%d}: young group: a baseline from 9 days" in head
    shown = spend_panel._shown(panel.rows)
    assert shown["group"].str.startswith("⚠ ").tolist() == (~panel.rows["reliable"]).tolist()


def test_no_flag_no_word_about_flags(sample):
    rows = spend_rows(sample)
    if rows["reliable"].all():
        assert flagged_html(rows) == ""
        assert "unreliable" not in orq_nb.explore(sample, spend=True).spend_panel.head.value
    assert flagged_html(rows.assign(reliable=True)) == ""


def test_the_table_names_its_columns_in_words_and_is_sorted_by_what_it_shows(sample):
    rows = spend_rows(sample, days=14, n=10)
    shown = spend_panel._shown(rows)
    assert list(shown.columns) == ["how unusual", "group", "day", "cost", "baseline", "times its baseline"]
    assert not any("×" in c or c.startswith("x ") for c in shown.columns)
    strength = [float(text.split(" by ")[1]) for text in shown["how unusual"]]
    assert len(strength) > 1 and strength == sorted(strength, reverse=True)
    assert all(t.startswith(("above by", "below by")) for t in shown["how unusual"])
