"""Every source reaches the same frame: Parquet, Feather, Arrow tables, DataFrames, pages, streams."""

from __future__ import annotations

import gzip
import io
import json
import os
import threading
import warnings

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SEED, session

import orq_nb
from orq_nb.testing import generate_sessions

RECORDS = generate_sessions(300, seed=5)


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return orq_nb.sessions_frame(RECORDS)


@pytest.mark.parametrize("suffix", [".parquet", ".feather", ".arrow"])
def test_a_saved_frame_reads_back_equal(tmp_path, expected, suffix):
    path = tmp_path / ("sessions" + suffix)
    if suffix == ".parquet":
        expected.to_parquet(path)
    else:
        expected.to_feather(path)
    pd.testing.assert_frame_equal(orq_nb.read_sessions(path), expected)
    with open(path, "rb") as f:  # an open file is read by its content, not its name
        pd.testing.assert_frame_equal(orq_nb.read_sessions(io.BytesIO(f.read())), expected)


def test_a_wire_form_arrow_table_and_parquet_load(tmp_path, expected):
    wire = [record for record in RECORDS if "_id" in record]
    table = pa.Table.from_pylist(wire)
    want = orq_nb.sessions_frame(wire)
    pd.testing.assert_frame_equal(orq_nb.sessions_frame(table), want)
    pq.write_table(table, tmp_path / "wire.parquet")
    pd.testing.assert_frame_equal(orq_nb.read_sessions(tmp_path / "wire.parquet"), want)


def test_a_node_sdk_table_loads_like_its_records():
    node = [SEED, {**SEED, "id": "second", "tags": ["x", "y"]}]
    table = pa.Table.from_pylist(node)
    pd.testing.assert_frame_equal(orq_nb.sessions_frame(table), orq_nb.sessions_frame(node))


def test_a_dataframe_is_validated_again(expected):
    pd.testing.assert_frame_equal(orq_nb.sessions_frame(expected), expected)
    spoiled = expected.copy()
    spoiled.loc[3, "total_cost"] = -1.0
    spoiled.loc[7, "id"] = ""
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning, match="2 of 300"):
        df = orq_nb.sessions_frame(spoiled, errors="skip", rejects=rejects)
    assert len(df) == 298
    assert [(r.position, list(r.errors)) for r in rejects] == [(3, ["billing.total_cost"]), (7, ["_id"])]
    assert rejects[0].record["billing"]["total_cost"] == -1.0  # the row, in the wire form


def test_a_parquet_column_of_the_wrong_type_names_the_field(tmp_path, expected):
    frame = expected.head(4).copy()
    frame["duration_ms"] = ["1", "2", "3", "4"]
    frame.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(orq_nb.errors.SessionValidationError) as info:
        orq_nb.read_sessions(tmp_path / "bad.parquet")
    assert "4 of 4 session records are invalid" in str(info.value)
    assert all(r.errors == {"duration": ["Not a valid number."]} for r in info.value.rejects)


def test_gzipped_pages_and_page_lines_take_one_read(tmp_path, expected):
    pages = [{"object": "list", "data": RECORDS[i : i + 50], "has_more": i + 50 < 300}
             for i in range(0, 300, 50)]
    (tmp_path / "pages.json.gz").write_bytes(gzip.compress(json.dumps(pages).encode()))
    (tmp_path / "pages.jsonl").write_text("\n".join(json.dumps(p) for p in pages))
    (tmp_path / "one.json").write_text(json.dumps(pages[0]))
    pd.testing.assert_frame_equal(orq_nb.read_sessions(tmp_path / "pages.json.gz"), expected)
    pd.testing.assert_frame_equal(orq_nb.read_sessions(tmp_path / "pages.jsonl"), expected)
    pd.testing.assert_frame_equal(orq_nb.read_sessions(tmp_path / "one.json"), expected.head(50))


@pytest.mark.parametrize("pretty", [False, True])
def test_a_stream_that_can_be_read_only_once_is_enough(tmp_path, expected, pretty):
    """A named pipe gives its bytes once: the reader never opens or reads a file twice."""
    fifo = tmp_path / "sessions.json.gz"
    os.mkfifo(fifo)
    text = json.dumps(RECORDS, indent=2 if pretty else None)  # pretty: pyarrow gives up, Python reads

    def feed():
        with open(fifo, "wb") as f:
            f.write(gzip.compress(text.encode()))

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        df = orq_nb.read_sessions(fifo)
    finally:
        writer.join(timeout=10)
    pd.testing.assert_frame_equal(df, expected)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([session(0)]).encode())
    assert orq_nb.read_sessions(path)["id"].tolist() == ["s0"]


def test_errors_share_one_base_and_keep_value_error():
    assert issubclass(orq_nb.errors.SessionValidationError, orq_nb.OrqError)
    assert issubclass(orq_nb.errors.SessionValidationError, ValueError)
    assert issubclass(orq_nb.errors.SessionFileError, orq_nb.OrqError)
    assert issubclass(orq_nb.errors.SessionFileError, ValueError)
    e = orq_nb.errors
    for error in (e.OrqAPIError, e.OrqAuthError, e.OrqNotFoundError, e.OrqRateLimitError):
        assert issubclass(error, orq_nb.OrqError)
    for warning in (e.SessionsSkippedWarning, e.DuplicateSessionsWarning, e.FetchWarning):
        assert issubclass(warning, orq_nb.OrqWarning) and issubclass(warning, UserWarning)


def test_one_filter_silences_every_warning_and_wrong_arguments_stay_plain():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", orq_nb.OrqWarning)
        df = orq_nb.sessions_frame([session(1), session(1), 5], errors="skip")
    assert df["id"].tolist() == ["s1"]
    with pytest.raises(ValueError) as info:
        orq_nb.sessions_frame([], errors="sometimes")
    assert not isinstance(info.value, orq_nb.OrqError)
    with pytest.raises(orq_nb.OrqError, match="is not valid JSON"):
        orq_nb.read_sessions(io.StringIO("[1, 2"))


@pytest.mark.parametrize("name, content", [("sessions.csv", b"id,duration\ns1,10\n"),
                                           ("sessions.xlsx", b"PK\x03\x04 not really"),
                                           ("export.bin", b"\xff\xfe\x00binary"),
                                           ("x.py", b"import orq_nb\nprint(orq_nb.load_sample())\n"),
                                           ("notes", b"sessions of october\n")])
def test_other_formats_get_an_error_that_names_the_supported_ones(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(orq_nb.errors.SessionFileError, match=r"Parquet or Feather") as info:
        orq_nb.read_sessions(path)
    assert name in str(info.value) and isinstance(info.value, orq_nb.OrqError)


def test_a_dataframe_with_a_column_arrow_cannot_type_is_judged_row_by_row(expected):
    raw = [session(i) for i in range(3)]
    raw[1]["duration"] = "5"
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
        df = orq_nb.sessions_frame(pd.DataFrame(raw), errors="skip", rejects=rejects)
    assert df["id"].tolist() == ["s0", "s2"] and [(r.position, list(r.errors)) for r in rejects] == [
        (1, ["duration"])]
    frame = expected.head(3).copy()
    frame.loc[0, "tags"] = "rag"  # a string where a list belongs
    with pytest.raises(orq_nb.errors.SessionValidationError, match=r"record 0 .*tags: Not a valid list"):
        orq_nb.sessions_frame(frame)


def test_nanosecond_times_before_1970_truncate_as_the_schema_does():
    wire = session(0)
    table = pa.Table.from_pylist([wire])
    index = table.column_names.index("started_at")
    stamp = pd.Timestamp("1960-01-01 00:00:00.0000009")
    table = table.set_column(index, "started_at", pa.array([stamp], pa.timestamp("ns")))
    got = orq_nb.sessions_frame(table)["started_at"].iloc[0]
    want = orq_nb.schemas.SessionSchema().load(
        {**wire, "started_at": "1960-01-01T00:00:00.0000009"})["started_at"]
    assert got == pd.Timestamp(want)


@pytest.mark.parametrize("where", ["dicts", "json lines", "json array"])
def test_half_an_emoji_rejects_its_record_and_names_the_field(tmp_path, where):
    records = [session(0), session(1, title="cut \ud83d"), session(2, tags=["ok", "half \udc00"])]
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
        if where == "dicts":
            df = orq_nb.sessions_frame(records, errors="skip", rejects=rejects)
        else:
            path = tmp_path / ("s.jsonl" if where == "json lines" else "s.json")
            lines = where == "json lines"
            path.write_text("\n".join(map(json.dumps, records)) if lines else json.dumps(records))
            df = orq_nb.read_sessions(path, errors="skip", rejects=rejects)
    assert df["id"].tolist() == ["s0"]
    assert [(r.position, r.errors) for r in rejects] == [(1, {"title": ["Not a valid utf-8 string."]}),
                                                         (2, {"tags[1]": ["Not a valid utf-8 string."]})]
    df.to_json(date_format="iso")  # a frame never holds a string nothing can write
