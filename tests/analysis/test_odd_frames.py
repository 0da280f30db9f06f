"""Frames people really have: None or NaN tags, tags edited in place, tiny, empty, all-NaN frames."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import orq_nb

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


@pytest.fixture
def holes(sample):
    """Tags that are None or NaN in some rows, as a merge or a hand edit leaves them."""
    df = sample.head(60).copy()
    df.loc[df.index[[1, 3]], "tags"] = None
    df.at[df.index[5], "tags"] = np.nan
    return df


def test_none_or_nan_tags_count_as_no_tags_everywhere(holes):
    clean = holes.assign(tags=[t if isinstance(t, list) else [] for t in holes["tags"]])
    for fn, kwargs in ((orq_nb.filter_sessions, {"tags": "rag"}),
                       (orq_nb.filter_sessions, {"exclude_tags": "rag"}),
                       (orq_nb.tag_counts, {}), (orq_nb.cost_by_tag, {})):
        got, want = fn(holes, **kwargs), fn(clean, **kwargs)
        assert got.drop(columns="tags", errors="ignore").equals(want.drop(columns="tags", errors="ignore"))
    assert orq_nb.plot_duration_vs_cost(holes).get_title() == "Duration vs cost: 60 sessions"
    orq_nb.plot_duration_vs_cost(holes, backend="plotly")
    explorer = orq_nb.explore(holes)
    explorer.select(holes["id"].iloc[:6])
    assert "6 sessions: +x; 0 already tagged" == explorer.preview(add="x")
    report = explorer.apply_tags(add="x")
    assert report.loc[report["id"] == holes["id"].iloc[1], "tags_after"].item() == ["x"]


def test_a_filter_sees_an_in_place_edit_of_the_tags(sample):
    df = sample.head(100).copy()
    assert orq_nb.filter_sessions(df, tags="rag").shape[0] == orq_nb.tag_counts(df)["rag"]
    df.at[df.index[0], "tags"] = ["brand-new"]
    assert orq_nb.filter_sessions(df, tags="brand-new")["id"].tolist() == [df["id"].iloc[0]]
    assert orq_nb.tag_counts(df)["brand-new"] == 1


def edge_frames(sample):
    head = sample.head(20)
    return {
        "one session": sample.head(1),
        "no tags": head.assign(tags=[[] for _ in range(20)]),
        "the same tags": head.assign(tags=[["a", "b"] for _ in range(20)]),
        "empty": sample.head(0),
        "all-NaN costs": head.assign(total_cost=np.nan),
    }


@pytest.mark.parametrize("name", ["one session", "no tags", "the same tags", "empty", "all-NaN costs"])
def test_plots_and_the_explorer_show_an_empty_state_not_an_exception(sample, name):
    df = edge_frames(sample)[name]
    shown = int(((df["duration_ms"] > 0) & (df["total_cost"] > 0)).sum())
    for kwargs in ({}, {"max_points": 0}, {"color_by": "project_id"}, {"color_by": None}):
        ax = orq_nb.plot_duration_vs_cost(df, **kwargs)
        assert ("no sessions to show" in ax.get_title()) == (shown == 0)
        fig = orq_nb.plot_duration_vs_cost(df, backend="plotly", **kwargs)
        assert fig.layout.title.text.startswith("Duration vs cost")
    for max_points in (20_000, 0):
        explorer = orq_nb.explore(df, max_points=max_points)
        assert ("no sessions to show" in explorer.plot.title) == (shown == 0)
        assert explorer.summary_line.startswith(f"{len(df):,} sessions" if len(df) else "0 sessions match")
        explorer.plot._event({"event": "box", "x": [0.001, 1e6], "y": [1e-9, 1e3]})
        assert len(explorer.selected) == shown
