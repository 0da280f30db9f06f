"""FakeOrqServer's fidelity, checked by the official client (orq-ai-sdk)."""

from __future__ import annotations

import pytest

from orq_nb.testing import FakeOrqServer

orq_ai_sdk = pytest.importorskip("orq_ai_sdk", reason="the test extra installs orq-ai-sdk")


@pytest.fixture(scope="module")
def sdk():
    with FakeOrqServer() as fake:
        yield fake, orq_ai_sdk.Orq(api_key=fake.api_key, server_url=fake.url)


def test_official_client_lists_pages_and_counts(sdk):
    fake, client = sdk
    filters = {"interval": "SESSION_INTERVAL_LAST_7_DAYS"}
    count = client.sessions.get_count(filters=filters).count
    seen, page = [], 1
    while True:
        answer = client.sessions.list(filters=filters, limit=100, page=page)
        assert answer.object == "list"
        seen += [t.id for t in answer.data]
        if not answer.has_more:
            break
        page += 1
    assert count == len(seen) == len(set(seen)) > 100
    tagged = client.sessions.list(filters={"interval": "SESSION_INTERVAL_ALL_TIME", "tags": ["voice"]},
                                  limit=50, page=1)
    assert tagged.data and all("voice" in t.tags for t in tagged.data)


def test_official_client_reads_tags_and_one_session(sdk):
    fake, client = sdk
    tags = client.sessions.list_tags()
    assert "production" in tags and len(tags) >= 12
    one = fake.sessions()[0]
    got = client.sessions.get(session_id=one["_id"])
    assert (got.id, got.external_id) == (one["_id"], one["external_id"])
    assert got.traces_count == one["traces_count"]
    assert got.billing.total_cost == one["billing"]["total_cost"]


def test_official_client_updates_and_deletes(sdk):
    fake, client = sdk
    target = fake.sessions()[1]["_id"]
    updated = client.sessions.update(session_id=target, tags=["reviewed"], title="checked")
    assert updated.tags == ["reviewed"] and updated.title == "checked"
    client.sessions.delete(session_id=target)
    with pytest.raises(orq_ai_sdk.models.ErrorResponse, match=f"Session {target} not found"):
        client.sessions.get(session_id=target)
