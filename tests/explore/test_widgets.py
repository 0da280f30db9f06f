"""Widgets driven headlessly: set values, check the selection, summary, plot and table."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from matplotlib.collections import PathCollection, QuadMesh

import orq_nb
from orq_nb.analysis.filters import filter_sessions
from orq_nb.explore.widgets import SessionExplorer, TagFilter, summary_text


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


def expected_summary(df):
    return summary_text(len(df), df["total_cost"].sum(), df["duration_ms"].median(), df["total_tokens"].sum())


def test_tag_filter_lists_counts_and_follows_clicks(sample):
    tag_filter = TagFilter(sample)
    counts = orq_nb.tag_counts(sample)
    assert tag_filter.tags.options[0] == (f"{counts.index[0]} ({counts.iloc[0]:,})", counts.index[0])
    seen = []
    tag_filter.observe(lambda change: seen.append(change["new"]), names="count")
    tag_filter.tags.value = ("voice", "eu")
    assert tag_filter.filtered["id"].tolist() == filter_sessions(sample, tags=["voice", "eu"])["id"].tolist()
    tag_filter.match.value = "all"
    tag_filter.exclude.value = ("rag",)
    want = filter_sessions(sample, tags=["voice", "eu"], match="all", exclude_tags=["rag"])
    assert tag_filter.filtered["id"].tolist() == want["id"].tolist()
    assert seen[-1] == len(want) and len(seen) == 3


def test_explorer_starts_with_everything(sample):
    explorer = orq_nb.explore(sample)
    assert len(explorer.filtered) == len(sample)
    assert explorer.summary_line == expected_summary(sample)
    assert explorer.summary.value == f"<b>{explorer.summary_line}</b>"
    assert explorer.png.startswith(b"\x89PNG")


def test_explorer_follows_tags_projects_and_dates(sample):
    explorer = SessionExplorer(sample, top_n=5)
    explorer.tag_filter.tags.value = ("rag",)
    explorer.projects.value = ("support-bot", "(no project)")
    explorer.start.value = dt.date(2026, 9, 1)
    explorer.end.value = dt.date(2026, 9, 30)
    want = filter_sessions(sample, tags=["rag"], projects=["support-bot", None], start="2026-09-01",
                           end="2026-10-01")
    assert explorer.filtered["id"].tolist() == want["id"].tolist()
    assert explorer.summary_line == expected_summary(want)
    plotted = np.concatenate([c.get_offsets() for c in explorer.axes.collections
                              if isinstance(c, PathCollection)])
    assert np.allclose(np.sort(plotted[:, 1]), np.sort(want["total_cost"]))
    assert explorer.axes.get_title() == f"Duration vs cost: {len(want):,} sessions"
    assert explorer.table["id"].tolist() == want.nlargest(5, "total_cost")["id"].tolist()


def test_explorer_shows_density_for_many_sessions_and_empty_state(sample):
    explorer = SessionExplorer(sample, max_points=500)
    assert explorer.axes.get_title() == f"Duration vs cost: {len(sample):,} sessions, shown as density"
    explorer.tag_filter.tags.value = ("rag",)
    [mesh] = [c for c in explorer.axes.collections if isinstance(c, QuadMesh)]
    rag = filter_sessions(sample, tags="rag")
    assert mesh.get_array().sum() == len(rag)
    assert explorer.axes.get_title() == f"Duration vs cost: {len(rag):,} sessions, shown as density"
    assert explorer.png.startswith(b"\x89PNG")
    explorer.tag_filter.tags.value = ("voice",)
    explorer.tag_filter.match.value = "all"
    explorer.tag_filter.tags.value = ("voice", "llama-70b", "beta", "mobile", "eu")
    assert explorer.summary_line == "0 sessions match"
    assert explorer.axes.get_title() == "Duration vs cost: no sessions to show"
    assert explorer.table.empty
