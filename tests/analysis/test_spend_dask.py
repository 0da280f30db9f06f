"""Spend anomalies and forecasts on Dask (a frame and a store, on a real LocalCluster) equal pandas."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import four_commit_store

from orq_nb.analysis.spend.anomalies import spend_anomalies
from orq_nb.analysis.spend.forecast import spend_forecast
from orq_nb.testing import generate_sessions

distributed = pytest.importorskip("distributed", reason="the test extra installs dask and distributed")
dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    records = generate_sessions(3000, seed=23)
    records[5]["tags"] = []
    records[6]["tags"] = ["rag", "rag", "voice"]  # a tag twice in one session
    return four_commit_store(tmp_path_factory.mktemp("spend") / "s.delta", records)


@pytest.fixture(scope="module")
def frames(store):
    pdf = store.to_pandas()
    with dask.config.set({"dataframe.convert-string": False}):  # keep the tags as lists
        ddf = dd.from_pandas(pdf, npartitions=4)
    return pdf, ddf


@pytest.mark.parametrize("by", [None, "tag", "project_id"])
@pytest.mark.parametrize("metric", ["total_cost", "cost_per_session", "median_duration_s"])
def test_anomalies_on_dask_equal_pandas(frames, cluster_client, by, metric):
    pdf, ddf = frames
    want = spend_anomalies(pdf, by=by, metric=metric)
    got = spend_anomalies(ddf, by=by, metric=metric)
    pd.testing.assert_frame_equal(got, want, rtol=1e-9)
    assert got.attrs == want.attrs


def test_a_store_is_read_through_its_dask_frame(store, frames, cluster_client):
    pdf, _ = frames
    kwargs = {"by": "tag", "metric": "sessions", "start": "2026-09-01"}
    pd.testing.assert_frame_equal(spend_anomalies(store, **kwargs), spend_anomalies(pdf, **kwargs), rtol=1e-9)


@pytest.mark.parametrize("by", [None, "tag", "project_id"])
def test_forecast_on_dask_and_a_store_equals_pandas(store, frames, cluster_client, by):
    pdf, ddf = frames
    as_of = "2026-10-17T06:00Z"
    want = spend_forecast(pdf, by=by, as_of=as_of)
    pd.testing.assert_frame_equal(spend_forecast(ddf, by=by, as_of=as_of), want, rtol=1e-9)
    pd.testing.assert_frame_equal(spend_forecast(store, by=by, as_of=as_of), want, rtol=1e-9)
