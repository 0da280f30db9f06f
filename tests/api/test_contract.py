"""The contract with the real API: every body orq_nb sends is one the official SDK's request models take
(and would send the same), and every answer the fake server gives is one its response models take."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pydantic
import pytest

import orq_nb
from orq_nb.testing import FakeOrqServer, generate_sessions

sdk = pytest.importorskip("orq_ai_sdk.models", reason="the test extra installs orq-ai-sdk")

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
REQUESTS = {"/v2/sessions/query": sdk.ListThreadsRequest, "/v2/sessions/count": sdk.GetThreadCountRequest}
ANSWERS = {"/v2/sessions/query": sdk.ListThreadsResponse, "/v2/sessions/count": sdk.GetThreadCountResponse}


def sdk_form(model: type, body: dict) -> dict:
    """``body`` as the SDK's model reads it and would send it again (it drops what it does not know)."""
    return json.loads(model.model_validate(body).model_dump_json(by_alias=True))


def check_exchanges(fake: FakeOrqServer) -> int:
    """Validate every logged request with the SDK's request model and every answer with its response
    model; return how many exchanges were checked."""
    checked = 0
    for ex in fake.exchanges:
        assert ex.status < 400, f"{ex.method} {ex.path} was refused: {ex.answer_json()}"
        body, answer = ex.request_json(), ex.answer_json()
        if ex.path in REQUESTS:
            assert sdk_form(REQUESTS[ex.path], body) == body, f"the SDK would send {ex.path} otherwise"
            ANSWERS[ex.path].model_validate(answer)
        elif ex.method == "PATCH":
            assert sdk_form(sdk.UpdateThreadRequest, body) == body, "the SDK would send the update otherwise"
            sdk.Thread.model_validate(answer)
        elif ex.method == "GET" and ex.path == "/v2/sessions/tags":
            pydantic.TypeAdapter(list[str]).validate_python(answer)
        elif ex.method == "GET":
            sdk.Thread.model_validate(answer)
        elif ex.method == "DELETE":
            assert body is None and ex.status == 204
        checked += 1
    return checked


@pytest.fixture
def fake():
    with FakeOrqServer(generate_sessions(600, seed=11, end=NOW, days=60), now=NOW) as server:
        yield server


@pytest.fixture
def client(fake):
    return orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, page_size=100, backoff=0.01)


WINDOWS = [
    {},
    {"interval": "last_7_days"},
    {"interval": "SESSION_INTERVAL_LAST_3_MONTHS"},
    {"start": "2026-10-15"},
    {"end": dt.datetime(2026, 10, 20, tzinfo=dt.UTC)},
    {"start": "2026-10-01", "end": "2026-10-20T12:00:00+02:00"},
    {"interval": "last_1_month", "start": "2026-10-10"},
]
FILTERS = [
    {},
    {"project_id": "support-bot"},
    {"tags": "voice"},
    {"tags": ["voice", "rag"]},
    {"kind": "coding_agent"},
    {"kind": "THREAD_KIND_CONVERSATION"},
    {"client": "cursor", "repo": "acme/web"},
]


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: ",".join(w) or "no window")
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "no filter")
def test_list_and_count_bodies_are_the_sdks(fake, client, window, filters):
    count = client.count_sessions(**filters, **window)
    df = client.query_sessions(**filters, **window, progress=False)
    assert len(df) == count
    assert check_exchanges(fake) >= 2


def test_a_custom_window_is_all_time_with_unix_millisecond_strings(fake, client):
    client.count_sessions(start="2026-10-15", end="2026-10-16")
    sent = fake.exchanges[-1].request_json()["filters"]
    assert sent == {"interval": "SESSION_INTERVAL_ALL_TIME", "start_date": "1792022400000",
                    "end_date": "1792108800000"}


def test_unspecified_is_no_interval_a_user_may_pass(client):
    with pytest.raises(ValueError, match="unknown interval 'unspecified'"):
        client.count_sessions(interval="unspecified")


@pytest.mark.parametrize("filters", [
    {"interval": "SESSION_INTERVAL_UNSPECIFIED"},
    {"interval": "SESSION_INTERVAL_LAST_2_DAYS"},
    {"interval": "SESSION_INTERVAL_ALL_TIME", "start_date": 1792022400000},
    {"interval": "SESSION_INTERVAL_ALL_TIME", "kind": "THREAD_KIND_ROBOT"},
    {"interval": "SESSION_INTERVAL_ALL_TIME", "tags": "voice"},
])
def test_the_fake_refuses_what_the_sdk_refuses(fake, filters):
    with pytest.raises(pydantic.ValidationError):
        sdk.ListThreadsRequest.model_validate({"filters": filters})
    transport = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)._http
    for path in REQUESTS:
        with pytest.raises(orq_nb.errors.OrqAPIError) as error:
            transport.request("POST", path, {"filters": filters, "limit": 10, "page": 1})
        assert error.value.status == 400


def test_a_sync_and_its_incremental_window_speak_the_sdks_form(fake, client, tmp_path):
    pytest.importorskip("deltalake", reason="the test extra installs deltalake")
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.sync(client, progress=False)
    some = fake.sessions()[0]["_id"]
    client.update_session(some, tags=["synced-again"])
    fake.exchanges.clear()
    report = store.sync(client, progress=False)
    assert report.updated >= 1
    windows = [ex.request_json()["filters"] for ex in fake.exchanges if ex.path in REQUESTS]
    assert windows and all(w["interval"] == "SESSION_INTERVAL_ALL_TIME" and w["start_date"].isdigit()
                           for w in windows if "start_date" in w)
    assert any("start_date" in w for w in windows), "the incremental sync sends its watermark window"
    assert check_exchanges(fake) == len(fake.exchanges)


def test_updates_clears_relabelling_and_deletes_speak_the_sdks_form(fake, client):
    ids = [r["_id"] for r in fake.sessions()[:6]]
    client.update_session(ids[0], tags=("reviewed",), title="checked", duration_ms=1200.5, traces_count=4.0,
                          billing={"inputCost": 0.1, "output_cost": 0.2, "total_cost": 0.3},
                          usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                          started_at=dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC), kind="coding_agent",
                          project_id="support-bot", contact_ids=["c1"], external_id="t-1", client="cursor",
                          repo="acme/web")
    client.update_session(ids[1], clear_tags=True, clear_contact_ids=True)
    client.tag_sessions(ids[2:5], add=["triaged"], remove=["voice"], progress=False)
    client.get_session(ids[2])
    client.session_tags()
    client.delete_session(ids[5])
    sent = [ex.request_json() for ex in fake.exchanges if ex.method == "PATCH"]
    assert sent[0]["traces_count"] == 4 and type(sent[0]["traces_count"]) is int
    assert sent[0]["kind"] == "THREAD_KIND_CODING_AGENT"
    assert sent[1] == {"clear_tags": True, "clear_contact_ids": True}
    assert check_exchanges(fake) == len(fake.exchanges) >= 9


@pytest.mark.parametrize(("fields", "error", "match"), [
    ({"kind": "coding_agent_v9"}, ValueError, "unknown kind 'coding_agent_v9'"),
    ({"traces_count": 2.5}, ValueError, "traces_count must be a whole number"),
    ({"traces_count": "2"}, TypeError, "traces_count must be a whole number"),
    ({"usage": {"prompt_tokens": 1.5, "completion_tokens": 1, "total_tokens": 2.5}}, ValueError,
     "usage.prompt_tokens must be a whole number"),
    ({"workspace_id": "w1"}, TypeError, "cannot update 'workspace_id'"),
    ({"id": "s2"}, TypeError, "cannot update 'id'"),
    ({"project_id": None}, ValueError, "project_id=None would not clear project_id"),
    ({"tags": None}, ValueError, "clear_tags=True clears them"),
    ({"clear_tags": "yes"}, TypeError, "clear_tags must be True or False"),
    ({"duration_ms": -1}, ValueError, "invalid update"),
])
def test_updates_the_sdk_would_refuse_or_drop_are_refused_before_any_request(fake, client, fields, error,
                                                                             match):
    target = fake.sessions()[0]["_id"]
    fake.requests.clear()
    with pytest.raises(error, match=match):
        client.update_session(target, **fields)
    assert fake.requests == []


@pytest.mark.parametrize("body", [
    {"kind": "THREAD_KIND_ROBOT"}, {"traces_count": 2.5}, {"project_id": None}, {"workspace_id": "w"},
    {"clear_tags": True, "tags": ["a"]}, {"billing": {"input_cost": 1}},
])
def test_the_fake_refuses_update_bodies_orq_nb_never_sends(fake, body):
    transport = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)._http
    with pytest.raises(orq_nb.errors.OrqAPIError) as error:
        transport.request("PATCH", "/v2/sessions/" + fake.sessions()[0]["_id"], body)
    assert error.value.status == 400


def test_what_the_sdk_hands_out_loads(fake):
    client = pytest.importorskip("orq_ai_sdk").Orq(api_key=fake.api_key, server_url=fake.url)
    page = client.sessions.list(filters={"interval": "SESSION_INTERVAL_ALL_TIME"}, limit=100, page=1)
    served = {r["_id"]: r for r in fake.sessions()}
    expected = orq_nb.sessions_frame([served[t.id] for t in page.data]).drop(columns="workspace_id")
    dumps = [t.model_dump(by_alias=True) for t in page.data]  # aware datetimes, not strings
    for given in (page, page.data, [page], iter(page.data), dumps):
        df = orq_nb.sessions_frame(given)
        assert df.dtypes.to_dict() == orq_nb.schemas.DTYPES
        pd.testing.assert_frame_equal(df.drop(columns="workspace_id"), expected)
    one = client.sessions.get(session_id=page.data[0].id)
    assert orq_nb.sessions_frame(one)["id"].tolist() == [page.data[0].id]
