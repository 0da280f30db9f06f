"""Crash safety and concurrent writers, with real processes: SIGKILL mid-sync, two syncs at once."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pytest
from conftest import session

import orq_nb
from orq_nb.testing import FakeOrqServer

KEY = "process-key"
NOW = dt.datetime(2026, 10, 29, tzinfo=dt.UTC)
SYNC = """
import sys, orq_nb
client = orq_nb.OrqClient(api_key=sys.argv[2], base_url=sys.argv[3], page_size=20, max_retries=0)
try:
    print(orq_nb.SessionStore(sys.argv[1]).sync(client, full=sys.argv[4] == "full", progress=False))
except orq_nb.errors.StoreError as error:
    print("StoreError:", error)
    sys.exit(3)
"""


def records(n: int) -> list[dict]:
    return [session(i, updated_at=f"2026-10-{1 + i % 28:02d}T11:00:00Z", tags=[f"t{i % 5}"])
            for i in range(n)]


def start_sync(path, fake: FakeOrqServer, full: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SYNC, str(path), KEY, fake.url, "full" if full else "inc"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def server_state(fake: FakeOrqServer) -> dict[str, list[str]]:
    return {r["_id"]: r["tags"] for r in fake.sessions()}


def store_state(store: orq_nb.SessionStore) -> dict[str, list[str]]:
    df = store.to_pandas(columns=["id", "tags"])
    assert df["id"].is_unique
    return dict(zip(df["id"], df["tags"], strict=True))


def test_a_sync_killed_at_any_moment_leaves_a_readable_store_that_converges(tmp_path):
    with FakeOrqServer(records(400), api_key=KEY, now=NOW, latency=0.02) as fake:
        client = orq_nb.OrqClient(api_key=KEY, base_url=fake.url, page_size=20, max_retries=0)
        store = orq_nb.SessionStore(tmp_path / "s.delta")
        store.sync(client, progress=False)
        began = time.perf_counter()
        finished = start_sync(store.path, fake, full=True)
        assert finished.wait(120) == 0, finished.stderr.read()
        whole = time.perf_counter() - began  # interpreter start, fetch, merge and commit
        kills = 0
        for fraction in (0.3, 0.5, 0.65, 0.8, 0.9, 0.95):
            for sid in (f"s{kills}", f"s{kills + 100}"):
                client.update_session(sid, tags=[f"killed-{kills}"])
            before = store.version
            child = start_sync(store.path, fake, full=True)
            time.sleep(whole * fraction)
            child.kill()  # SIGKILL: no cleanup runs
            child.wait()
            kills += 1
            assert store.version in (before, before + 1)  # the last committed version, or the new one
            assert len(store_state(store)) == 400  # readable, no duplicate ids
        store.sync(client, full=True, progress=False)
        assert store_state(store) == server_state(fake)


def test_two_syncs_at_once_both_land_or_one_fails_clearly(tmp_path):
    with FakeOrqServer(records(300), api_key=KEY, now=NOW, latency=0.01) as fake:
        path = tmp_path / "s.delta"
        for round_ in range(2):  # into a new store (both create it), then into an existing one
            if round_:
                client = orq_nb.OrqClient(api_key=KEY, base_url=fake.url, page_size=20, max_retries=0)
                for i in range(0, 300, 7):
                    client.update_session(f"s{i}", tags=["both-ran"])
            children = [start_sync(path, fake, full=True) for _ in range(2)]
            codes = [child.wait(120) for child in children]
            outputs = [child.stdout.read() + child.stderr.read() for child in children]
            assert 0 in codes, outputs
            for code, output in zip(codes, outputs, strict=True):
                assert code == 0 or (code == 3 and "StoreError" in output), output
            store = orq_nb.SessionStore(path)
            assert store_state(store) == server_state(fake)
            assert store.scope is not None


@pytest.mark.parametrize("engine", ["deltalake", "duckdb"])
def test_other_engines_read_the_same_sessions(tmp_path, engine):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.write(orq_nb.sessions_frame(records(50)))
    store.write(orq_nb.sessions_frame([session(3, tags=["changed"], updated_at="2026-12-01T00:00:00Z")]))
    if engine == "deltalake":
        # deltalake's own reader, in a process of its own: in deltalake 1.6 its threads can abort
        # the interpreter at exit, which must not take pytest with it.
        code = ("import json, os, sys\nfrom deltalake import DeltaTable\n"
                "df = DeltaTable(sys.argv[1]).to_pandas(columns=['id', 'tags'])\n"
                "print(json.dumps({i: list(t) for i, t in zip(df['id'], df['tags'])}), flush=True)\n"
                "os._exit(0)\n")
        out = subprocess.run([sys.executable, "-c", code, store.path], capture_output=True, text=True,
                             check=True)
        seen = json.loads(out.stdout)
    else:
        duckdb = pytest.importorskip("duckdb", reason="the test extra installs duckdb")
        from deltalake import DeltaTable

        files = DeltaTable(store.path).file_uris()
        rows = duckdb.connect().execute("SELECT id, tags FROM read_parquet(?)", [files]).fetchall()
        seen = {sid: list(tags) for sid, tags in rows}
    assert len(seen) == 50 and seen == store_state(store) and seen["s3"] == ["changed"]
