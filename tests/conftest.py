"""Shared records: the reference's seed example and a wire-form session."""

from __future__ import annotations

import copy

import pytest

#: The seed example of the API reference (Node SDK shape), verbatim.
SEED = {
    "id": "<id>", "externalId": "<id>", "duration": 5045.15, "contactIds": ["<value>"],
    "billing": {"inputCost": 5555.25, "outputCost": 4733.47, "totalCost": 1894.97},
    "usage": {"promptTokens": 6845.06, "completionTokens": 3268.46, "totalTokens": 2326.57},
    "tracesCount": 9869.92, "tags": ["<value>"], "workspaceId": "<id>",
}

WIRE = {
    "_id": "ses_1", "external_id": "thread_1", "duration": 1500, "contact_ids": ["c1", "c2"],
    "billing": {"input_cost": 0.01, "output_cost": 0.02, "total_cost": 0.03},
    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
    "traces_count": 3, "tags": ["rag", "prod"], "project_id": "p1",
    "started_at": "2026-10-01T12:00:00Z", "updated_at": "2026-10-01T12:00:01.5+00:00",
    "title": "hello", "client": None, "repo": None, "kind": "THREAD_KIND_CONVERSATION",
}


@pytest.fixture
def seed() -> dict:
    return copy.deepcopy(SEED)


@pytest.fixture
def wire() -> dict:
    return copy.deepcopy(WIRE)


def session(i: int, **changes) -> dict:
    """A valid wire-form record with id ``s{i}``, changed as given."""
    record = copy.deepcopy(WIRE)
    record.update(_id=f"s{i}", external_id=f"t{i}", **changes)
    return record


@pytest.fixture(scope="session")
def cluster_client():
    """A real distributed cluster, two worker processes of 1 GiB, shared by every Dask test of the run."""
    distributed = pytest.importorskip("distributed", reason="the test extra installs dask and distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  memory_limit="1GiB") as cluster, distributed.Client(cluster) as client:
        yield client


def four_commit_store(path, records: list[dict]):
    """A SessionStore of ``records`` written in four commits: four files, four Dask partitions."""
    import orq_nb

    store = orq_nb.SessionStore(path)
    step = -(-len(records) // 4)
    for start in range(0, len(records), step):
        store.write(orq_nb.sessions_frame(records[start : start + step]))
    return store


@pytest.fixture(autouse=True)
def _close_figures():
    """Plots made without ``ax`` are pyplot figures: close them after each test."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
