"""OrqClient against FakeOrqServer over real HTTP: every method, paging, faults, secrets."""

from __future__ import annotations

import datetime as dt
import time
import warnings

import pandas as pd
import pytest
from conftest import session

import orq_nb
from orq_nb.api.transport import retry_after
from orq_nb.testing import FakeOrqServer, Fault, fake_orq  # noqa: F401 - fixture

KEY = "sk-secret-do-not-leak-123"


def client_for(fake: FakeOrqServer, **kwargs) -> orq_nb.OrqClient:
    kwargs.setdefault("backoff", 0.01)
    return orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url, **kwargs)


@pytest.fixture
def records():
    return [session(i, started_at=f"2026-10-{1 + i % 28:02d}T10:00:00Z",
                    updated_at=f"2026-10-{1 + i % 28:02d}T11:00:00Z",
                    tags=["rag"] if i % 3 else ["voice", "rag"],
                    project_id="p1" if i % 2 else "p2") for i in range(250)]


@pytest.fixture
def fake(records):
    with FakeOrqServer(records, api_key=KEY, now=dt.datetime(2026, 10, 29, tzinfo=dt.UTC)) as server:
        yield server


def test_query_fetches_every_page_in_order_into_the_fixed_layout(fake, records):
    client = client_for(fake, page_size=20)
    df = client.query_sessions(progress=False)
    assert df.dtypes.to_dict() == orq_nb.schemas.DTYPES
    assert sorted(df["id"]) == sorted(r["_id"] for r in records)
    assert df["started_at"].is_monotonic_decreasing  # the fake's order, kept page by page
    assert df.attrs["orq_nb"] == {"count": 250, "records": 250, "sessions": 250, "rejected": 0,
                                  "capped": False}
    queries = [p for m, p in fake.requests if p == "/v2/sessions/query"]
    assert len(queries) == 13  # ceil(250 / 20)


def test_filters_are_sent_in_the_api_form(fake, records):
    client = client_for(fake)
    assert client.count_sessions(tags="voice") == sum("voice" in r["tags"] for r in records)
    df = client.query_sessions(project_id="p1", tags=["voice", "nope"], progress=False)
    assert set(df["project_id"]) == {"p1"} and all("voice" in t for t in df["tags"])
    window = client.query_sessions(start="2026-10-05", end=pd.Timestamp("2026-10-07T00:00:00Z"),
                                   progress=False)
    assert set(window["updated_at"].dt.day) == {5, 6}  # the fake's windows apply to updated_at
    assert client.count_sessions(interval="last_3_days") == client.count_sessions(
        interval="SESSION_INTERVAL_LAST_3_DAYS") == sum(r["updated_at"] >= "2026-10-26" for r in records)
    with pytest.raises(ValueError, match="unknown interval 'last_fortnight'"):
        client.count_sessions(interval="last_fortnight")


def test_tags_get_update_delete(fake):
    client = client_for(fake)
    assert client.session_tags() == ["rag", "voice"]
    got = client.get_session("s3")
    assert got["id"] == "s3" and got["started_at"] == dt.datetime(2026, 10, 4, 10, tzinfo=dt.UTC)
    updated = client.update_session("s3", tags=["x"], title="renamed", duration_ms=99)
    assert (updated["tags"], updated["title"], updated["duration_ms"]) == (["x"], "renamed", 99.0)
    assert client.update_session("s3", clear_tags=True)["tags"] == []
    client.delete_session("s3")
    with pytest.raises(orq_nb.errors.OrqNotFoundError, match="session 's3' not found"):
        client.get_session("s3")


def test_update_is_checked_by_the_schema_before_sending(fake):
    client = client_for(fake)
    sent = len(fake.requests)
    with pytest.raises(TypeError, match="cannot update 'colour'"):
        client.update_session("s1", colour="red")
    with pytest.raises(ValueError, match="traces_count"):
        client.update_session("s1", traces_count=-2)
    with pytest.raises(ValueError, match="clear_tags cannot be combined with tags"):
        client.update_session("s1", tags=["a"], clear_tags=True)
    assert len(fake.requests) == sent


def test_iter_sessions_streams_validated_pages(fake):
    pages = list(client_for(fake, page_size=100).iter_sessions(interval="all_time"))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert isinstance(pages[0][0]["started_at"], dt.datetime)


def test_tag_sessions_relabels_concurrently_and_reports_each(fake):
    client = client_for(fake)
    frame = client.query_sessions(tags="voice", progress=False).head(4)
    report = client.tag_sessions(list(frame["id"]) + ["missing"], add=["reviewed"], remove=["voice"],
                                 progress=False)
    assert report["ok"].tolist() == [True] * 4 + [False]
    assert "session 'missing' not found" in report["error"].iloc[-1]
    for tags in report["tags_after"].iloc[:4]:
        assert tags == ["rag", "reviewed"]
    assert list(report.columns) == ["id", "ok", "changed", "tags_before", "tags_after", "changed_elsewhere",
                                    "error"]
    records = {}
    again = client.tag_sessions(frame, add=["reviewed"], progress=False, records=records)
    assert not again["changed"].any() and again["ok"].all()
    # the first call changed them after `frame` was read: the server's records are newer
    assert again["changed_elsewhere"].all() and set(records) == set(frame["id"])
    assert all(r["tags"] == ["rag", "reviewed"] for r in records.values())
    assert client.get_session(frame["id"].iloc[0])["tags"] == ["rag", "reviewed"]


def test_tag_sessions_never_writes_back_the_frames_copy(fake):
    client = client_for(fake)
    frame = client.query_sessions(progress=False).head(2)
    sid = frame["id"].iloc[0]
    client.update_session(sid, tags=["set-elsewhere"])  # another writer, after the frame was read
    report = client.tag_sessions(frame, add=["mine"], progress=False).set_index("id")
    assert client.get_session(sid)["tags"] == ["set-elsewhere", "mine"]  # both changes survive
    assert report.loc[sid, "changed_elsewhere"] and not report.loc[frame["id"].iloc[1], "changed_elsewhere"]


def test_a_dry_run_reads_and_reports_but_never_writes(fake):
    client = client_for(fake)
    before = {r["_id"]: r["tags"] for r in fake.sessions()}
    report = client.tag_sessions(["s0", "s1", "s2"], add=["voice"], dry_run=True, progress=False)
    assert [m for m, _ in fake.requests if m == "PATCH"] == []
    assert {r["_id"]: r["tags"] for r in fake.sessions()} == before
    assert report["changed"].tolist() == [before[s] != [*before[s], "voice"] and "voice" not in before[s]
                                          for s in ("s0", "s1", "s2")]
    assert report["tags_after"].iloc[1] == list(dict.fromkeys([*before["s1"], "voice"]))


def test_retry_after_is_honoured(fake):
    client = client_for(fake)
    fake.inject(Fault("status", 429, retry_after="0.4", path="/v2/sessions/count"))
    start = time.monotonic()
    assert client.count_sessions() == 250
    assert time.monotonic() - start >= 0.4
    assert [p for _, p in fake.requests].count("/v2/sessions/count") == 2


def test_retry_after_http_date_and_seconds_parse():
    assert retry_after("3") == 3.0
    now = time.time()
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 10))
    assert 8 <= retry_after(date, now=now) <= 10.5
    assert retry_after("soon") is None and retry_after(None) is None


def test_exhausted_retries_raise_typed_errors(fake):
    client = client_for(fake, max_retries=2)
    fake.inject(*[Fault("status", 429, retry_after="0", path="/v2/sessions/tags")] * 3)
    with pytest.raises(orq_nb.errors.OrqRateLimitError, match="HTTP 429"):
        client.session_tags()
    fake.inject(*[Fault("html", 502, path="/v2/sessions/tags")] * 3)
    with pytest.raises(orq_nb.errors.OrqAPIError, match=r"HTTP 502: <html><body><h1>502 Bad Gateway") as info:
        client.session_tags()
    assert info.value.status == 502
    fake.inject(*[Fault("drop", path="/v2/sessions/tags")] * 3)
    with pytest.raises(orq_nb.errors.OrqAPIError, match="no answer: ConnectionError after 3 attempts"):
        client.session_tags()


def test_truncated_body_is_an_api_error_with_an_excerpt(fake):
    fake.inject(Fault("truncate", path="/v2/sessions/s1"))
    expected = r"HTTP 200: the answer is not valid JSON: '\{\"_id\": \"s1\""
    with pytest.raises(orq_nb.errors.OrqAPIError, match=expected) as info:
        client_for(fake).get_session("s1")
    assert info.value.status == 200


def test_wrong_key_is_an_auth_error_with_a_hint(fake):
    bad = orq_nb.OrqClient(api_key="wrong", base_url=fake.url, backoff=0.01)
    with pytest.raises(orq_nb.errors.OrqAuthError, match="HTTP 401: Invalid API key .*ORQ_API_KEY"):
        bad.query_sessions()


def test_key_and_url_come_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("ORQ_API_KEY", KEY)
    monkeypatch.setenv("ORQ_BASE_URL", fake.url)
    assert orq_nb.OrqClient().count_sessions() == 250
    monkeypatch.delenv("ORQ_API_KEY")
    with pytest.raises(orq_nb.errors.OrqAuthError,
                       match="no API key was given, so no request was made") as info:
        orq_nb.OrqClient()
    assert "HTTP" not in str(info.value) and "ORQ_API_KEY" in str(info.value) and info.value.status is None
    assert "api_key=" in str(info.value)


def test_page_with_an_invalid_record_follows_the_errors_policy(records):
    records[7]["billing"]["total_cost"] = -1
    with FakeOrqServer(records, api_key=KEY) as fake:
        client = client_for(fake, page_size=50)
        with pytest.raises(orq_nb.errors.SessionValidationError, match="billing.total_cost"):
            client.query_sessions(progress=False)
        rejects = []
        with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
            df = client.query_sessions(errors="skip", rejects=rejects, progress=False)
        assert len(df) == 249 and [r.id for r in rejects] == ["s7"]
        assert df.attrs["orq_nb"]["rejected"] == 1
        with pytest.raises(orq_nb.errors.SessionValidationError):
            list(client.iter_sessions())


def test_max_records_caps_and_says_so(fake):
    client = client_for(fake, page_size=20)
    with pytest.warns(orq_nb.errors.FetchWarning, match="stopped at max_records=45; 250 sessions match"):
        df = client.query_sessions(max_records=45, progress=False)
    assert len(df) == 45 and df.attrs["orq_nb"]["capped"] is True
    assert [p for _, p in fake.requests].count("/v2/sessions/query") == 3


def test_concurrent_paging_under_faults_returns_each_session_once(fake, records):
    fake.inject(Fault("status", 503, path="/v2/sessions/query"), Fault("drop", path="/v2/sessions/query"),
                Fault("status", 429, retry_after="0.05", path="/v2/sessions/query"),
                Fault("status", 500, path="/v2/sessions/query"))
    fake.latency = 0.01
    df = client_for(fake, page_size=10, max_workers=8).query_sessions(progress=False)
    assert len(df) == 250 and df["id"].is_unique
    assert set(df["id"]) == {r["_id"] for r in records}


def test_walks_has_more_when_counting_fails(fake):
    fake.inject(Fault("status", 500, path="/v2/sessions/count"))
    with pytest.warns(orq_nb.errors.FetchWarning, match="completeness was not checked"):
        df = client_for(fake, page_size=40, max_retries=0).query_sessions(progress=False)
    assert len(df) == 250 and df.attrs["orq_nb"]["count"] is None


def test_count_that_disagrees_with_the_pages_is_warned(fake, monkeypatch):
    answer = fake.handle

    def stale_count(method, path, body):
        status, data = answer(method, path, body)
        return (status, {"count": data["count"] - 5}) if path.endswith("/count") else (status, data)

    monkeypatch.setattr(fake, "handle", stale_count)
    with pytest.warns(orq_nb.errors.FetchWarning,
                      match="counted 245 sessions but the pages held 250 records"):
        df = client_for(fake, page_size=50).query_sessions(progress=False)
    assert len(df) == 250


def test_duplicates_across_pages_are_dropped(fake, monkeypatch):
    answer = fake.handle

    def repeat_first(method, path, body):
        status, data = answer(method, path, body)
        if path.endswith("/query") and body["page"] == 2:
            data = {**data, "data": data["data"] + [answer("POST", path, {**body, "page": 1})[1]["data"][0]]}
        return status, data

    monkeypatch.setattr(fake, "handle", repeat_first)
    with warnings.catch_warnings():
        warnings.simplefilter("error", orq_nb.errors.DuplicateSessionsWarning)
        df = client_for(fake, page_size=100).query_sessions(progress=False)
    assert len(df) == 250 and df["id"].is_unique


def test_the_key_never_shows(fake):
    client = orq_nb.OrqClient(api_key=KEY, base_url=fake.url, max_retries=0)
    texts = [repr(client), str(client), repr(client._http), repr(client._http.session.auth)]
    for fault in (Fault("status", 500), Fault("html", 502), Fault("truncate"), Fault("drop")):
        fake.inject(fault)
        with pytest.raises(orq_nb.OrqError) as info:
            client.get_session("s1")
        texts += [str(info.value), repr(info.value)]
    with pytest.raises(orq_nb.errors.OrqAuthError) as info:
        orq_nb.OrqClient(api_key=KEY + "x", base_url=fake.url).count_sessions()
    texts.append(str(info.value))
    assert not [t for t in texts if KEY in t]


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:8080", "ftp://127.0.0.1"])
def test_plain_http_is_refused_except_to_loopback(url):
    with pytest.raises(ValueError):
        orq_nb.OrqClient(api_key=KEY, base_url=url)
    for ok in ("http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "https://my.orq.ai"):
        orq_nb.OrqClient(api_key=KEY, base_url=ok)


def test_fake_server_fixture_serves_the_sample(fake_orq):  # noqa: F811
    client = orq_nb.OrqClient(api_key=fake_orq.api_key, base_url=fake_orq.url)
    assert client.count_sessions() == len(orq_nb.load_sample())
    assert client.count_sessions(interval="last_7_days") > 0


def test_counts_do_not_depend_on_the_callers_warning_filters(records):
    records[3]["duration"] = -1
    with FakeOrqServer(records, api_key=KEY, now=dt.datetime(2026, 10, 29, tzinfo=dt.UTC)) as fake:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", orq_nb.errors.SessionsSkippedWarning)
            warnings.simplefilter("error", orq_nb.errors.FetchWarning)  # no false "the data changed"
            df = client_for(fake).query_sessions(errors="skip", progress=False)
    assert len(df) == 249 and df.attrs["orq_nb"]["rejected"] == 1


def test_a_read_cut_mid_body_is_retried(fake):
    client = client_for(fake)
    fake.inject(Fault("cut", path="/v2/sessions/s1"))
    assert client.get_session("s1")["id"] == "s1"
    assert [p for _, p in fake.requests].count("/v2/sessions/s1") == 2


def test_a_write_cut_mid_body_is_read_back_before_it_is_sent_again(fake):
    client = client_for(fake)
    fake.inject(Fault("cut", path="/v2/sessions/s1"))  # applied, then the answer cut in half
    assert client.update_session("s1", title="once")["title"] == "once"
    assert [m for m, p in fake.requests if p == "/v2/sessions/s1"] == ["PATCH", "GET"]  # not sent twice
    fake.requests.clear()
    fake.inject(Fault("drop", path="/v2/sessions/s1"))  # dropped before it was applied
    assert client.update_session("s1", title="twice")["title"] == "twice"
    assert [m for m, p in fake.requests if p == "/v2/sessions/s1"] == ["PATCH", "GET", "PATCH"]


def test_a_redirect_loop_is_an_orq_error(fake):
    client = client_for(fake)
    fake.inject(Fault("redirect", path="/v2/sessions/tags"))
    with pytest.raises(orq_nb.errors.OrqAPIError, match="redirected to '/v2/sessions/tags'"):
        client.session_tags()
    fake.faults.clear()


@pytest.mark.parametrize("cap", [40, 99, 1])
def test_a_server_serving_fewer_per_page_than_asked_gives_every_session_once(records, cap):
    with FakeOrqServer(records, now=dt.datetime(2026, 10, 29, tzinfo=dt.UTC), max_page_size=cap) as fake:
        client = client_for(fake, page_size=100)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no paging error, no warning
            df = client.query_sessions(progress=False)
        assert sorted(df["id"]) == sorted(r["_id"] for r in records)
        queries = [p for _, p in fake.requests if p == "/v2/sessions/query"]
        assert len(queries) == -(-250 // cap)  # exactly the pages it takes, no extra request
        fake.requests.clear()
        pages = list(client.iter_sessions())
        assert sum(map(len, pages)) == 250 and len(pages) == -(-250 // cap)
