"""The drill-down speaks the SDK's form: every body valid by its request models, every answer by its
response models, what the SDK hands out loads, and the fake refuses what the SDK refuses."""

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


def _times(value):
    """Times as instants, so that ``...00.000Z`` and pydantic's ``...00Z`` compare equal."""
    if isinstance(value, dict):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        return pd.Timestamp(value)
    return value


def sdk_form(model: type, body: dict) -> dict:
    return json.loads(model.model_validate(body).model_dump_json(by_alias=True))


def check_exchanges(fake: FakeOrqServer) -> dict[str, int]:
    """Validate every logged drill-down exchange by the SDK's models; count them by kind."""
    seen = {"search": 0, "spans": 0, "conversation": 0, "report": 0}
    for ex in fake.exchanges:
        assert ex.status < 400, f"{ex.method} {ex.path} was refused: {ex.answer_json()}"
        body, answer = ex.request_json(), ex.answer_json()
        if ex.path == "/v3/traces/search":
            assert _times(sdk_form(sdk.SearchTracesRequest, body)) == _times(body)
            sdk.SearchTracesResponse.model_validate(answer)
            seen["search"] += 1
        elif ex.path.endswith("/spans"):
            query = dict(ex.query)
            request = sdk.TracesListSpansRequest(trace_id=ex.path.split("/")[3], limit=int(query["limit"]),
                                                 page_token=query.get("page_token"))
            assert request.limit == int(query["limit"]) <= 100 and body is None
            sdk.ListTraceSpansResponse.model_validate(answer)
            seen["spans"] += 1
        elif ex.path.endswith("/conversation"):
            sdk.GetTraceConversationResponse.model_validate(answer)
            seen["conversation"] += 1
        elif ex.path == "/v2/reporting":
            assert _times(sdk_form(sdk.QueryReportRequest, body)) == _times(body)
            sdk.QueryReportResponse.model_validate(answer)
            seen["report"] += 1
    return seen


@pytest.fixture(scope="module")
def fake():
    with FakeOrqServer(generate_sessions(150, seed=21, end=NOW, days=20), now=NOW) as server:
        yield server


@pytest.fixture
def client(fake):
    fake.exchanges.clear()
    return orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)


def test_every_drill_down_body_and_answer_is_the_sdks(fake, client):
    sessions = orq_nb.sessions_frame(fake.sessions())
    traces = client.query_traces(sessions)
    client.query_spans(traces.head(30))
    client.conversation(traces["trace_id"][0])
    client.report(start=NOW - dt.timedelta(days=25), end=NOW, group_by=["model", "project"],
                  filters={"provider": "openai"})
    seen = check_exchanges(fake)
    assert seen["search"] >= 1 and seen["spans"] == 30 and seen["conversation"] == 1 and seen["report"] >= 1


def test_what_the_sdk_hands_out_loads_as_our_json_does(fake, client):
    orq = pytest.importorskip("orq_ai_sdk").Orq(api_key=fake.api_key, server_url=fake.url)
    session = fake.sessions()[0]
    threads = [session["_id"], session["external_id"]]
    page = orq.traces.search(from_=NOW - dt.timedelta(days=30), to=NOW,
                             filters=[{"field": "thread_id", "op": "in", "values": threads}], limit=100)
    raw = fake.exchanges[-1].answer_json()
    want = orq_nb.traces_frame(raw)
    assert len(want) == session["traces_count"]
    for given in (page, page.data, [page]):
        pd.testing.assert_frame_equal(orq_nb.traces_frame(given), want)
    spans = orq.traces.list_spans(trace_id=page.data[0].trace_id, limit=100)
    raw = fake.exchanges[-1].answer_json()
    pd.testing.assert_frame_equal(orq_nb.spans_frame(spans), orq_nb.spans_frame(raw))
    conversation = orq.traces.get_conversation(trace_id=page.data[0].trace_id)
    assert conversation.items is not None and len(conversation.items) == len(fake.exchanges[-1].answer_json()[
        "items"])  # the SDK keeps the items but models none of their fields: read them from the JSON
    report = orq.reporting.query(metric="genai.cost", from_=NOW - dt.timedelta(days=30), to=NOW, grain="day")
    assert report.data and all("genai.cost" in (p.metrics or {}) for p in report.data)


@pytest.mark.parametrize("body", [
    {"to": "2026-11-01T00:00:00Z"},  # from is required
    {"from": "2026-10-01T00:00:00Z"},  # to is required
    {"from": "yesterday", "to": "2026-11-01T00:00:00Z"},
    {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z", "filters": [{"field": "thread_id",
                                                                                "op": "in", "values": "x"}]},
    {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z", "limit": "many"},
])
def test_the_fake_refuses_searches_the_sdk_refuses(fake, body):
    with pytest.raises(pydantic.ValidationError):
        sdk.SearchTracesRequest.model_validate(body)
    transport = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)._http
    with pytest.raises(orq_nb.errors.OrqAPIError) as error:
        transport.request("POST", "/v3/traces/search", body)
    assert error.value.status == 400


@pytest.mark.parametrize("body", [
    {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},  # metric is required
    {"metric": "genai.cost", "to": "2026-11-01T00:00:00Z"},
    {"metric": "genai.dollars", "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
    {"metric": "genai.cost", "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z", "grain": "week"},
    {"metric": "genai.cost", "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z",
     "group_by": ["colour"]},
])
def test_the_fake_refuses_reports_the_sdk_refuses(fake, body):
    with pytest.raises(pydantic.ValidationError):
        sdk.QueryReportRequest.model_validate(body)
    transport = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)._http
    with pytest.raises(orq_nb.errors.OrqAPIError) as error:
        transport.request("POST", "/v2/reporting", body)
    assert error.value.status == 400


def test_the_fake_refuses_more_than_the_cap_and_more_values_than_an_in_takes(fake):
    transport = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)._http
    window = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    for path, body in (("/v2/reporting", {"metric": "genai.cost", **window, "limit": 5001}),
                       ("/v3/traces/search", {**window, "filters": [
                           {"field": "thread_id", "op": "in", "values": [str(i) for i in range(101)]}]})):
        with pytest.raises(orq_nb.errors.OrqAPIError) as error:
            transport.request("POST", path, body)
        assert error.value.status == 400
