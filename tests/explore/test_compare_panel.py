"""The explorer's compare panel, driven from code: the selection, a tag or a project against the rest or
another; the same answer as compare_cohorts; errors said in the panel, never raised from a click; a table
with each ratio's interval and adjusted p, a flagged row's note, and a forest plot drawn at its shown size."""

from __future__ import annotations

import io

import matplotlib.text
import numpy as np
import pandas as pd
import pytest

import orq_nb
from orq_nb.analysis.compare.comparison import compare_cohorts
from orq_nb.analysis.filters import filter_sessions
from orq_nb.explore.compare_panel import (
    DPI,
    PLOT_WIDTH,
    comparison_html,
    comparison_table,
    forest_figure,
    forest_png,
)


@pytest.fixture(scope="module")
def sample():
    return orq_nb.load_sample()


def test_the_selection_against_the_rest_of_what_is_shown(sample):
    explorer = orq_nb.explore(sample)
    explorer.tag_filter.tags.value = ["production"]
    picked = explorer.select_box(duration=(100, float("inf")), cost=(0.01, float("inf")))
    result = explorer.compare()
    shown = filter_sessions(sample, tags="production").reset_index(drop=True)
    want = compare_cohorts(shown, shown["id"].isin(picked["id"]).to_numpy(), random_state=0)
    pd.testing.assert_frame_equal(result, want)
    assert result.loc["total_cost", "n_a"] == shown["id"].isin(picked["id"]).sum()  # only the shown ones
    assert "the selection against the rest, among the sessions shown" in explorer.compare_panel.status.value
    assert explorer.compare_panel.result is result
    outputs = explorer.compare_panel.plot.outputs  # the forest plot drawn under the table
    assert len(outputs) == 1 and "image/png" in outputs[0]["data"]
    shown = explorer.compare_panel.table.value
    assert "<table>" in shown and "total_cost" in shown


def test_a_tag_against_another_finds_the_real_difference_and_not_the_null_one(sample):
    explorer = orq_nb.explore(sample)
    panel = explorer.compare_panel
    panel.kind_a.value, panel.value_a.value = "tag", "prompt-v2"
    panel.kind_b.value, panel.value_b.value = "tag", "prompt-v1"
    real = explorer.compare(metrics=["total_cost"])
    assert real.loc["total_cost", "ratio_high"] < 1 and real.loc["total_cost", "p_adjusted"] < 0.05
    panel.value_a.value = "prompt-v3"
    null = explorer.compare(metrics=["total_cost"])
    low, high = null.loc["total_cost", ["ratio_low", "ratio_high"]]
    assert low < 1 < high


def test_a_project_cohort_and_the_choices_follow_the_frame(sample):
    explorer = orq_nb.explore(sample)
    panel = explorer.compare_panel
    panel.kind_a.value = "project"
    assert panel.value_a.layout.display is None and "support-bot" in panel.value_a.options
    panel.value_a.value = "support-bot"
    result = explorer.compare(metrics=["duration_ms"], method="welch")
    assert result.loc["duration_ms", "n_a"] == (sample["project_id"] == "support-bot").sum()
    assert result.loc["duration_ms", "method"].startswith("welch")


def test_nothing_selected_or_overlapping_cohorts_are_said_in_the_panel(sample):
    explorer = orq_nb.explore(sample)
    panel = explorer.compare_panel
    with pytest.raises(ValueError, match="no shown session is selected"):
        explorer.compare()
    panel.button.click()  # a click says it instead of raising
    assert "no shown session is selected" in panel.status.value
    panel.kind_a.value, panel.value_a.value = "tag", "production"
    panel.kind_b.value, panel.value_b.value = "tag", "rag"
    panel.button.click()
    assert "both" in panel.status.value.lower() and panel.result is None


def test_the_table_reads_as_a_sentence(sample):
    explorer = orq_nb.explore(sample)
    explorer.select(sample["id"].head(300))
    result = explorer.compare(metrics=["total_cost", "cost_per_1k_tokens"])
    shown = explorer.compare_panel.table.value
    assert "ratio a/b [95% interval]" in shown and "p adjusted" in shown and "a vs b" in shown
    for row in comparison_table(result).itertuples(index=False):
        assert f">{row[2]}</td>" in shown and f">{row[3]}</td>" in shown  # ratio [interval], p adjusted
        assert f"title='method: {row.method}'" in shown  # the method is the row's tooltip
    assert np.isfinite(explorer.compare_panel.result["ratio"]).all()


@pytest.fixture(scope="module")
def result(sample):
    return compare_cohorts(sample, "prompt-v2", "prompt-v1", method="welch")


def test_ratio_and_interval_in_one_cell_and_p_adjusted_beside_it(result):
    table = comparison_table(result)
    assert list(table.columns[:6]) == ["metric", "n a / b", "ratio [interval]", "p adjusted", "a", "b"]
    row = result.loc["total_cost"]
    want = f"{row['ratio']:#.3g} [{row['ratio_low']:#.3g}, {row['ratio_high']:#.3g}]"
    assert table.loc[0, "ratio [interval]"] == want  # 0.651 [0.558, 0.762]
    assert table.loc[0, "n a / b"] == f"{row['n_a']:,} / {row['n_b']:,}"
    assert table.loc[0, "a"].startswith("$") and table.loc[1, "a"].endswith(" s")  # dollars, seconds
    assert table.loc[0, "p adjusted"] in ("<0.0001", f"{row['p_adjusted']:.2g}")
    assert not table["flagged"].any() and (table["note"] == "").all()


def test_an_unbounded_interval_reads_infinity_and_a_missing_one_says_why(result):
    odd = result.copy()
    odd.loc["traces_count", "ratio_high"] = np.inf  # a Fieller interval unbounded above
    odd.loc["cost_per_1k_tokens", ["ratio_low", "ratio_high", "p_value", "p_adjusted"]] = np.nan
    odd.loc["cost_per_1k_tokens", "method"] = "none: all values equal within each cohort"
    table = comparison_table(odd).set_index("metric")
    low = odd.loc["traces_count", "ratio_low"]
    assert table.loc["traces_count", "ratio [interval]"].endswith(f"[{low:#.3g}, ∞]")
    ratio = odd.loc["cost_per_1k_tokens", "ratio"]
    assert table.loc["cost_per_1k_tokens", "ratio [interval]"] == f"{ratio:#.3g}"
    assert table.loc["cost_per_1k_tokens", "p adjusted"] == "n/a"
    assert table.loc["cost_per_1k_tokens", "note"] == "no interval: all values equal within each cohort"
    shown = comparison_html(odd)
    assert "∞]" in shown and "cost_per_1k_tokens: no interval: all values equal within each cohort" in shown
    assert forest_png(odd)[:8] == b"\x89PNG\r\n\x1a\n"  # drawn, never a crash


def test_a_flagged_row_is_marked_and_shows_its_note(result):
    flagged = result.assign(reliable=True, note="")
    why = "12 sessions in a: too few for a mean of costs this skewed"
    flagged.loc["total_cost", ["reliable", "note"]] = [False, why]
    table = comparison_table(flagged).set_index("metric")
    assert table.loc["total_cost", "flagged"] and table.loc["total_cost", "note"] == why
    assert not table.drop("total_cost")["flagged"].any() and (table.drop("total_cost")["note"] == "").all()
    shown = comparison_html(flagged)
    assert "<td class='orq-metric'>⚠ total_cost</td>" in shown and "<tr class='orq-flagged'" in shown
    assert f"⚠ total_cost: {why}</td>" in shown and shown.count("⚠") == 2  # the marker and the note
    without_reason = flagged.assign(note="")  # a flag without words still says it is flagged
    assert "flagged" in comparison_table(without_reason).set_index("metric").loc["total_cost", "note"]


def test_the_forest_plot_is_drawn_at_the_size_it_is_shown_with_labels_of_11_px_or_more(result):
    png = forest_png(result)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    figure = forest_figure(result)
    assert (width, height) == tuple(round(v * DPI) for v in figure.get_size_inches())
    assert width == PLOT_WIDTH  # shown at its natural size: no downscaling (the browser test checks that)
    figure.savefig(io.BytesIO(), format="png", dpi=DPI)  # drawn: every tick label made
    texts = [t for t in figure.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    assert any(t.get_text().lstrip("* ") == "total_cost" for t in texts)  # names only: the table has values
    assert any(t.get_text() == "1" for t in texts) and any("ratio a / b" in t.get_text() for t in texts)
    sizes = {t.get_text(): t.get_fontsize() * DPI / 72 for t in texts}
    assert min(sizes.values()) >= 11, sizes
