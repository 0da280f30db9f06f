"""The same analysis on Dask: a store read as a Dask frame, on a real LocalCluster with worker processes."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import four_commit_store

import orq_nb
from orq_nb.testing import generate_sessions

distributed = pytest.importorskip("distributed", reason="the test extra installs dask and distributed")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    records = generate_sessions(3000, seed=21)
    records[5]["tags"] = []
    records[6]["tags"] = ["rag", "rag", "voice"]  # a tag twice in one session
    return four_commit_store(tmp_path_factory.mktemp("dask") / "s.delta", records)


def by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("id", ignore_index=True)


def test_to_dask_has_the_frame_layout_and_rows(store, cluster_client):
    ddf = store.to_dask()
    assert ddf.npartitions == 4
    assert ddf.dtypes.to_dict() == orq_nb.schemas.DTYPES
    pd.testing.assert_frame_equal(by_id(ddf.compute()), by_id(store.to_pandas()))
    assert list(store.to_dask(columns=["total_cost", "id"]).columns) == ["id", "total_cost"]


@pytest.mark.parametrize("kwargs", [
    {"tags": ["rag"]}, {"tags": ["rag", "voice"], "match": "all"}, {"tags": "rag", "exclude_tags": ["voice"]},
    {"projects": ["support-bot", None]}, {"start": "2026-09-01", "end": "2026-10-01"}, {"tags": ["nope"]},
])
def test_filters_on_dask_equal_pandas(store, cluster_client, kwargs):
    pdf, ddf = store.to_pandas(), store.to_dask()
    got = orq_nb.filter_sessions(ddf, **kwargs)
    assert type(got).__module__.startswith("dask")  # lazy until computed
    if kwargs.get("tags") == ["nope"]:  # pandas names the tag no session has, as it should
        with pytest.warns(orq_nb.errors.UnknownTagWarning, match="no session has the tag 'nope'"):
            want = orq_nb.filter_sessions(pdf, **kwargs)
    else:
        want = orq_nb.filter_sessions(pdf, **kwargs)
    pd.testing.assert_frame_equal(by_id(got.compute()), by_id(want))


def test_summaries_on_dask_equal_pandas(store, cluster_client):
    pdf, ddf = store.to_pandas(), store.to_dask()
    pd.testing.assert_series_equal(orq_nb.tag_counts(ddf), orq_nb.tag_counts(pdf))
    pd.testing.assert_frame_equal(orq_nb.cost_by_tag(ddf), orq_nb.cost_by_tag(pdf), rtol=1e-9)
    pd.testing.assert_frame_equal(orq_nb.daily_summary(ddf), orq_nb.daily_summary(pdf), rtol=1e-9)
    window = {"start": "2026-08-01", "end": "2026-09-15"}  # starts before the data: empty days first
    pd.testing.assert_frame_equal(orq_nb.daily_summary(ddf, **window), orq_nb.daily_summary(pdf, **window),
                                  rtol=1e-9)
    exploded = orq_nb.explode_tags(ddf).compute()
    want = orq_nb.explode_tags(pdf)
    key = ["id", "tag"]
    pd.testing.assert_frame_equal(exploded.sort_values(key, ignore_index=True, na_position="first"),
                                  want.sort_values(key, ignore_index=True, na_position="first"))
