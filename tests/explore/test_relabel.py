"""Select -> inspect -> relabel -> undo in the explorer, from code; against the fake server and locally."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import session

import orq_nb
from orq_nb.testing import FakeOrqServer

KEY = "relabel-key"
NOW = dt.datetime(2026, 10, 29, tzinfo=dt.UTC)


def records(n: int = 40) -> list[dict]:
    return [session(i, updated_at=f"2026-10-{1 + i % 28:02d}T11:00:00Z", duration=1000 * (i + 1),
                    tags=["rag", "beta"] if i % 4 == 0 else ["rag"]) for i in range(n)]


@pytest.fixture
def fake():
    with FakeOrqServer(records(), api_key=KEY, now=NOW) as server:
        yield server


def client_for(fake: FakeOrqServer) -> orq_nb.OrqClient:
    return orq_nb.OrqClient(api_key=KEY, base_url=fake.url, max_retries=0)


def server_tags(fake: FakeOrqServer) -> dict[str, list[str]]:
    return {r["_id"]: r["tags"] for r in fake.sessions()}


def test_select_preview_apply_undo_against_the_server(fake):
    client = client_for(fake)
    df = client.query_sessions(progress=False)
    explorer = orq_nb.SessionExplorer(df, client=client)
    assert explorer.writes
    before = server_tags(fake)
    explorer.select(["s0", "s1", "s2", "nope"])
    assert sorted(explorer.selected_ids) == ["s0", "s1", "s2"] and len(explorer.selected) == 3
    assert explorer.preview(add="review", remove="beta") == "3 sessions: +review, -beta; 0 already tagged"
    report = explorer.apply_tags(add="review", remove="beta")
    assert list(report.columns) == ["id", "ok", "changed", "tags_before", "tags_after", "changed_elsewhere",
                                    "error"]
    after = server_tags(fake)
    assert after["s0"] == ["rag", "review"] and after["s1"] == after["s2"] == ["rag", "review"]
    assert {k: v for k, v in after.items() if k not in ("s0", "s1", "s2")} == {
        k: v for k, v in before.items() if k not in ("s0", "s1", "s2")}  # nothing else changed
    frame = explorer.df.set_index("id")
    assert frame.loc["s0", "tags"] == ["rag", "review"] and frame.loc["s0", "updated_at"] > pd.Timestamp(NOW)
    assert df.set_index("id").loc["s0", "tags"] == ["rag", "beta"]  # the caller's frame is untouched
    assert "on orq.ai: 3 of 3 sessions changed" in explorer.status_line
    undone = explorer.undo()
    assert undone["changed"].sum() == 3
    restored = server_tags(fake)
    assert restored["s0"] == ["rag", "beta"] and restored["s1"] == ["rag"]  # only what Apply changed
    with pytest.raises(ValueError, match="nothing to undo"):
        explorer.undo()


@pytest.mark.parametrize("write", [True, False])
def test_undo_puts_a_removed_tag_back_where_it_was(fake, write):
    client = client_for(fake)
    client.update_session("s8", tags=["beta", "rag", "voice"])
    explorer = orq_nb.explore(client.query_sessions(progress=False), client=client, write=write)
    explorer.select(["s8"])
    explorer.apply_tags(add="review", remove="beta")
    explorer.undo()
    tags = server_tags(fake)["s8"] if write else explorer.df.set_index("id").loc["s8", "tags"]
    assert tags == ["beta", "rag", "voice"]  # not ["rag", "voice", "beta"]


def test_already_tagged_sessions_keep_their_tags_through_undo(fake):
    client = client_for(fake)
    explorer = orq_nb.explore(client.query_sessions(progress=False), client=client)
    explorer.select(["s0", "s1"])
    assert explorer.preview(add="beta") == "2 sessions: +beta; 1 already tagged"
    explorer.apply_tags(add="beta")
    explorer.undo()
    tags = server_tags(fake)
    assert tags["s0"] == ["rag", "beta"] and tags["s1"] == ["rag"]


def test_another_writer_between_load_and_apply_both_changes_survive(fake):
    client = client_for(fake)
    explorer = orq_nb.explore(client.query_sessions(progress=False), client=client)
    client.update_session("s5", tags=["rag", "from-elsewhere"], title="edited elsewhere")
    explorer.select(["s5", "s6"])
    report = explorer.apply_tags(add="review").set_index("id")
    assert server_tags(fake)["s5"] == ["rag", "from-elsewhere", "review"]
    assert report.loc["s5", "changed_elsewhere"] and not report.loc["s6", "changed_elsewhere"]
    row = explorer.df.set_index("id").loc["s5"]
    assert row["title"] == "edited elsewhere"  # the frame took the server's whole record


def test_without_a_client_apply_changes_the_frame_only_and_says_so():
    df = orq_nb.sessions_frame(records())
    explorer = orq_nb.explore(df)
    with pytest.raises(ValueError, match="no sessions are selected"):
        explorer.apply_tags(add="x")
    explorer.select_box(duration=(1, 5), cost=(0.001, 1))  # seconds and USD, as on the plot
    assert sorted(explorer.selected_ids) == ["s0", "s1", "s2", "s3", "s4"]
    report = explorer.apply_tags(add="x")
    assert report["changed"].all() and "nothing was written to orq.ai" in explorer.status_line
    assert all("x" in t for t in explorer.selected["tags"]) and "x" not in df["tags"].iloc[0]
    assert explorer.tag_filter.index.counts["x"] == 5  # the tag list follows the frame
    explorer.undo()
    assert not any("x" in t for t in explorer.df["tags"])


def test_filters_stay_and_the_store_takes_the_servers_answers(fake, tmp_path):
    client = client_for(fake)
    store = orq_nb.SessionStore(tmp_path / "s.delta")
    store.sync(client, progress=False)
    explorer = orq_nb.explore(store, client=client)
    explorer.tag_filter.tags.value = ("beta",)
    shown = len(explorer.filtered)
    explorer.select(explorer.filtered["id"].head(2))
    explorer.apply_tags(add="review")
    assert explorer.tag_filter.tags.value == ["beta"] and len(explorer.filtered) == shown
    stored = store.to_pandas().set_index("id")
    assert all("review" in stored.loc[i, "tags"] for i in explorer.selected_ids)


def test_the_write_switch_keeps_a_client_from_writing(fake):
    client = client_for(fake)
    explorer = orq_nb.explore(client.query_sessions(progress=False), client=client)
    explorer.write.value = False
    explorer.select(["s1"])
    explorer.apply_tags(add="local-only")
    assert server_tags(fake)["s1"] == ["rag"] and "nothing was written" in explorer.status_line


def test_the_relabel_panel_drives_the_same_actions():
    explorer = orq_nb.explore(orq_nb.sessions_frame(records()))
    assert explorer.apply_button.disabled and explorer.undo_button.disabled
    explorer.select(["s0", "s1"])
    explorer.add_tag.value = "review, urgent"
    assert "+review, +urgent" in explorer.preview_line.value and not explorer.apply_button.disabled
    assert "rag" in explorer.add_tag.options  # completion from the frame's tags
    explorer.apply_button.click()
    assert explorer.selected["tags"].tolist() == [["rag", "beta", "review", "urgent"],
                                                  ["rag", "review", "urgent"]]
    assert "urgent" in explorer.add_tag.options and not explorer.undo_button.disabled
    explorer.undo_button.click()
    assert explorer.selected["tags"].tolist() == [["rag", "beta"], ["rag"]]
    explorer.undo_button.click()  # nothing left to undo: said on the status line, not raised
    assert "nothing to undo" in explorer.status_line


def test_the_write_switch_can_start_off_as_the_dashboard_does(fake):
    client = client_for(fake)
    explorer = orq_nb.explore(client.query_sessions(progress=False), client=client, write=False)
    assert not explorer.writes and not explorer.write.disabled
    assert orq_nb.explore(orq_nb.sessions_frame(records())).write.disabled  # no client: no switch to turn
