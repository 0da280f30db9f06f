"""The forest plot of a comparison: ratios and intervals where they belong, significance marked, no upload."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection

import orq_nb
from orq_nb.analysis.compare.comparison import compare_cohorts, compare_tags
from orq_nb.explore.comparison_plot import plot_comparison


@pytest.fixture(scope="module")
def result():
    sample = orq_nb.load_sample()
    got = compare_cohorts(sample, "gpt-4o", "gpt-4o-mini", method="welch")
    assert got["p_adjusted"].lt(0.05).any() and got["p_adjusted"].ge(0.05).any()  # both kinds to draw
    return got


@pytest.fixture(scope="module")
def tags():
    return compare_tags(orq_nb.load_sample(), method="welch")


def drawn(ax) -> dict:
    """Colour -> (x, y) of the markers drawn by errorbar."""
    out = {}
    for line in ax.lines:
        x, y = line.get_xdata(), line.get_ydata()
        if line.get_marker() == "o":
            out[line.get_color()] = (np.asarray(x, float), np.asarray(y, float))
    return out


def test_forest_plot_draws_each_ratio_on_a_log_axis_with_a_line_at_1(result):
    ax = plot_comparison(result)
    assert ax.get_xscale() == "log"
    assert any(np.allclose(line.get_xdata(), 1.0) for line in ax.lines if line.get_linestyle() == "--")
    markers = np.concatenate([x for x, _ in drawn(ax).values()])
    np.testing.assert_allclose(np.sort(markers), np.sort(result["ratio"].to_numpy()))
    low, high = ax.get_xlim()
    assert low < result["ratio_low"].min() and high > result["ratio_high"].max()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == len(result) and labels[0].lstrip("* ").startswith("total_cost")
    assert "ratio a / b" in ax.get_xlabel() and "gpt-4o vs gpt-4o-mini" == ax.get_title()


def test_significant_rows_after_adjustment_are_marked(tags):
    ax = plot_comparison(tags)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    starred = [label.lstrip("* ").split("  ")[0] for label in labels if label.startswith("* ")]
    assert starred == list(tags.index[tags["p_adjusted"] < 0.05])
    red = drawn(ax)["crimson"][0]
    np.testing.assert_allclose(np.sort(red), np.sort(tags.loc[tags["p_adjusted"] < 0.05, "ratio"]))
    assert r"\$" in labels[0]  # cost in dollars (escaped from mathtext)


def test_rows_without_an_interval_say_why(result):
    partial = result.copy()
    partial.loc["traces_count", ["ratio_low", "ratio_high", "p_value", "p_adjusted"]] = np.nan
    partial.loc["traces_count", "method"] = "none: all values equal within each cohort"
    ax = plot_comparison(partial)
    assert any("no interval (all values equal within each cohort)" in t.get_text() for t in ax.texts)
    assert sum(len(x) for x, _ in drawn(ax).values()) == len(result) - 1


def test_plotly_forest_plot_hovers_and_never_uploads(tags):
    pytest.importorskip("plotly")
    fig = plot_comparison(tags, backend="plotly")
    assert set(fig.layout.modebar.remove) >= {"sendChartToCloud", "sendDataToCloud", "editInChartStudio"}
    assert fig.layout.xaxis.type == "log"
    xs = np.concatenate([np.asarray(t.x, float) for t in fig.data if t.mode == "markers"])
    np.testing.assert_allclose(np.sort(xs), np.sort(tags["ratio"]))
    significant = next(t for t in fig.data if t.name.startswith("significant"))
    assert len(significant.x) == (tags["p_adjusted"] < 0.05).sum()
    np.testing.assert_allclose(np.asarray(significant.x) + np.asarray(significant.error_x.array),
                               tags.loc[tags["p_adjusted"] < 0.05, "ratio_high"])
    assert "adjusted" in significant.hovertemplate and "$" in significant.customdata[0][3]
    assert any(shape.x0 == 1 for shape in fig.layout.shapes)


def test_bad_input_is_a_value_error(result):
    with pytest.raises(ValueError, match="compare_cohorts"):
        plot_comparison(result.drop(columns="ratio"))
    with pytest.raises(ValueError, match="backend"):
        plot_comparison(result, backend="bokeh")


def test_an_interval_unbounded_above_runs_to_the_edge_with_an_arrow(result):
    pytest.importorskip("plotly")
    odd = result.copy()
    odd.loc["traces_count", "ratio_high"] = np.inf  # Fieller: unbounded
    ax = plot_comparison(odd)
    arrows = [line for line in ax.lines if line.get_marker() == ">"]
    assert len(arrows) == 1 and arrows[0].get_xdata()[0] < ax.get_xlim()[1]
    assert np.isfinite(ax.get_xlim()).all() and ax.get_xlim()[1] > odd["ratio_high"].replace(np.inf, 0).max()
    assert sum(len(x) for x, _ in drawn(ax).values()) == len(odd)  # its point is drawn too
    fig = plot_comparison(odd, backend="plotly")
    fig.to_json()  # no infinity reaches the page
    custom = np.concatenate([np.asarray(t.customdata) for t in fig.data if t.mode == "markers"])
    assert "∞" in custom[:, 6]


def test_a_flagged_row_has_an_open_marker_and_a_mark_by_its_name(result):
    flagged = result.assign(reliable=True, note="")
    flagged.loc["duration_ms", ["reliable", "note"]] = [False, "too few sessions in a"]
    ax = plot_comparison(flagged, values=False)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.endswith(" ⚠") for label in labels] == list(flagged.index == "duration_ms")
    assert labels[0].lstrip("* ") == "total_cost"  # values=False: the name only
    (open_marker,) = [c for c in ax.collections if isinstance(c, PathCollection)]  # not the error bars
    assert np.allclose(open_marker.get_offsets()[:, 0], flagged.loc["duration_ms", "ratio"])
    assert "flagged as unreliable" in ax.get_xlabel()
    fig = plot_comparison(flagged, backend="plotly")
    hovers = np.concatenate([np.asarray(t.customdata) for t in fig.data if t.mode == "markers"])
    assert any("too few sessions in a" in str(h) for h in hovers[:, 11])
