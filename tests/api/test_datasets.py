"""Sessions into an orq.ai dataset: a dry run first, each session exactly once, resumable after any fault."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings

import pandas as pd
import pydantic
import pytest

import orq_nb
from orq_nb.errors import DatasetWriteError
from orq_nb.testing import FakeOrqServer, Fault, generate_sessions

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
sdk = pytest.importorskip("orq_ai_sdk.models", reason="the test extra installs orq-ai-sdk")


@pytest.fixture(autouse=True)
def quick_settle(monkeypatch):
    """After a failed write the dataset is read until two readings agree, a second apart: here 10 ms."""
    import orq_nb.api.datasets as datasets

    monkeypatch.setattr(datasets, "SETTLE", 0.01)


@pytest.fixture
def fake():
    with FakeOrqServer(generate_sessions(80, seed=12, end=NOW, days=10, node_share=0), now=NOW) as server:
        yield server


@pytest.fixture
def client(fake):
    return orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, backoff=0.01)


@pytest.fixture
def sessions(client):
    return client.query_sessions(progress=False)


def stored(fake: FakeOrqServer) -> list[str]:
    """The session id of every datapoint in every dataset of the fake."""
    return [p["inputs"]["orq_session_id"] for points in fake.datasets.datapoints.values() for p in points]


def test_a_dry_run_writes_nothing_and_says_what_would_happen(fake, client, sessions):
    fake.exchanges.clear()
    report = client.to_dataset(sessions.head(30), "regressions", progress=False)
    assert not [ex for ex in fake.exchanges if ex.method != "GET" and "datasets" in ex.path]
    assert fake.datasets.datasets == {}
    info = report.attrs["orq_nb"]
    assert info["creates"] and info["would_add"] == 30 and list(report["status"].unique()) == ["would_add"]
    shown = report["datapoint"].dropna()
    assert len(shown) == 5  # the first datapoints, as they would be sent
    first = shown.iloc[0]
    assert first["inputs"]["orq_session_id"] == report["session_id"].iloc[0]
    assert [m["role"] for m in first["messages"]][-1] != "assistant"  # the answer is not in the input
    assert first["expected_output"].startswith("Here is what I found")


def test_apply_adds_each_session_once_and_a_second_run_adds_nothing(fake, client, sessions):
    first = client.to_dataset(sessions.head(25), "regressions", dry_run=False, progress=False)
    assert (first["status"] == "added").all() and first["datapoint_id"].notna().all()
    assert sorted(stored(fake)) == sorted(sessions["id"].head(25))
    again = client.to_dataset(sessions.head(25), "regressions", dry_run=False, progress=False)
    assert (again["status"] == "present").all()
    assert dict(zip(again["session_id"], again["datapoint_id"], strict=True)) == dict(
        zip(first["session_id"], first["datapoint_id"], strict=True))
    more = client.to_dataset(sessions.head(40), "regressions", dry_run=False, progress=False)
    assert more["status"].value_counts().to_dict() == {"present": 25, "added": 15}
    assert sorted(stored(fake)) == sorted(sessions["id"].head(40)) and len(fake.datasets.datasets) == 1


def test_the_default_datapoint_keeps_the_answer_out_of_the_input(fake, client, sessions):
    client.to_dataset(sessions.head(5), "regressions", dry_run=False, progress=False)
    (points,) = fake.datasets.datapoints.values()
    row = sessions.set_index("id").loc[points[0]["inputs"]["orq_session_id"]]
    traces = client.query_traces(sessions[sessions["id"] == row.name], progress=False)
    latest = traces.sort_values("started_at")["trace_id"].iloc[-1]
    talk = client.conversation(latest)
    assert points[0]["messages"] == [dict(i) for i in talk["item"].iloc[:-1]]
    assert points[0]["expected_output"] == talk["text"].iloc[-1]
    assert points[0]["inputs"]["tags"] == row["tags"]
    assert points[0]["inputs"]["project_id"] == row["project_id"]


def test_a_name_picks_its_one_dataset_an_id_works_and_two_of_a_name_are_an_error(fake, client, sessions):
    client.to_dataset(sessions.head(3), "mine", dry_run=False, progress=False)
    (dataset_id,) = fake.datasets.datasets
    by_id = client.to_dataset(sessions.head(4), dataset_id, dry_run=False, progress=False)
    assert by_id["status"].value_counts().to_dict() == {"present": 3, "added": 1}
    fake.datasets.handle("POST", [], {"display_name": "mine"}, {})
    with pytest.raises(ValueError, match="2 datasets are named 'mine': pass the id of one") as error:
        client.to_dataset(sessions.head(4), "mine", progress=False)
    assert dataset_id in str(error.value)


FAULTS = [Fault("lost"), Fault("after", 500), Fault("after", 502), Fault("status", 503), Fault("drop"),
          Fault("cut")]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.status}")
def test_after_a_lost_answer_or_an_error_every_session_is_there_once(fake, client, sessions, fault,
                                                                    monkeypatch):
    import orq_nb.api.datasets as datasets

    monkeypatch.setattr(datasets, "BULK_MAX", 7)  # several bulk calls
    client.to_dataset(sessions.head(2), "faults", dry_run=False, progress=False)
    (dataset_id,) = fake.datasets.datasets
    fault.path = f"/v2/datasets/{dataset_id}/datapoints/bulk"
    fake.inject(fault, Fault(fault.kind, fault.status, path=fault.path))  # twice, the same call or two
    report = client.to_dataset(sessions.head(30), "faults", dry_run=False, progress=False)
    assert sorted(stored(fake)) == sorted(sessions["id"].head(30))
    assert report["status"].value_counts().to_dict() == {"present": 2, "added": 28}


def test_a_refused_write_names_the_sessions_and_a_second_run_adds_them(fake, client, sessions, monkeypatch):
    import orq_nb.api.datasets as datasets

    monkeypatch.setattr(datasets, "BULK_MAX", 10)
    client.to_dataset(sessions.head(1), "refused", dry_run=False, progress=False)
    (dataset_id,) = fake.datasets.datasets
    fake.inject(Fault("status", 400, path=f"/v2/datasets/{dataset_id}/datapoints/bulk"))
    with pytest.raises(DatasetWriteError, match="10 of 20 sessions were not added") as error:
        client.to_dataset(sessions.head(21), "refused", dry_run=False, progress=False)
    report = error.value.report
    failed = report[report["status"] == "failed"]
    assert len(failed) == 10 and failed["reason"].str.contains("refused by orq.ai").all()
    assert failed["session_id"].iloc[0] in str(error.value)
    again = client.to_dataset(sessions.head(21), "refused", dry_run=False, progress=False)
    assert again["status"].value_counts().to_dict() == {"present": 11, "added": 10}
    assert sorted(stored(fake)) == sorted(sessions["id"].head(21))


def test_ctrl_c_at_any_request_then_a_second_run_leaves_each_session_once(fake, client, sessions,
                                                                          monkeypatch):
    """Interrupted at random requests of the run (before, during and after the writes): run again, and
    every session is in the dataset exactly once."""
    import orq_nb.api.datasets as datasets
    import orq_nb.api.transport as transport

    monkeypatch.setattr(datasets, "BULK_MAX", 4)
    original = transport.Transport.request
    before = client.requests_sent
    client.to_dataset(sessions.head(20), "counted", dry_run=False, progress=False)
    total = client.requests_sent - before  # the requests of a whole run
    rng = random.Random(5)
    for run in range(6):
        name = f"interrupted-{run}"
        stop_at = rng.randint(1, total)
        def request(self, *args, _stop=stop_at, _seen=[0], **kwargs):  # noqa: B006 - a counter per run
            _seen[0] += 1
            if _seen[0] == _stop:
                raise KeyboardInterrupt
            return original(self, *args, **kwargs)

        monkeypatch.setattr(transport.Transport, "request", request)
        with pytest.raises(KeyboardInterrupt), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the interrupted run says what it had added
            client.to_dataset(sessions.head(20), name, dry_run=False, progress=False)
        monkeypatch.setattr(transport.Transport, "request", original)
        client.to_dataset(sessions.head(20), name, dry_run=False, progress=False)
        mine = [d["_id"] for d in fake.datasets.datasets.values() if d["display_name"] == name]
        ids = [p["inputs"]["orq_session_id"] for d in mine for p in fake.datasets.datapoints[d]]
        assert sorted(ids) == sorted(sessions["id"].head(20)), (run, stop_at)


KILLED_RUN = """
import sys, orq_nb, orq_nb.api.datasets as d
d.BULK_MAX = 3
client = orq_nb.OrqClient(api_key=sys.argv[1], base_url=sys.argv[2])
sessions = client.query_sessions(progress=False)
print("started", flush=True)
client.to_dataset(sessions, "killed", dry_run=False, progress=False)
print("done", flush=True)
"""


def test_a_killed_process_then_a_second_run_leaves_each_session_once():
    """A real process, killed (SIGKILL) at random moments of its run against a slow server; the next run
    completes the dataset, each session once."""
    rng = random.Random(11)
    with FakeOrqServer(generate_sessions(36, seed=4, end=NOW, days=5, node_share=0), now=NOW,
                       latency=0.01) as fake:
        client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url)
        sessions = client.query_sessions(progress=False)
        for _ in range(3):
            child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, fake.api_key, fake.url],
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, "ORQ_API_KEY": ""})
            assert child.stdout.readline().strip() == "started"
            time.sleep(rng.uniform(0.05, 0.6))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        report = client.to_dataset(sessions, "killed", dry_run=False, progress=False)
        assert set(report["status"]) <= {"present", "added"}
        assert sorted(stored(fake)) == sorted(sessions["id"])
        assert len(fake.datasets.datasets) == 1


def test_a_custom_datapoint_and_sessions_without_a_conversation(fake, client, sessions):
    def mapping(session: pd.Series, talk: pd.DataFrame):
        if session["project_id"] == "support-bot":
            return None
        return {"inputs": {"question": talk["text"].iloc[1]}, "expected_output": str(len(talk))}

    report = client.to_dataset(sessions.head(30), "custom", dry_run=False, progress=False)
    fake.datasets.datasets.clear()
    fake.datasets.datapoints.clear()
    report = client.to_dataset(sessions.head(30), "custom", datapoint=mapping, dry_run=False, progress=False)
    left_out = sessions.head(30)["project_id"] == "support-bot"
    assert (report["status"] == "no_conversation").sum() == left_out.sum()
    (points,) = fake.datasets.datapoints.values()
    assert all(set(p["inputs"]) == {"question", "orq_session_id"} for p in points)
    with pytest.raises(ValueError, match="session 'ses_.*': expected_output must be a string"):
        client.to_dataset(sessions.head(3), "bad", datapoint=lambda s, t: {"expected_output": 3},
                          dry_run=False, progress=False)


def test_every_dataset_body_and_answer_is_the_sdks(fake, client, sessions, monkeypatch):
    import orq_nb.api.datasets as datasets

    monkeypatch.setattr(datasets, "PAGE", 7)
    client.to_dataset(sessions.head(20), "contract", dry_run=False, progress=False)
    client.to_dataset(sessions.head(20), "contract", dry_run=False, progress=False)
    checked = 0
    for ex in fake.exchanges:
        if "/v2/datasets" not in ex.path or ex.status >= 400:
            continue
        body, answer = ex.request_json(), ex.answer_json()
        if ex.method == "POST" and ex.path == "/v2/datasets":
            assert sdk.CreateDatasetRequest.model_validate(body).model_dump(exclude_none=True) == body
            sdk.Dataset.model_validate(answer)
        elif ex.path.endswith("/datapoints/bulk"):
            assert json.loads(sdk.BulkCreateDatapointsRequest.model_validate(body).model_dump_json(
                exclude_none=True)) == body
            pydantic.TypeAdapter(list[sdk.Datapoint1]).validate_python(answer)
        elif ex.path.endswith("/datapoints"):
            sdk.ListDatapointsResponse.model_validate(answer)
            assert int(dict(ex.query)["limit"]) <= 50
        elif ex.path == "/v2/datasets":
            sdk.ListDatasetsResponse.model_validate(answer)
        else:
            sdk.Dataset.model_validate(answer)
        checked += 1
    assert checked >= 6
    orq = pytest.importorskip("orq_ai_sdk").Orq(api_key=fake.api_key, server_url=fake.url)
    (dataset_id,) = fake.datasets.datasets
    listed = orq.datasets.list_datapoints(dataset_id=dataset_id, limit=50)
    assert len(listed.data) == 20 and {p.inputs["orq_session_id"] for p in listed.data} == set(
        sessions["id"].head(20))


@pytest.mark.parametrize("body", [{"items": "x"}, {"items": [{"expected_output": 3}]},
                                  {"items": [{"inputs": []}]}])
def test_the_fake_refuses_bulk_bodies_the_sdk_refuses(fake, client, body):
    with pytest.raises(pydantic.ValidationError):
        sdk.BulkCreateDatapointsRequest.model_validate(body)
    made = fake.datasets.handle("POST", [], {"display_name": "x"}, {})[1]
    with pytest.raises(orq_nb.errors.OrqAPIError) as error:
        client._http.request("POST", f"/v2/datasets/{made['_id']}/datapoints/bulk", body, retry_5xx=False)
    assert error.value.status == 400
    with pytest.raises(pydantic.ValidationError):
        sdk.CreateDatasetRequest.model_validate({"path": "p"})
    with pytest.raises(orq_nb.errors.OrqAPIError):
        client._http.request("POST", "/v2/datasets", {"path": "p"})


def test_the_fake_deletes_in_bulk_as_the_sdk_asks(fake, client, sessions):
    client.to_dataset(sessions.head(6), "to-trim", dry_run=False, progress=False)
    (dataset_id,) = fake.datasets.datasets
    orq = pytest.importorskip("orq_ai_sdk").Orq(api_key=fake.api_key, server_url=fake.url)
    first = [p["_id"] for p in fake.datasets.datapoints[dataset_id][:2]]
    orq.datasets.delete_datapoints(dataset_id=dataset_id, item_ids=first)
    body = [ex.request_json() for ex in fake.exchanges if ex.path.endswith("datapoints-bulk-delete")][-1]
    assert sdk.DeleteDatapointsRequest.model_validate(body).item_ids == first
    assert len(fake.datasets.datapoints[dataset_id]) == 4
    # The two deleted sessions are missing now: the next run adds them back, and only them.
    report = client.to_dataset(sessions.head(6), "to-trim", dry_run=False, progress=False)
    assert report["status"].value_counts().to_dict() == {"present": 4, "added": 2}
    with pytest.raises(orq_nb.errors.OrqAPIError) as error:
        client._http.request("POST", f"/v2/datasets/{dataset_id}/datapoints-bulk-delete", {"item_ids": []})
    assert error.value.status == 400


def test_a_nan_in_a_datapoint_is_named_before_anything_is_sent(fake, client, sessions):
    nan = float("nan")
    with pytest.raises(ValueError, match=r"session 'ses_\w+': the datapoint is not JSON"):
        client.to_dataset(sessions.head(3), "nan", datapoint=lambda s, t: {"inputs": {"x": nan}},
                          dry_run=False, progress=False)
    assert fake.datasets.datasets == {}


def test_a_timed_out_write_the_server_finishes_late_is_not_sent_twice(fake, client, sessions, monkeypatch):
    """The answer times out while the server is still writing: the dataset is read until two readings
    agree, so the late write is seen and nothing is sent again."""
    import threading

    import orq_nb.api.datasets as datasets

    monkeypatch.setattr(datasets, "SETTLE", 0.3)
    client.to_dataset(sessions.head(1), "late", dry_run=False, progress=False)
    (dataset_id,) = fake.datasets.datasets
    handle = fake.datasets.handle

    def late(method, rest, body, query):
        if rest[1:] == ["datapoints", "bulk"] and not getattr(late, "done", False):
            late.done = True
            threading.Timer(0.15, lambda: handle(method, rest, body, query)).start()  # written later
            raise ConnectionResetError("the answer never comes")
        return handle(method, rest, body, query)

    monkeypatch.setattr(fake.datasets, "handle", late)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = client.to_dataset(sessions.head(10), "late", dry_run=False, progress=False)
    time.sleep(0.5)
    assert sorted(stored(fake)) == sorted(sessions["id"].head(10)), "a late write doubled"
    assert report["status"].value_counts().to_dict() == {"present": 1, "added": 9}


def test_a_listing_whose_cursor_never_moves_is_an_error_not_a_loop():
    from orq_nb.api.datasets import listed_sessions

    def request(method, path):
        return {"data": [{"_id": "dp_1", "inputs": {"orq_session_id": "s"}}], "has_more": True}

    with pytest.raises(orq_nb.errors.OrqPagingError, match="never end"):
        listed_sessions(request, "ds")


def test_messages_are_whatever_json_list_the_sdk_takes(fake, client, sessions):
    point = {"messages": [{"type": "function_call", "name": "lookup"}, "plain text"], "expected_output": "x"}
    report = client.to_dataset(sessions.head(2), "loose", datapoint=lambda s, t: point, dry_run=False,
                               progress=False)
    assert (report["status"] == "added").all()
