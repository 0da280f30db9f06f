"""Faulty servers and impatient users: nothing hangs, nothing is lost silently, the key stays secret.

A hang is caught by a generous limit (a call that should stop at once must end
within 10 s), never by a timing assertion.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest
from conftest import session

import orq_nb
from orq_nb.errors import OrqConnectionError, OrqPagingError, OrqRedirectError, OrqTimeoutError
from orq_nb.testing import FakeOrqServer, Fault

KEY = "sk-hostile-key-0123456789"
NOW = dt.datetime(2026, 10, 29, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]
HANG = 10.0  # seconds: what "never hangs" is held to


def records(n: int = 250) -> list[dict]:
    return [session(i, started_at=f"2026-10-{1 + i % 28:02d}T10:{i % 60:02d}:00Z",
                    updated_at=f"2026-10-{1 + i % 28:02d}T11:00:00Z", tags=["rag"]) for i in range(n)]


@pytest.fixture
def fake():
    with FakeOrqServer(records(), api_key=KEY, now=NOW) as server:
        yield server


def client_for(fake: FakeOrqServer, **kwargs) -> orq_nb.OrqClient:
    kwargs.setdefault("backoff", 0.01)
    return orq_nb.OrqClient(api_key=KEY, base_url=fake.url, **kwargs)


def within(limit: float, fn, *args, **kwargs):
    """Run ``fn``; fail if it takes longer than ``limit`` seconds (a hang), else return what it did."""
    start = time.monotonic()
    try:
        return fn(*args, **kwargs)
    finally:
        assert time.monotonic() - start < limit, f"{fn.__name__} took over {limit} s"


# -- nothing hangs ---------------------------------------------------------------------
@pytest.mark.parametrize("cycle", [1, 2])
def test_pages_that_never_end_raise_a_clear_error(fake, cycle):
    """has_more forever: the same page again (cycle 1), or earlier pages in turn (cycle 2)."""
    fake.inject(Fault("endless", path="/v2/sessions/query", cycle=cycle))
    client = client_for(fake, page_size=50)
    with pytest.raises(OrqPagingError, match="never end"):
        within(HANG, client.query_sessions, progress=False)
    with pytest.raises(OrqPagingError, match="never end"):
        within(HANG, lambda: list(client.iter_sessions()))


def test_more_pages_than_the_count_allows_raise(fake, monkeypatch):
    answer = fake.handle

    def fresh_forever(method, path, body):  # every page new sessions, and has_more
        if path.endswith("/query"):
            page = body["page"]
            return 200, {"object": "list", "has_more": True,
                         "data": [session(10_000 * page + i) for i in range(body["limit"])]}
        return answer(method, path, body)

    monkeypatch.setattr(fake, "handle", fresh_forever)
    client = client_for(fake, page_size=50)
    with pytest.raises(OrqPagingError, match="past the 7 pages the count allows"):  # 250: 5 pages + 2
        within(HANG, client.query_sessions, progress=False)
    with pytest.raises(OrqPagingError, match="past the 7 pages"):
        within(HANG, lambda: list(client.iter_sessions()))


def test_a_trickling_answer_cannot_hold_a_request_past_its_deadline(fake):
    # Each attempt is cut at 0.5 s; retries stop at the 2 s retry deadline; the body would take 30 s.
    fake.inject(*[Fault("trickle", path="/v2/sessions/s1", delay=0.05)] * 10)
    client = client_for(fake, timeout=(0.25, 0.25), retry_deadline=2, max_retries=10)
    start = time.monotonic()
    with pytest.raises(OrqTimeoutError):
        within(HANG, client.get_session, "s1")
    assert time.monotonic() - start < 2 + 0.5 + 1  # the deadline, one attempt's bound, and slack


def test_a_whole_call_keeps_its_deadline(fake):
    fake.latency = 0.2
    client = client_for(fake, page_size=10, max_workers=1)  # 25 pages one after another: 5 s
    with pytest.raises(OrqTimeoutError):
        within(HANG, client.query_sessions, progress=False, deadline=1.0)
    report = within(HANG, client.tag_sessions, [f"s{i}" for i in range(30)], add="x", progress=False,
                    deadline=1.0)
    assert report["ok"].any() and (~report["ok"]).any()  # what fitted, and the rest as errors
    assert report.loc[~report["ok"], "error"].str.contains("OrqTimeoutError").all()


CHILD = textwrap.dedent("""
    import signal, sys, warnings
    # Ctrl-C raises KeyboardInterrupt even where the parent ignores SIGINT (nohup, `make test &`, some CI
    # runners), which a child inherits.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import orq_nb
    warnings.simplefilter("always")
    client = orq_nb.OrqClient(api_key=sys.argv[2], base_url=sys.argv[1], max_retries=3,
                              retry_deadline=120, page_size=10, max_workers=4)
    print("ready", flush=True)
    try:
        if sys.argv[3] == "fetch":
            client.query_sessions(progress=False)
        else:
            client.tag_sessions([f"s{i}" for i in range(200)], add="ctrl-c", progress=False)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(0)
    print("finished", flush=True)
""")


def interrupt_child(fake: FakeOrqServer, what: str, when) -> tuple[subprocess.CompletedProcess, float, int]:
    """Run a fetch or a bulk update in a child; Ctrl-C it once ``when()``; time its end."""
    # Started as under nohup (SIGINT ignored, inherited), whatever this run's own handler is.
    child = subprocess.Popen([sys.executable, "-c", CHILD, fake.url, KEY, what], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + 60
    while not when() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    at_signal = len(fake.requests)
    out, err = child.communicate(timeout=30)
    took = time.monotonic() - sent
    time.sleep(0.5)  # anything still to come would arrive by now
    return subprocess.CompletedProcess(child.args, child.returncode, out, err), took, at_signal


def test_ctrl_c_stops_a_fetch_at_once_even_while_waiting_out_retry_after(fake):
    fake.inject(*[Fault("status", 429, retry_after="30", path="/v2/sessions/query")] * 8)
    done, took, at_signal = interrupt_child(
        fake, "fetch", lambda: sum(p == "/v2/sessions/query" for _, p in fake.requests) >= 4)
    assert "interrupted" in done.stdout, done.stderr
    assert took < 5, f"the fetch took {took:.1f} s to stop"  # "about a second", generously
    assert len(fake.requests) == at_signal  # no new request after Ctrl-C
    print(f"a fetch waiting out Retry-After: 30 stopped {took:.2f} s after Ctrl-C")


def test_ctrl_c_during_tag_sessions_warns_with_the_ids_already_changed(fake):
    fake.latency = 0.05
    before = {r["_id"]: r["tags"] for r in fake.sessions()}
    done, took, at_signal = interrupt_child(
        fake, "tag", lambda: sum(m == "PATCH" for m, _ in fake.requests) >= 10)
    assert "interrupted" in done.stdout, done.stderr
    assert took < 5
    warned = [line for line in done.stderr.splitlines() if "tag_sessions interrupted" in line]
    assert warned, done.stderr
    text = warned[0].split("on orq.ai: ")[1]
    listed = set(text.split("; the writes to ")[0].split(", "))
    under_way = set(text.split("; the writes to ")[1].split(" were under way")[0].split(", ")) \
        if "under way" in text else set()
    changed = {i for i, r in ((r["_id"], r) for r in fake.sessions()) if r["tags"] != before[i]}
    assert listed <= changed and changed <= listed | under_way and len(changed) >= 10
    assert len(changed) < 200 and len(fake.requests) <= at_signal + 4  # at most what was in flight


# -- nothing is lost silently --------------------------------------------------------------
def shifting(fake: FakeOrqServer, at_page: int):
    """Between pages, delete a session on page 1 and add one that sorts last: the count balances."""
    done = []

    def hook(page: int) -> None:
        if page == at_page and not done:
            done.append(page)
            fake.remove("s3")  # on page 1: every later session moves up one place
            stamp = fake.now.isoformat().replace("+00:00", "Z")
            fake.add(session(999, started_at="2026-09-01T00:00:00Z", updated_at=stamp))
    return hook


def test_sessions_shifted_across_pages_are_all_returned_exactly_once(fake):
    survivors = {r["_id"] for r in fake.sessions()} - {"s3"}
    fake.latency = 0.15  # so that the shift comes over a second after the fetch began
    fake.before_page = shifting(fake, at_page=9)
    client = client_for(fake, page_size=25, max_workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", orq_nb.errors.FetchWarning)  # nothing may be missing: no warning
        df = within(HANG * 3, client.query_sessions, progress=False)
    assert survivors <= set(df["id"]) and df["id"].is_unique


def test_without_a_shift_completeness_costs_no_extra_request(fake):
    client = client_for(fake, page_size=25)
    client.query_sessions(progress=False)
    assert client.requests_sent == 1 + 10  # the count and the ten pages


def test_iter_sessions_warns_how_many_may_be_missing_after_a_shift(fake):
    fake.latency = 0.15
    fake.before_page = shifting(fake, at_page=9)
    client = client_for(fake, page_size=25)
    with pytest.warns(orq_nb.errors.FetchWarning, match="up to about 1 of those that existed throughout"):
        within(HANG * 3, lambda: list(client.iter_sessions()))


def test_a_failed_count_says_completeness_was_not_checked(fake):
    fake.inject(Fault("status", 500, path="/v2/sessions/count"))
    with pytest.warns(orq_nb.errors.FetchWarning, match="completeness was not checked"):
        df = client_for(fake, max_retries=0).query_sessions(progress=False)
    assert len(df) == 250


def test_tag_sessions_reports_a_transport_error_as_that_rows_error(fake):
    fake.inject(Fault("drop", path="/v2/sessions/s2"))
    report = within(HANG, client_for(fake, max_retries=0).tag_sessions, ["s1", "s2", "s3"], add="x",
                    progress=False)
    assert report["ok"].tolist() == [True, False, True]
    assert report.loc[1, "error"].startswith("OrqConnectionError")


def test_a_retried_delete_whose_answer_was_lost_counts_as_deleted(fake, caplog):
    fake.inject(Fault("lost", path="/v2/sessions/s1"))  # deleted, then the answer lost
    with caplog.at_level(logging.INFO, logger="orq_nb"):
        assert client_for(fake).delete_session("s1") is True
    assert "s1" not in {r["_id"] for r in fake.sessions()}
    assert "counted as deleted" in caplog.text


# -- errors and redirects ---------------------------------------------------------------------
def test_a_redirect_is_an_error_naming_where_it_points_and_a_post_is_not_resent(fake):
    fake.inject(Fault("moved", path="/v2/sessions/count", location="https://elsewhere.invalid/v2"))
    with pytest.raises(OrqRedirectError, match="elsewhere.invalid") as caught:
        client_for(fake).count_sessions()
    assert caught.value.location == "https://elsewhere.invalid/v2"
    assert [m for m, p in fake.requests] == ["POST"]


def test_gzip_answers_are_unzipped():
    with FakeOrqServer(records(), api_key=KEY, now=NOW, gzip=True) as fake:
        client = client_for(fake, page_size=100)
        assert len(client.query_sessions(progress=False)) == 250 and client.get_session("s1")["id"] == "s1"


def test_every_network_failure_is_an_orq_api_error_subclass(fake):
    client = client_for(fake, max_retries=0)
    for fault, kind in ((Fault("drop"), OrqConnectionError), (Fault("cut"), OrqConnectionError),
                        (Fault("badgzip"), OrqConnectionError), (Fault("redirect"), OrqRedirectError),
                        (Fault("moved", location="/x"), OrqRedirectError)):
        fake.inject(fault)
        with pytest.raises(kind):
            client.session_tags()
        assert issubclass(kind, orq_nb.errors.OrqAPIError)
        fake.faults.clear()


# -- the key stays secret ------------------------------------------------------------------------
class RecordingProxy:
    """A TCP listener standing in for an HTTP proxy: it records connections and answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.seen: list[bytes] = []
        self.running = True
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1)
            try:
                self.seen.append(conn.recv(4096))
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self.running = False
        self.sock.close()


def test_a_loopback_base_url_never_goes_through_a_proxy(fake, monkeypatch):
    proxy = RecordingProxy()
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert client_for(fake).count_sessions() == 250
        assert proxy.seen == []
    finally:
        proxy.close()


def test_a_key_echoed_by_the_server_is_masked_everywhere(fake, caplog, recwarn):
    client = client_for(fake, max_retries=1)
    fake.inject(Fault("echo", 502, path="/v2/sessions/count"), Fault("echo", 502, path="/v2/sessions/count"))
    with caplog.at_level(logging.DEBUG, logger="orq_nb"), pytest.raises(orq_nb.errors.OrqAPIError) as caught:
        client.count_sessions()
    message = str(caught.value)
    assert "Authorization" in message and KEY not in message and "***" in message
    fake.inject(Fault("echo", 502, path="/v2/sessions/count"))
    with caplog.at_level(logging.DEBUG, logger="orq_nb"):
        with pytest.warns(orq_nb.errors.FetchWarning) as warned:
            client_for(fake, max_retries=0).query_sessions(progress=False)
    texts = [caplog.text, *(str(w.message) for w in warned), *(str(w.message) for w in recwarn)]
    assert all(KEY not in t for t in texts) and any("***" in t for t in texts)
    assert "retrying" in caplog.text  # the first 502 was retried, and the log says so


def test_retries_and_waits_are_logged(fake, caplog):
    fake.inject(Fault("status", 503, retry_after="0.1", path="/v2/sessions/count"))
    with caplog.at_level(logging.INFO, logger="orq_nb"):
        client_for(fake).count_sessions()
    assert "HTTP 503, retrying in 0.1 s (attempt 2 of 5)" in caplog.text


def test_no_proxy_environment_is_needed_for_the_fake_in_a_child(fake):
    """The same holds in a fresh process with only the proxy variables set (as a CI box may have)."""
    proxy = RecordingProxy()
    try:
        env = {**os.environ, "HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url}
        env.pop("NO_PROXY", None)
        code = ("import orq_nb, sys; c = orq_nb.OrqClient(api_key=sys.argv[2], base_url=sys.argv[1]); "
                "print(c.count_sessions())")
        out = subprocess.run([sys.executable, "-c", code, fake.url, KEY], env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.stdout.strip() == "250", out.stderr
        assert proxy.seen == []
    finally:
        proxy.close()


# -- beyond the anchors: pacing -------------------------------------------------------------------
def test_a_parallel_fetch_slows_down_before_the_rate_limit_rather_than_after():
    with FakeOrqServer(records(), api_key=KEY, now=NOW, rate_limit=(30, 1.0)) as fake:
        client = client_for(fake, page_size=5, max_workers=8)  # 51 requests against 30 a second
        with warnings.catch_warnings():
            warnings.simplefilter("error", orq_nb.errors.FetchWarning)
            df = within(HANG, client.query_sessions, progress=False)
        assert len(df) == 250
        assert fake.too_many == 0  # never answered 429: the client waited for the window instead
        assert client._http.pacer.paused > 0
        assert client.requests_sent == 51


# -- found in review ---------------------------------------------------------------------------------
def test_a_key_with_a_stray_newline_works_and_a_malformed_key_is_refused_without_showing_it(fake):
    assert orq_nb.OrqClient(api_key=KEY + "\n", base_url=fake.url).count_sessions() == 250
    with pytest.raises(orq_nb.errors.OrqAuthError) as caught:
        orq_nb.OrqClient(api_key="sk-two words", base_url=fake.url)
    assert "two words" not in str(caught.value)


def test_a_network_error_keeps_no_reference_to_the_request_and_its_headers(fake):
    fake.inject(Fault("drop", path="/v2/sessions/count"))
    with pytest.raises(OrqConnectionError) as caught:
        client_for(fake, max_retries=0).count_sessions()
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_a_rate_limit_pause_keeps_the_calls_deadline():
    with FakeOrqServer(records(), api_key=KEY, now=NOW, rate_limit=(3, 30.0)) as fake:
        client = client_for(fake, page_size=10, max_workers=1)
        with pytest.raises(OrqTimeoutError, match="past the deadline"):
            within(HANG, client.query_sessions, progress=False, deadline=2)
        assert fake.too_many == 0


def test_a_lost_clear_of_the_last_tags_is_sent_again(fake):
    fake.inject(Fault("drop", path="/v2/sessions/s1"))  # dropped before it was applied
    assert client_for(fake).update_session("s1", clear_tags=True)["tags"] == []
    assert [m for m, p in fake.requests if p == "/v2/sessions/s1"] == ["PATCH", "GET", "PATCH"]


def test_a_delete_that_never_reached_the_server_is_not_counted_as_done():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    client = orq_nb.OrqClient(api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=1, backoff=0.01)
    with pytest.raises(OrqConnectionError):
        client.delete_session("s1")
