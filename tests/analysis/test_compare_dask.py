"""Cohort comparison on Dask (a store and a frame, on a real LocalCluster) equals pandas' Welch to 1e-9."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import four_commit_store

import orq_nb
from orq_nb.analysis.compare.comparison import COLUMNS, compare_cohorts, compare_tags
from orq_nb.testing import generate_sessions

distributed = pytest.importorskip("distributed", reason="the test extra installs dask and distributed")
dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    records = generate_sessions(3000, seed=21)
    return four_commit_store(tmp_path_factory.mktemp("compare") / "s.delta", records)


@pytest.fixture(scope="module")
def frames(store):
    return store.to_pandas(), store.to_dask()


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == COLUMNS and got.index.equals(want.index)
    assert (got["method"] == want["method"]).all()
    np.testing.assert_array_equal(got[["n_a", "n_b"]], want[["n_a", "n_b"]])
    numbers = COLUMNS[2:12]
    np.testing.assert_allclose(got[numbers].to_numpy(float), want[numbers].to_numpy(float), rtol=1e-9, atol=0)
    # The same reliability flags and notes: the skewness and effective contacts agree to 1e-9 too.
    assert (got["reliable"] == want["reliable"]).all() and (got["note"] == want["note"]).all()


@pytest.mark.parametrize("kwargs", [
    {"a": "gpt-4o", "b": "gpt-4o-mini"},
    {"a": "rag"},
    {"a": {"projects": ["support-bot"], "start": "2026-09-01"}, "b": {"projects": ["sales-assistant", None]}},
    {"a": {"tags": ["rag", "voice"], "match": "all"}, "b": {"exclude_tags": ["rag"]}},
    {"a": "gpt-4o", "cluster": "contact_ids"},
    {"a": "claude-sonnet", "winsorize": 0.99},
    {"a": "gpt-4o", "confidence": 0.8, "cluster": "contact_ids", "winsorize": 0.999},
])
def test_dask_welch_equals_pandas(frames, cluster_client, kwargs):
    pdf, ddf = frames
    got = compare_cohorts(ddf, **kwargs)
    want = compare_cohorts(pdf, method="welch", **kwargs)
    assert got["method"].str.startswith("welch").all()  # the default on Dask
    assert_same(got, want)
    caps = want.attrs["orq_nb"].get("caps", {})
    assert got.attrs["orq_nb"].get("caps", {}) == pytest.approx(caps, rel=1e-12)


def test_dask_mask_cohorts_and_missing_values(cluster_client):
    sample = orq_nb.load_sample()
    sample = sample.assign(duration_ms=sample["duration_ms"].where(np.arange(len(sample)) % 7 > 0))
    with dask.config.set({"dataframe.convert-string": False}):  # keep the tags as lists
        ddf = dd.from_pandas(sample, npartitions=4)
    got = compare_cohorts(ddf, ddf["total_tokens"] > 2000, ddf["total_tokens"] < 1000)
    want = compare_cohorts(sample, sample["total_tokens"] > 2000, sample["total_tokens"] < 1000,
                           method="welch")
    assert_same(got, want)
    assert got.loc["duration_ms", "n_a"] < got.loc["total_cost", "n_a"]
    assert got.attrs["orq_nb"]["a"] == want.attrs["orq_nb"]["a"]
    with pytest.raises(TypeError, match="Dask Series"):
        compare_cohorts(ddf, (sample["total_tokens"] > 2000).to_numpy())


def test_dask_compare_tags_equals_pandas(frames, cluster_client):
    pdf, ddf = frames
    got = compare_tags(ddf, metric="cost_per_1k_tokens")
    want = compare_tags(pdf, metric="cost_per_1k_tokens", method="welch")
    assert got.index.name == "tag"
    assert_same(got, want.loc[got.index])
    assert list(got.index) == list(want.index)


def test_dask_refuses_what_needs_the_bootstrap(frames, cluster_client):
    _, ddf = frames
    with pytest.raises(ValueError, match="median"):
        compare_cohorts(ddf, "rag", statistic="median")
    with pytest.raises(ValueError, match="bootstrap"):
        compare_cohorts(ddf, "rag", method="bootstrap")
    with pytest.raises(ValueError, match="sessions are in both cohorts"):
        compare_cohorts(ddf, "rag", "voice")
    with pytest.raises(ValueError, match="cohort a is empty"):
        compare_cohorts(ddf, "no-such-tag")
