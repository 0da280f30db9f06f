"""The explorer's compare panel, driven from code: the selection, a tag or a project against the rest or
another; the same answer as compare_cohorts; errors said in the panel, never raised from a click."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import orq_nb
from orq_nb.analysis.compare import compare_cohorts
from orq_nb.analysis.filters import filter_sessions


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
    outputs = explorer.compare_panel.plot.outputs  # the forest plot drawn beside the table
    assert len(outputs) == 1 and "image/png" in outputs[0]["data"]


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
    explorer.compare(metrics=["total_cost", "cost_per_1k_tokens"])
    table = explorer.compare_panel.table
    data = table._dt_args if hasattr(table, "_dt_args") else {}
    assert "ratio a/b" in str(data) and "interval" in str(data)
    assert np.isfinite(explorer.compare_panel.result["ratio"]).all()
