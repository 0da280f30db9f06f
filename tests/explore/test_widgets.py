"""Widgets driven headlessly: set values, send plot events, check the selection, summary, plot and tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import orq_nb
from orq_nb.analysis.filters import filter_sessions
from orq_nb.explore.explorer import SessionExplorer, summary_text
from orq_nb.explore.tables import readable
from orq_nb.explore.tag_filter import TagFilter


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


def expected_summary(df):
    return summary_text(len(df), df["total_cost"].sum(), df["duration_ms"].median(), df["total_tokens"].sum())


def plotted(explorer) -> np.ndarray:
    """The (duration s, cost) points the plot's group traces hold now."""
    groups = explorer.plot.traces[: len(explorer.plot.names)]
    return np.concatenate([np.column_stack([t["x"], t["y"]]) for t in groups])


def test_tag_filter_lists_counts_and_follows_typed_tags(sample):
    tag_filter = TagFilter(sample)
    counts = orq_nb.tag_counts(sample)
    assert f"{counts.index[0]}&nbsp;({counts.iloc[0]:,})" in tag_filter.counts.value
    assert set(tag_filter.tags.allowed_tags) == set(counts.index)  # completion from the frame's tags
    seen = []
    tag_filter.observe(lambda change: seen.append(change["new"]), names="count")
    tag_filter.tags.value = ["voice", "eu"]
    assert tag_filter.filtered["id"].tolist() == filter_sessions(sample, tags=["voice", "eu"])["id"].tolist()
    tag_filter.match.value = "all"
    tag_filter.exclude.value = ["rag"]
    want = filter_sessions(sample, tags=["voice", "eu"], match="all", exclude_tags=["rag"])
    assert tag_filter.filtered["id"].tolist() == want["id"].tolist()
    assert seen[-1] == len(want) and len(seen) == 3
    tag_filter.reset()
    assert tag_filter.count == len(sample) and tag_filter.tags.value == []


def test_a_typed_tag_no_session_has_is_named_with_the_closest_that_exist(sample):
    tag_filter = TagFilter(sample)
    assert set(tag_filter.tags_entry.options) == set(orq_nb.tag_counts(sample).index)
    tag_filter.add("voic")  # as typed in the box, then Enter
    assert tag_filter.tags.value == [] and tag_filter.count == len(sample)
    assert "no session has the tag &#x27;voic&#x27; (closest: &#x27;voice&#x27;" in tag_filter.hint.value
    tag_filter.add("voice, rag")
    assert tag_filter.tags.value == ["voice", "rag"] and tag_filter.hint.value == ""
    assert tag_filter.tags_entry.value == ""  # the box is ready for the next tag
    tag_filter.add(["beta"], exclude=True)
    want = filter_sessions(sample, tags=["voice", "rag"], exclude_tags="beta")
    assert tag_filter.filtered["id"].tolist() == want["id"].tolist()


def test_colour_is_each_sessions_most_specific_tag(sample):
    explorer = SessionExplorer(sample)
    title = explorer.plot.layout["legend"]["title"]["text"]
    assert title == "most specific tag"
    common = orq_nb.tag_counts(sample)
    assert common.iloc[0] > len(sample) / 2  # production: on most sessions, so it tells none apart
    assert common.index[0] not in explorer.plot.names
    assert explorer.plot.names[0] == common[common <= len(sample) / 2].index[0]


def test_explorer_starts_with_everything(sample):
    explorer = orq_nb.explore(sample)
    assert len(explorer.filtered) == len(sample)
    assert explorer.summary_line == expected_summary(sample)
    assert explorer.filters_line == "no filters"
    assert explorer.plot.title == f"Duration vs cost: {len(sample):,} sessions"
    assert len(plotted(explorer)) == len(sample)
    figure = explorer.plot.widget.figure  # what the browser gets: floats as bytes
    assert isinstance(figure["data"][0]["x"], bytes) and figure["layout"]["dragmode"] == "select"


def test_explorer_follows_tags_projects_and_dates_and_lists_them(sample):
    explorer = SessionExplorer(sample, top_n=5)
    explorer.tag_filter.tags.value = ["rag"]
    explorer.projects.value = ["support-bot", "(no project)"]
    explorer.start.value = dt.date(2026, 9, 1)
    explorer.end.value = dt.date(2026, 9, 30)
    want = filter_sessions(sample, tags=["rag"], projects=["support-bot", None], start="2026-09-01",
                           end="2026-10-01")
    assert explorer.filtered["id"].tolist() == want["id"].tolist()
    assert explorer.summary_line == expected_summary(want)
    assert explorer.filters_line == ("filters: tags: any of rag; projects: support-bot, (no project); "
                                     "from 2026-09-01; to 2026-09-30")
    assert np.allclose(np.sort(plotted(explorer)[:, 1]), np.sort(want["total_cost"]))
    assert explorer.plot.title == f"Duration vs cost: {len(want):,} sessions"
    assert explorer.table["id"].tolist() == want.nlargest(5, "total_cost")["id"].tolist()
    explorer.reset_button.click()
    assert len(explorer.filtered) == len(sample) and explorer.filters_line == "no filters"


def test_a_tag_keeps_its_colour_and_the_axes_stay_fixed_across_filters(sample):
    explorer = SessionExplorer(sample)
    colours = {t["name"].split(" (")[0]: t["marker"].get("color") for t in explorer.plot.traces[:-2]}
    ranges = (explorer.plot.layout["xaxis"]["range"], explorer.plot.layout["yaxis"]["range"])
    explorer.tag_filter.tags.value = ["gpt-4o"]
    after = {t["name"].split(" (")[0]: t["marker"].get("color") for t in explorer.plot.traces[:-2]}
    assert after == colours
    assert (explorer.plot.layout["xaxis"]["range"], explorer.plot.layout["yaxis"]["range"]) == ranges
    explorer.fixed_axes.value = False
    assert explorer.plot.layout["xaxis"]["autorange"] and "range" not in explorer.plot.layout["xaxis"]
    explorer.log_x.value = False
    assert explorer.plot.layout["xaxis"]["type"] == "linear"


def test_an_empty_result_says_why(sample):
    explorer = SessionExplorer(sample)
    explorer.tag_filter.tags.value = ["voice"]
    explorer.tag_filter.exclude.value = ["voice"]
    assert explorer.summary_line == "0 sessions match: the excluded tag voice also required"
    assert explorer.plot.title == "Duration vs cost: no sessions to show" and explorer.table.empty
    explorer.reset()
    explorer.start.value = dt.date(2026, 10, 5)
    explorer.end.value = dt.date(2026, 10, 1)
    assert explorer.summary_line == '0 sessions match: "from" (2026-10-05) is after "to" (2026-10-01)'
    explorer.reset()
    explorer.tag_filter.match.value = "all"
    explorer.tag_filter.tags.value = ["voice", "llama-70b", "beta", "mobile", "eu"]
    assert explorer.summary_line == ("0 sessions match: no session has all of "
                                     "voice, llama-70b, beta, mobile, eu")


def test_density_for_many_sessions_and_box_and_lasso_still_select_underneath(sample):
    explorer = SessionExplorer(sample, max_points=500)
    assert explorer.plot.title == f"Duration vs cost: {len(sample):,} sessions, shown as density"
    density = explorer.plot.traces[len(explorer.plot.names)]
    assert density["visible"] and sum(int(t.replace(",", "")) for t in density["text"]) == len(sample)
    assert len(plotted(explorer)) == 0  # no points drawn, only cells
    explorer.plot._event({"event": "box", "x": [5, 50], "y": [0.001, 0.01]})  # as the browser sends it
    want = orq_nb.select_box(sample, duration=(5, 50), cost=(0.001, 0.01), log_x=True, log_y=True)
    assert explorer.selected_ids == sorted(want["id"], key=list(sample["id"]).index)
    lasso = {"event": "lasso", "x": [2, 200, 200, 2], "y": [0.0005, 0.0005, 0.05, 0.002]}
    explorer.plot._event(lasso)
    polygon = list(zip(lasso["x"], lasso["y"], strict=True))
    want = orq_nb.select_lasso(sample, polygon=polygon, log_x=True, log_y=True)
    assert set(explorer.selected_ids) == set(want["id"]) and len(want)
    explorer.plot._event({"event": "deselect"})
    assert explorer.selected_ids == []


def test_clicking_a_point_shows_every_field_and_tables_read_well(sample):
    explorer = SessionExplorer(sample)
    first = explorer.plot.traces[0]
    explorer.plot._event({"event": "click", "trace": 0, "index": 3})
    row = explorer.clicked
    assert (row["duration_ms"] / 1000, row["total_cost"]) == (first["x"][3], first["y"][3])
    for field in sample.columns.drop("duration_ms"):
        assert f">{field}<" in explorer.details.value
    # Shown in seconds, so labelled in seconds: never "duration_ms" beside a number of seconds.
    assert f">duration (s)</th><td style='text-align:left'>{row['duration_ms'] / 1000:,.3f}<" in \
        explorer.details.value
    children = explorer.children[0].children  # the views: the details come right after the plot
    assert children.index(explorer.details) == children.index(explorer.plot.widget) + 1
    explorer.select(sample["id"].head(30))
    shown = readable(explorer.selected)
    assert list(shown.columns) == ["id", "duration (s)", "cost (USD)", "tokens", "project", "started (UTC)",
                                   "external id", "tags"]  # the numbers in view, the wide tags last
    assert shown["duration (s)"].tolist() == (explorer.selected["duration_ms"] / 1000).round(2).tolist()
    assert shown["started (UTC)"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()
    picked = explorer.selected
    assert f"30 selected · total cost ${picked.total_cost.sum():,.2f} · median duration " \
           f"{picked.duration_ms.median() / 1000:,.1f} s" in explorer.selection_head.value
    options = explorer.selection_table._dt_args
    assert "csvHtml5" in str(options["buttons"]) and options["paging"]
    assert "text_in_header_can_be_selected" not in options  # (so that a click on a column's name sorts)
