"""The drill-down: traces, spans, conversations and reports from the fake server, complete or saying not."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

import orq_nb
from orq_nb.errors import ReportTruncatedWarning, TracesIncompleteWarning
from orq_nb.schemas import SPAN_DTYPES, TRACE_DTYPES
from orq_nb.testing import FakeOrqServer, Fault, generate_sessions

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def fake():
    with FakeOrqServer(generate_sessions(300, seed=5, end=NOW, days=30), now=NOW) as server:
        yield server


@pytest.fixture
def client(fake):
    fake.exchanges.clear()
    return orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)


@pytest.fixture(scope="module")
def sessions(fake):
    return orq_nb.sessions_frame(fake.sessions())


def _owner(fake, sessions) -> dict[str, str]:
    """Each served trace's session, from the fake's own data (thread id = the session's id or external id)."""
    by_thread = {**dict(zip(sessions["external_id"], sessions["id"], strict=True)),
                 **{i: i for i in sessions["id"]}}
    fake.traces._build()
    return {t: by_thread[r["thread_id"]] for t, r in fake.traces.traces.items()}


def test_every_trace_of_every_session_comes_back_once_joined_to_its_session(fake, client, sessions):
    traces = client.query_traces(sessions)
    assert traces.dtypes.to_dict() == TRACE_DTYPES
    assert dict(zip(traces["trace_id"], traces["session_id"], strict=True)) == _owner(fake, sessions)
    assert traces["trace_id"].is_unique
    info = traces.attrs["orq_nb"]
    assert info["short"] == [] and info["traces"] == len(traces) == sessions["traces_count"].sum()
    # Few searches, side by side: no more than the workers (or 50 sessions a search), none over 100 values.
    assert info["searches"] <= max(client.max_workers, math.ceil(len(sessions) / 50))
    bodies = [ex.request_json() for ex in fake.exchanges if ex.path == "/v3/traces/search"]
    assert len(bodies) == info["pages"] and all(len(b["filters"][0]["values"]) <= 100 for b in bodies)


def test_session_ids_alone_are_fetched_first(fake, client, sessions):
    ids = sessions["id"].tolist()[:7]
    traces = client.query_traces(ids)
    assert set(traces["session_id"]) == set(ids)
    assert len(traces) == sessions.set_index("id").loc[ids, "traces_count"].sum()


def test_page_tokens_are_followed_to_the_end():
    records = generate_sessions(3, seed=1, end=NOW, days=2, node_share=0)
    for r in records:
        r["traces_count"] = 130
    with FakeOrqServer(records, now=NOW) as fake:
        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url)
        traces = client.query_traces(orq_nb.sessions_frame(records))
    assert len(traces) == 390 and traces["trace_id"].is_unique
    assert traces.attrs["orq_nb"]["chain"] >= 2 and traces.attrs["orq_nb"]["short"] == []


def test_a_shortfall_is_a_warning_naming_how_many_sessions_and_the_frame_lists_them(sessions):
    records = generate_sessions(40, seed=3, end=NOW, days=5)
    with FakeOrqServer(records, now=NOW) as fake:
        fake.traces._build()
        kept = list(fake.traces.traces.values())
        dropped = {kept[0]["thread_id"], kept[-1]["thread_id"]}
        spans = [s for ss in fake.traces.spans.values() for s in ss]
        fake.traces.set([t for t in kept if t["thread_id"] not in dropped], spans)
        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url)
        with pytest.warns(TracesIncompleteWarning, match="2 of 40 sessions came back with fewer traces"):
            traces = client.query_traces(orq_nb.sessions_frame(records))
    frame = orq_nb.sessions_frame(records)
    short = frame[frame["id"].isin(dropped) | frame["external_id"].isin(dropped)]["id"]
    assert sorted(traces.attrs["orq_nb"]["short"]) == sorted(short)


def test_failed_searches_are_retried_and_nothing_is_lost(fake, client, sessions):
    fake.inject(Fault("status", 503, path="/v3/traces/search"), Fault("drop", path="/v3/traces/search"))
    traces = client.query_traces(sessions.head(60))
    assert len(traces) == sessions.head(60)["traces_count"].sum()


def test_spans_add_up_to_their_traces_and_carry_the_session(fake, client, sessions):
    traces = client.query_traces(sessions.head(20))
    spans = client.query_spans(traces)
    assert spans.dtypes.to_dict() == SPAN_DTYPES
    sums = spans.groupby("trace_id")[["prompt_tokens", "completion_tokens", "total_cost"]].sum()
    want = traces.set_index("trace_id").loc[sums.index]
    assert (sums["prompt_tokens"] == want["prompt_tokens"]).all()
    np.testing.assert_allclose(sums["total_cost"], want["total_cost"], rtol=1e-9, atol=1e-12)
    owners = dict(zip(traces["trace_id"], traces["session_id"], strict=True))
    assert (spans["session_id"] == spans["trace_id"].map(owners)).all()
    assert set(spans["trace_id"]) == set(traces["trace_id"])
    by_id = client.query_spans(traces["trace_id"].tolist()[:3])
    assert by_id["session_id"].isna().all() and len(by_id) == (spans["trace_id"].isin(
        traces["trace_id"][:3])).sum()


def test_a_conversation_is_one_row_per_message(fake, client, sessions):
    trace_id = client.query_traces(sessions.head(1))["trace_id"][0]
    talk = client.conversation(trace_id)
    assert talk["role"].iloc[0] == "system" and talk["role"].iloc[-1] == "assistant"
    assert talk["text"].iloc[-1].startswith("Here is what I found") and (talk["trace_id"] == trace_id).all()
    with pytest.raises(orq_nb.errors.OrqNotFoundError):
        client.conversation("no-such-trace")


def test_a_report_is_never_cut_silently(client):
    """The sample's model calls at minute grain are far more than 5,000 rows: the windows split until none
    is full, and the report equals the calls' own sums."""
    with FakeOrqServer() as sample_fake:
        c = orq_nb.OrqClient(api_key=sample_fake.api_key, base_url=sample_fake.url)
        report = c.report(start="2026-08-01", end="2026-11-01", grain="minute", group_by=["model"])
    spans = orq_nb.load_sample("spans").dropna(subset=["model"])
    minutes = spans.assign(time=spans["started_at"].dt.floor("min"))
    own = minutes.groupby(["time", "model"])["total_cost"].sum()
    got = report.set_index(["time", "model"])["genai.cost"]
    assert len(got) == len(own) > 5000 and report.attrs["orq_nb"]["calls"] > 2
    np.testing.assert_allclose(got.loc[own.index], own, rtol=1e-8, atol=1e-12)


def test_a_single_unit_still_full_is_a_warning_not_a_loop(client, monkeypatch):
    import orq_nb.api.reports as reports
    import orq_nb.api.trace_bodies as bodies

    monkeypatch.setattr(bodies, "REPORT_CAP", 1)
    monkeypatch.setattr(reports, "REPORT_CAP", 1)
    with pytest.warns(ReportTruncatedWarning, match="came back full"):
        report = client.report(start="2026-10-20", end="2026-10-23")
    assert report.attrs["orq_nb"]["full"] and report.attrs["orq_nb"]["calls"] >= 3


def test_reconcile_finds_a_planted_gap_and_nothing_else(fake, client):
    spans = client.query_spans(client.query_traces(orq_nb.sessions_frame(fake.sessions())))
    day = spans["started_at"].dt.strftime("%Y-%m-%d").value_counts().index[0]
    fake.traces.report_gaps = {day: 0.8}
    try:
        report = client.report(start=NOW - dt.timedelta(days=40), end=NOW, group_by=["model", "provider"])
    finally:
        fake.traces.report_gaps = {}
    rows = orq_nb.reconcile(spans, report)
    assert set(rows.loc[rows["flagged"], "day"].dt.strftime("%Y-%m-%d")) == {day}
    other = rows["day"].dt.strftime("%Y-%m-%d") != day
    assert rows.loc[other, "gap"].abs().max() < 1e-6  # spans and the report agree to the report's rounding
    assert (rows.loc[rows["flagged"], "gap_pct"] > 20).all()


def test_report_filters_and_groups_reach_the_service(fake, client):
    report = client.report("genai.tokens", start=NOW - dt.timedelta(days=40), end=NOW, group_by="provider",
                           filters={"model": ["gpt-4o", "gpt-4o-mini"]})
    assert set(report["provider"]) == {"openai"} and list(report.columns) == ["time", "provider",
                                                                              "genai.tokens"]
    body = [ex.request_json() for ex in fake.exchanges if ex.path == "/v2/reporting"][-1]
    assert body["filters"] == [{"field": "model", "op": "in", "values": ["gpt-4o", "gpt-4o-mini"]}]
    assert body["time_zone"] == "UTC" and body["limit"] == 5000


def test_nothing_the_drill_down_sends_writes(fake, client, sessions):
    client.query_spans(client.query_traces(sessions.head(5)))
    assert {ex.method for ex in fake.exchanges} <= {"GET", "POST"}
    assert {ex.path.split("/")[1] + "/" + ex.path.split("/")[2] for ex in fake.exchanges} <= {
        "v3/traces", "v2/sessions"}
    assert all(json.dumps(ex.request_json() or {}).find(fake.api_key) < 0 for ex in fake.exchanges)
    assert pd.Series([ex.status for ex in fake.exchanges]).lt(400).all()


def test_a_full_bucket_without_labels_keeps_its_rows_and_says_so():
    """A bucket at the cap whose rows carry no label of the first group is split by the next group; where
    nothing can split it, its rows are kept and a warning says so."""
    from orq_nb.api.reports import fetch_report

    def service(labelled: bool):
        rows = [{"timestamp": "2026-10-01T00:00:00Z", "dimensions": {"project": "p"} if labelled and i < 10
                 else {}, "metrics": {"genai.cost": 1.0}} for i in range(5000)]

        def request(method, path, body):
            spec = (body.get("filters") or [{}])[0]
            if spec.get("op") == "eq":
                return {"data": [r for r in rows if r["dimensions"].get("project") in spec["values"]]}
            if spec.get("op") == "not_in":
                return {"data": [r for r in rows if r["dimensions"].get("project") not in spec["values"]]}
            return {"data": rows[:5000]}

        return request

    groups = ["model", "project"]
    split = fetch_report(service(True), "genai.cost", "2026-10-01", "2026-10-02", "day", groups, [])
    assert len(split) == 5000 and not split.attrs["orq_nb"]["full"] and split.attrs["orq_nb"]["calls"] == 3
    with pytest.warns(ReportTruncatedWarning, match="no label"):
        kept = fetch_report(service(False), "genai.cost", "2026-10-01", "2026-10-02", "day", groups, [])
    assert len(kept) == 5000 and kept.attrs["orq_nb"]["full"]


def test_sessions_sharing_an_external_id_get_the_traces_of_their_own_window():
    from orq_nb.api.traces import SessionRef, _owners

    t = pd.Timestamp("2026-10-01", tz="UTC")
    day = pd.Timedelta(days=1)
    refs = [SessionRef("a", "shared", t, t + day, 1), SessionRef("b", "shared", t + 2 * day, t + 3 * day, 1)]
    records = [{"thread_id": "shared", "started_at": "2026-10-03T12:00:00Z"},
               {"thread_id": "shared", "started_at": "2026-10-01T12:00:00Z"}, {"thread_id": "a"}]
    assert _owners(records, refs) == ["b", "a", "a"]
