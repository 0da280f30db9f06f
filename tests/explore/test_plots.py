"""The duration-vs-cost plot: right data, labels, legend, empty state, density mode."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import session
from matplotlib.collections import PathCollection, QuadMesh

import orq_nb
from orq_nb.explore.common import categories
from orq_nb.explore.plots import plot_duration_vs_cost


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


def points(ax) -> np.ndarray:
    found = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    return np.concatenate(found) if found else np.empty((0, 2))


def test_plots_seconds_against_cost_with_units(sample):
    ax = plot_duration_vs_cost(sample)
    got = points(ax)
    assert len(got) == len(sample)
    want = np.column_stack([sample["duration_ms"] / 1000, sample["total_cost"]])
    assert np.allclose(np.sort(got, axis=0), np.sort(want, axis=0))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("duration (s)", "total cost (USD)")
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert ax.get_title() == "Duration vs cost: 4,000 sessions"


def test_legend_keeps_top_tags_and_groups_the_rest(sample):
    ax = plot_duration_vs_cost(sample, top=5)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 7
    counts = orq_nb.tag_counts(sample)
    top = counts[counts <= len(sample) / 2].index[:5]  # tags on most sessions tell them apart least
    assert [label.split(" (")[0] for label in labels] == [*top, "other", "(no tags)"]
    assert ax.get_legend().get_title().get_text() == "most specific tag"
    assert sum(int(label.split("(")[-1].rstrip(")").replace(",", "")) for label in labels) == len(sample)


def test_colour_by_project_and_group_names(sample):
    groups = categories(sample, "project_id", top=3)
    assert list(groups.cat.categories) == [*sample["project_id"].value_counts().index[:3], "other",
                                           "(no project)"]
    assert (groups == "(no project)").sum() == sample["project_id"].isna().sum()
    ax = plot_duration_vs_cost(sample, color_by="project_id", top=3)
    assert ax.get_legend().get_title().get_text() == "project id"


def test_empty_state_is_labelled(sample):
    ax = plot_duration_vs_cost(sample.iloc[:0])
    assert "No sessions match" in [t.get_text() for t in ax.texts]
    assert ax.get_title() == "Duration vs cost: no sessions to show"
    assert ax.get_xlabel() == "duration (s)"


def test_zero_cost_sessions_are_counted_in_the_title(sample):
    df = sample.head(10).copy()
    df.loc[df.index[:3], "total_cost"] = 0.0
    ax = plot_duration_vs_cost(df)
    assert len(points(ax)) == 7
    assert ax.get_title().endswith("3 with zero duration or cost not shown")
    assert len(points(plot_duration_vs_cost(df, log_y=False))) == 10


def test_large_frames_switch_to_density_and_say_so(sample):
    ax = plot_duration_vs_cost(sample, max_points=1000)
    assert "shown as density" in ax.get_title()
    [mesh] = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert mesh.get_array().sum() == len(sample)
    assert not points(ax).size


def test_highlight_circles_the_given_sessions(sample):
    ids = sample["id"].iloc[:4].tolist()
    ax = plot_duration_vs_cost(sample, highlight=ids)
    circled = ax.collections[-1].get_offsets()
    assert len(circled) == 4
    assert np.allclose(circled[:, 1], sample["total_cost"].iloc[:4])


def test_plotly_backend_hovers_with_session_details(sample):
    pytest.importorskip("plotly", reason="the test extra installs plotly")
    fig = plot_duration_vs_cost(sample.head(50), backend="plotly", color_by=None)
    [trace] = fig.data
    assert len(trace.x) == 50 and "external id" in trace.hovertemplate
    assert trace.customdata[0][0] == sample["id"].iloc[0]
    assert fig.layout.xaxis.title.text == "duration (s)" and fig.layout.yaxis.type == "log"


def test_a_tag_every_session_has_is_not_used_for_colour(sample):
    voice = orq_nb.filter_sessions(sample, tags="voice")
    groups = categories(voice, "tag", top=4)
    assert "voice" not in groups.cat.categories
    assert groups.value_counts().sum() == len(voice)
    counts = orq_nb.tag_counts(voice)
    assert list(groups.cat.categories)[:4] == list(counts[counts <= len(voice) / 2].index[:4])


def test_colour_by_tag_when_every_session_has_the_same_tags():
    df = orq_nb.sessions_frame([session(i, tags=["rag", "beta"]) for i in range(3)])
    groups = categories(df, "tag")
    assert groups.tolist() == ["(no tags)"] * 3


@pytest.mark.parametrize("backend", ["matplotlib", "plotly"])
@pytest.mark.parametrize("color_by", ["tag", "project_id", None])
@pytest.mark.parametrize("share", [0.2, 1.0])
def test_missing_costs_are_left_out_and_counted_on_linear_axes_in_density_mode(sample, backend, color_by,
                                                                                share):
    df = sample.copy()
    gone = df.index[: int(len(df) * share)]
    df.loc[gone, "total_cost"] = np.nan
    out = plot_duration_vs_cost(df, color_by=color_by, log_x=False, log_y=False, max_points=100,
                                backend=backend)
    title = out.get_title() if backend == "matplotlib" else out.layout.title.text
    assert f"; {len(gone):,} with no duration or cost not shown" in title, title
    if share < 1:
        assert f"{len(df) - len(gone):,} sessions" in title or f"of {len(df) - len(gone):,} drawn" in title


@pytest.mark.parametrize("log_y", [True, False])
def test_cost_ticks_are_dollars_in_plain_digits_on_every_backend(sample, log_y):
    df = sample.copy()
    df.loc[df.index[:5], "total_cost"] = 1e-5  # down to a hundred-thousandth of a dollar
    ax = plot_duration_vs_cost(df, log_y=log_y)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.lstrip("-").startswith("$") and "e" not in label for label in labels), labels
    if log_y:
        assert "$0.00001" in labels
        assert not [t.get_text() for t in ax.yaxis.get_minorticklabels() if t.get_text()]
    fig = plot_duration_vs_cost(df, log_y=log_y, backend="plotly")
    assert fig.layout.yaxis.tickprefix == "$" and fig.layout.yaxis.tickformat == "~r"  # not 100µ
    assert fig.layout.yaxis.dtick == (1 if log_y else None)  # one label a decade: no "2" and "5" between
    explorer = orq_nb.explore(df)
    explorer.log_y.value = log_y
    yaxis = explorer.plot.layout["yaxis"]
    assert yaxis["tickprefix"] == "$" and yaxis.get("dtick") == (1 if log_y else None)


def test_dollar_labels():
    from orq_nb.explore.common import usd

    assert [usd(v) for v in (1e-5, 0.0001, 0.25, 3, 1200, -0.5)] == [
        "$0.00001", "$0.0001", "$0.25", "$3", "$1,200", "-$0.5"]


def test_a_group_has_the_same_colour_in_matplotlib_and_plotly(sample):
    import matplotlib.colors as mcolors

    ax = plot_duration_vs_cost(sample, top=5)
    fig = plot_duration_vs_cost(sample, top=5, backend="plotly")
    static = {c.get_label().split(" (")[0]: mcolors.to_hex(c.get_facecolor()[0]) for c in ax.collections
              if c.get_label() and not c.get_label().startswith("_")}
    live = {t.name.split(" (")[0]: t.marker.color for t in fig.data if t.marker.color}
    shared = set(static) & set(live)
    assert len(shared) >= 5
    assert all(static[g].lower() == live[g].lower() for g in shared), (static, live)
