"""Session data never leaves for a third party: no plotly figure orq_nb builds offers to upload it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import orq_nb
from orq_nb.explore.no_cloud import CLOUD_BUTTONS, CLOUD_CONFIG

SAMPLE = orq_nb.load_sample()


def figures():
    """Every plotly figure the package returns, in each of its modes."""
    tagless = SAMPLE.head(50).assign(tags=[[] for _ in range(50)])
    missing = SAMPLE.head(200).copy()
    missing.loc[missing.index[:20], "total_cost"] = np.nan
    for name, df, options in [
        ("sample by tag", SAMPLE, {}), ("by project", SAMPLE, {"color_by": "project_id"}),
        ("uncoloured", SAMPLE, {"color_by": None}), ("sampled", SAMPLE, {"max_points": 100}),
        ("highlighted", SAMPLE, {"highlight": SAMPLE["id"].head(5)}), ("linear", missing, {"log_y": False}),
        ("empty", SAMPLE.iloc[:0], {}), ("tagless", tagless, {}),
    ]:
        yield f"plot_duration_vs_cost {name}", orq_nb.plot_duration_vs_cost(df, backend="plotly", **options)
    compared = orq_nb.compare_cohorts(SAMPLE, "prompt-v2", "prompt-v1", method="welch")
    yield "plot_comparison cohorts", orq_nb.plot_comparison(compared, backend="plotly")
    yield "plot_comparison tags", orq_nb.plot_comparison(orq_nb.compare_tags(SAMPLE, method="welch"),
                                                         backend="plotly")
    found = orq_nb.spend_anomalies(SAMPLE, by="project_id")
    yield "plot_spend", orq_nb.plot_spend(found, backend="plotly")
    forecast = orq_nb.spend_forecast(SAMPLE, by="project_id", as_of="2026-10-20")
    explained = orq_nb.explain_change(SAMPLE, {"end": "2026-10-20"}, {"start": "2026-10-20"}, by="project_id")
    yield "plot_change", orq_nb.plot_change(explained, backend="plotly")
    yield "plot_spend with a forecast", orq_nb.plot_spend(found, forecast=forecast, backend="plotly")


@pytest.mark.parametrize(("name", "fig"), list(figures()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_plotly_figure_removes_the_upload_buttons(name, fig):
    removed = fig.to_dict()["layout"]["modebar"]["remove"]
    assert set(CLOUD_BUTTONS) <= set(removed), name
    assert json.loads(fig.to_json())["layout"]["modebar"]["remove"] == removed  # it travels with the figure


def test_the_explorers_plot_turns_the_upload_off_in_layout_and_config():
    explorer = orq_nb.explore(SAMPLE)
    widget = explorer.plot.widget
    assert set(CLOUD_BUTTONS) <= set(widget.figure["layout"]["modebar"]["remove"])
    assert {k: widget.config[k] for k in CLOUD_CONFIG} == CLOUD_CONFIG
    assert set(CLOUD_BUTTONS) <= set(widget.config["modeBarButtonsToRemove"])
