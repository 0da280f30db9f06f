"""SessionStore on a real Delta table on disk, synced from the fake orq server."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import warnings

import pandas as pd
import pytest
from conftest import session

import orq_nb
from orq_nb.testing import FakeOrqServer

KEY = "store-key"
NOW = dt.datetime(2026, 10, 29, tzinfo=dt.UTC)


def records(n: int = 120) -> list[dict]:
    return [session(i, started_at=f"2026-10-{1 + i % 28:02d}T10:00:00Z",
                    updated_at=f"2026-10-{1 + i % 28:02d}T11:00:00Z",
                    tags=["rag"] if i % 3 else ["voice", "rag"], project_id="p1" if i % 2 else "p2")
            for i in range(n)]


@pytest.fixture
def fake():
    with FakeOrqServer(records(), api_key=KEY, now=NOW) as server:
        yield server


def client_for(fake: FakeOrqServer) -> orq_nb.OrqClient:
    return orq_nb.OrqClient(api_key=KEY, base_url=fake.url, page_size=25, max_retries=0)


def ids(df: pd.DataFrame) -> list[str]:
    return sorted(df["id"])


def test_a_store_never_written_reads_as_the_empty_layout(tmp_path):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    df = store.to_pandas()
    assert len(df) == 0 and df.dtypes.to_dict() == orq_nb.schemas.DTYPES
    assert store.version is None and store.watermark is None and len(store.history()) == 0
    assert "empty" in repr(store)


def test_write_and_read_back_the_same_frame(tmp_path):
    frame = orq_nb.sessions_frame(records(50))
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    report = store.write(frame)
    assert (report.inserted, report.updated, report.unchanged, report.version) == (50, 0, 0, 1)
    pd.testing.assert_frame_equal(store.to_pandas().sort_values("id", ignore_index=True),
                                  frame.sort_values("id", ignore_index=True))
    again = store.write(frame)  # the same data twice: no content change, no new version
    assert (again.inserted, again.updated, again.unchanged, again.version) == (0, 0, 50, None)
    assert store.version == 1 and store.watermark is None  # write never moves the watermark
    history = store.history()  # version 0 is the empty table
    assert history["operation"].tolist() == ["WRITE", "MERGE"] and history["inserted"].tolist() == [0, 50]


def test_upsert_keeps_the_newer_record_and_never_an_older_one(tmp_path):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.write(orq_nb.sessions_frame([session(1, title="v1", updated_at="2026-10-02T00:00:00Z"),
                                       session(2, title="v1", updated_at="2026-10-02T00:00:00Z"),
                                       session(3, title="v1", updated_at=None)]))
    report = store.write(orq_nb.sessions_frame([
        session(1, title="newer", updated_at="2026-10-03T00:00:00Z"),
        session(2, title="older", updated_at="2026-10-01T00:00:00Z"),
        session(3, title="dated", updated_at="2026-09-01T00:00:00Z"),  # any time beats a missing one
        session(4, title="new"),
    ]))
    assert (report.inserted, report.updated, report.unchanged) == (1, 2, 1)
    titles = store.to_pandas().set_index("id")["title"].to_dict()
    assert titles == {"s1": "newer", "s2": "v1", "s3": "dated", "s4": "new"}
    same_time = session(1, title="same time", updated_at="2026-10-03T00:00:00Z")
    equal = store.write(orq_nb.sessions_frame([same_time]))
    assert equal.updated == 1 and store.to_pandas().set_index("id").loc["s1", "title"] == "same time"
    assert store.to_pandas()["id"].is_unique


def test_sync_then_incremental_sync_fetches_only_what_changed(tmp_path, fake):
    client = client_for(fake)
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    first = store.sync(client, progress=False)
    assert (first.fetched, first.inserted, first.version) == (120, 120, 1)
    assert ids(store.to_pandas()) == sorted(r["_id"] for r in fake.sessions())
    assert store.watermark == pd.Timestamp("2026-10-28T11:00:00Z")
    for sid in ("s3", "s4"):
        client.update_session(sid, tags=["reviewed"])
    fake.requests.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no drift: the counts agree
        second = store.sync(client, progress=False)
    # the window opens an hour (overlap) before the watermark: the 4 sessions updated then come again
    figures = (second.fetched, second.updated, second.unchanged, second.inserted, second.pages)
    assert figures == (6, 2, 4, 0, 1)
    assert len([p for _, p in fake.requests if p == "/v2/sessions/query"]) == 1
    stored = store.to_pandas().set_index("id")
    assert stored.loc["s3", "tags"] == ["reviewed"] and stored.loc["s5", "tags"] == ["rag"]
    history = store.history()
    assert history["version"].tolist() == [0, 1, 2]
    assert history["watermark"].iloc[1] < history["watermark"].iloc[2]
    assert history["watermark"].iloc[-1] > pd.Timestamp("2026-10-29T00:00:00Z")  # the PATCHes' time
    assert "1 pages, 6 fetched" in str(second)


def test_the_scope_is_fixed_by_the_first_sync(tmp_path, fake):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.sync(client_for(fake), project_id="p1", progress=False)
    assert store.scope["project_id"] == "p1"
    assert set(store.to_pandas()["project_id"]) == {"p1"}
    with pytest.raises(orq_nb.errors.StoreScopeError, match="use another path"):
        store.sync(client_for(fake), project_id="p2", progress=False)
    with pytest.raises(ValueError, match="not a scope"):
        store.sync(client_for(fake), start="2026-10-01")


def test_full_sync_removes_what_the_server_deleted_and_time_travel_keeps_it(tmp_path, fake):
    client = client_for(fake)
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.sync(client, progress=False)
    client.delete_session("s7")
    with pytest.warns(orq_nb.errors.StoreDriftWarning, match=r"counts 119 .* holds 120 .*sync\(full=True\)"):
        store.sync(client, progress=False)
    report = store.sync(client, full=True, progress=False)
    assert report.removed == 1 and "s7" not in set(store.to_pandas()["id"])
    assert "s7" in set(store.to_pandas(version=1)["id"])
    assert store.history()["removed"].iloc[-1] == 1


def test_a_full_sync_removes_only_sessions_within_the_scope(tmp_path, fake):
    client = client_for(fake)
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.sync(client, project_id="p1", progress=False)
    store.write(orq_nb.sessions_frame([session(500, project_id="p2")]))  # outside the scope
    client.delete_session("s1")  # p1
    report = store.sync(client, project_id="p1", full=True, progress=False)
    held = set(store.to_pandas()["id"])
    assert report.removed == 1 and "s1" not in held and "s500" in held


def test_a_bad_record_aborts_the_sync_and_commits_nothing(tmp_path):
    bad = records(10)
    bad[4]["duration"] = -5
    with FakeOrqServer(bad, api_key=KEY, now=NOW) as fake:
        store = orq_nb.SessionStore(tmp_path / "s.delta")
        with pytest.raises(orq_nb.errors.SessionValidationError, match="duration"):
            store.sync(client_for(fake), progress=False)
        assert store.version is None
        rejects = []
        with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
            report = store.sync(client_for(fake), errors="skip", rejects=rejects, progress=False)
        assert (report.inserted, report.rejected, [r.id for r in rejects]) == (9, 1, ["s4"])


def test_columns_windows_and_as_of(tmp_path):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    frame = orq_nb.sessions_frame(records(56))
    store.write(frame)
    part = store.to_pandas(columns=["total_cost", "id"], start="2026-10-05", end="2026-10-07")
    assert list(part.columns) == ["id", "total_cost"]
    assert sorted(part["id"]) == sorted(frame.loc[frame.started_at.dt.day.isin([5, 6]), "id"])
    dtypes = orq_nb.schemas.DTYPES
    assert part.dtypes.to_dict() == {"id": dtypes["id"], "total_cost": dtypes["total_cost"]}
    stamp = store.history()["timestamp"].iloc[-1]
    store.write(orq_nb.sessions_frame([session(999)]))
    assert len(store.to_pandas(as_of=stamp)) == 56 and len(store.to_pandas()) == 57
    with pytest.raises(ValueError, match="unknown columns"):
        store.to_pandas(columns=["nope"])
    with pytest.raises(orq_nb.errors.StoreError, match="no version committed by"):
        store.to_pandas(as_of="2000-01-01")


def test_optimize_and_vacuum_keep_the_rows(tmp_path):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    for start in range(0, 60, 20):
        store.write(orq_nb.sessions_frame([session(i) for i in range(start, start + 20)]))
    before = ids(store.to_pandas())
    store.optimize()
    assert store.vacuum(retain="0 hours", dry_run=True)  # lists, deletes nothing
    assert len(store.to_pandas(version=1)) == 20
    with pytest.warns(orq_nb.errors.VacuumWarning, match=r"versions \[0, 1, 2, 3\]"):
        store.vacuum(retain="0 hours")
    assert ids(store.to_pandas()) == before and len(before) == 60
    assert f"{len(before)} sessions" in repr(store) and "<table>" in store._repr_html_()


@pytest.mark.parametrize("blocked, call, extra", [
    ("deltalake", "orq_nb.SessionStore(sys.argv[1])", "store"),
    ("dask", "orq_nb.SessionStore(sys.argv[1]).to_dask()", "dask"),
])
def test_import_works_without_the_extras_and_each_names_its_fix(tmp_path, blocked, call, extra):
    code = (f"import sys; sys.modules[{blocked!r}] = None\n"
            "import orq_nb\n"
            f"try:\n    {call}\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.delta")], capture_output=True,
                         text=True, check=True)
    assert f'pip install -e ".[{extra}]"' in out.stdout and "Install page" in out.stdout


def test_the_explorer_reads_a_store(tmp_path):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.write(orq_nb.sessions_frame(records(40)))
    explorer = orq_nb.explore(store)
    assert explorer.store is store and len(explorer.filtered) == 40


def test_a_refused_session_does_not_make_every_later_sync_warn(tmp_path):
    bad = records(10)
    bad[4]["duration"] = -5
    with FakeOrqServer(bad, api_key=KEY, now=NOW) as fake:
        store = orq_nb.SessionStore(tmp_path / "s.delta")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", orq_nb.errors.SessionsSkippedWarning)
            warnings.simplefilter("error", orq_nb.errors.StoreDriftWarning)
            store.sync(client_for(fake), errors="skip", progress=False)
            store.sync(client_for(fake), errors="skip", progress=False)  # s4 still refused: no drift
            client_for(fake).update_session("s4", duration_ms=5)  # fixed on the server
            report = store.sync(client_for(fake), errors="skip", progress=False)
        assert report.inserted == 1 and len(store.to_pandas()) == 10


def test_bad_arguments_to_a_store_are_clear(tmp_path):
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.write(orq_nb.sessions_frame(records(3)))
    with pytest.raises(orq_nb.errors.StoreError, match="has no version 99"):
        store.to_pandas(version=99)
    with pytest.raises(ValueError, match="names no column"):
        store.to_pandas(columns=[])


def test_a_store_scoped_with_the_old_unspecified_interval_reads_as_all_time(tmp_path, fake):
    import json

    # What orq_nb 0.2 could commit: the scope with the interval the API refuses, and a watermark.
    old = {"orq_nb.scope": json.dumps({"interval": "SESSION_INTERVAL_UNSPECIFIED"}),
           "orq_nb.watermark": "2026-10-28T11:00:00+00:00"}
    orq_nb.SessionStore(tmp_path / "s.delta")._upsert(orq_nb.sessions_frame(records()), old, full=False)
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    assert store.scope == {"interval": "SESSION_INTERVAL_ALL_TIME"}
    client_for(fake).update_session("s7", tags=["again"])
    fake.exchanges.clear()
    report = store.sync(client_for(fake), progress=False)  # no StoreScopeError, and a window the API takes
    assert report.updated == 1 and store.to_pandas().set_index("id").loc["s7", "tags"] == ["again"]
    sent = [ex.request_json()["filters"] for ex in fake.exchanges if ex.path == "/v2/sessions/query"]
    assert sent and all(f["interval"] == "SESSION_INTERVAL_ALL_TIME" and "start_date" in f for f in sent)


def test_a_store_written_with_float_counts_still_opens_writes_and_keeps_its_versions(tmp_path):
    """Stores written before counts were Int64 hold them as float64: read as Int64, and written to as
    they are (each later write casts its counts to the table's type), every version still readable."""
    import deltalake
    import pyarrow as pa

    path = tmp_path / "old.delta"
    old = orq_nb.sessions_frame([session(i) for i in range(5)])
    counts = ["prompt_tokens", "completion_tokens", "total_tokens", "traces_count"]
    table = pa.Table.from_pandas(old.astype(dict.fromkeys(counts, "float64")), preserve_index=False)
    old_schema = pa.schema([pa.field(f.name, pa.float64()) if f.name in counts else f
                            for f in orq_nb.store.sessions.VALID_SCHEMA])
    deltalake.write_deltalake(path, table.select(old_schema.names).cast(old_schema))
    store = orq_nb.SessionStore(path)
    read = store.to_pandas()
    assert {str(read[c].dtype) for c in counts} == {"Int64"}
    pd.testing.assert_frame_equal(read, old)
    newer = session(0, traces_count=4, updated_at="2026-10-02T00:00:00Z")
    report = store.write(orq_nb.sessions_frame([session(9, traces_count=7), newer]))
    assert (report.inserted, report.updated) == (1, 1)
    now = store.to_pandas().set_index("id")
    assert now.loc["s9", "traces_count"] == 7 and now.loc["s0", "traces_count"] == 4
    assert str(now["traces_count"].dtype) == "Int64"
    pd.testing.assert_frame_equal(store.to_pandas(version=0), old)  # no version lost
