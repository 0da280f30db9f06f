"""read_sessions: JSON arrays, envelopes, pages, JSON lines, gzip, file objects."""

from __future__ import annotations

import gzip
import io
import json

import pandas as pd
import pytest
from conftest import SEED, session

import orq_nb


def write(path, text: str):
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


RECORDS = [session(0), SEED, session(2)]
IDS = ["s0", "<id>", "s2"]
LAYOUTS = {
    "array.json": json.dumps(RECORDS, indent=2),
    "envelope.json": json.dumps({"object": "list", "data": RECORDS, "has_more": False}),
    "pages.json": json.dumps([{"object": "list", "data": RECORDS[:2], "has_more": True},
                              {"object": "list", "data": RECORDS[2:], "has_more": False}]),
    "lines.jsonl": "\n".join(json.dumps(r) for r in RECORDS) + "\n",
    "lines.ndjson": "\n\n".join(json.dumps(r) for r in RECORDS),
    "page-lines.jsonl": "\n".join(json.dumps({"object": "list", "data": [r], "has_more": True})
                                  for r in RECORDS),
}


@pytest.mark.parametrize("gz", ["", ".gz"])
@pytest.mark.parametrize("name", LAYOUTS)
def test_every_layout_loads_the_same_frame(tmp_path, name, gz):
    df = orq_nb.read_sessions(write(tmp_path / (name + gz), LAYOUTS[name]))
    assert df["id"].tolist() == IDS
    pd.testing.assert_frame_equal(df, orq_nb.sessions_frame(RECORDS))


@pytest.mark.parametrize("name", LAYOUTS)
def test_open_files_text_or_binary_are_read_by_content(name):
    text = LAYOUTS[name]
    assert orq_nb.read_sessions(io.StringIO(text))["id"].tolist() == IDS
    assert orq_nb.read_sessions(io.BytesIO(text.encode()))["id"].tolist() == IDS


def test_empty_array_gives_the_empty_layout(tmp_path):
    df = orq_nb.read_sessions(write(tmp_path / "empty.json", "[ ]"))
    assert len(df) == 0 and df.dtypes.to_dict() == orq_nb.schemas.DTYPES


def test_malformed_json_file_names_line_and_column(tmp_path):
    text = json.dumps(RECORDS, indent=2).replace('"s2"', '"s2",,', 1)
    path = write(tmp_path / "broken.json", text)
    line = text[: text.index(",,")].count("\n") + 1
    with pytest.raises(orq_nb.errors.SessionFileError,
                       match=rf"broken.json is not valid JSON: .* at line {line} "):
        orq_nb.read_sessions(path)


@pytest.mark.parametrize("text", ['[{"_id": 1}', "[1, 2] x", "{", "[1 2]"])
def test_truncated_or_trailing_garbage_is_a_file_error(tmp_path, text):
    with pytest.raises(orq_nb.errors.SessionFileError):
        orq_nb.read_sessions(write(tmp_path / "bad.json", text))


def test_bad_json_line_is_a_reject_with_its_line_number(tmp_path):
    lines = [json.dumps(session(0)), '{"_id": "s1", oops', json.dumps(session(2))]
    path = write(tmp_path / "x.jsonl", "\n".join(lines))
    with pytest.raises(orq_nb.errors.SessionValidationError,
                       match=r"record 1: \(json\): line 2: invalid JSON"):
        orq_nb.read_sessions(path)
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
        df = orq_nb.read_sessions(path, errors="skip", rejects=rejects)
    assert df["id"].tolist() == ["s0", "s2"]
    [reject] = rejects
    assert reject.position == 1 and reject.record == '{"_id": "s1", oops'


def test_positions_run_across_chunks(tmp_path):
    records = [session(i) for i in range(25)]
    records[7]["duration"] = -1
    records[23]["tags"] = "x"
    path = write(tmp_path / "many.jsonl", "\n".join(json.dumps(r) for r in records))
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
        df = orq_nb.read_sessions(path, errors="skip", rejects=rejects, chunk_size=4)
    assert [(r.position, r.id) for r in rejects] == [(7, "s7"), (23, "s23")]
    assert df["id"].tolist() == [f"s{i}" for i in range(25) if i not in (7, 23)]


def test_duplicates_across_chunks_keep_the_latest(tmp_path):
    records = [session(i) for i in range(6)] + [session(1, updated_at="2027-01-01T00:00:00Z")]
    path = write(tmp_path / "dup.json", json.dumps(records))
    with pytest.warns(orq_nb.errors.DuplicateSessionsWarning):
        df = orq_nb.read_sessions(path, chunk_size=2)
    assert df["id"].tolist() == ["s0", "s2", "s3", "s4", "s5", "s1"]


@pytest.mark.parametrize("name", ["array.json", "lines.jsonl", "pages.json", "envelope.json",
                                  "page-lines.jsonl"])
def test_compact_files_take_the_arrow_path(tmp_path, name, monkeypatch):
    from orq_nb.load import from_json, readers

    text = LAYOUTS[name] if name != "array.json" else json.dumps(RECORDS)
    path = write(tmp_path / name, text)
    taken = []
    original = from_json.parse_json
    monkeypatch.setattr(readers, "parse_json", lambda *a: taken.append(original(*a)) or taken[-1])
    assert orq_nb.read_sessions(path)["id"].tolist() == IDS
    assert taken and taken[0] is not None


def test_pretty_printed_arrays_fall_back_and_agree(tmp_path):
    from orq_nb.load import from_json

    data = bytearray(json.dumps(RECORDS, indent=2).encode())
    assert from_json.array_to_lines(data) is None
    compact = bytearray(json.dumps(RECORDS).encode())
    assert from_json.array_to_lines(compact).tolist()[0] == 0
    assert compact.count(b"\n") == len(RECORDS) - 1


@pytest.mark.parametrize("lines", [True, False])
def test_sessions_with_an_unknown_data_key_are_sessions(tmp_path, lines):
    records = [dict(session(i), data=[]) for i in range(3)]  # "data" alone does not make a page
    text = "\n".join(json.dumps(r) for r in records) if lines else json.dumps(records)
    path = write(tmp_path / ("x.jsonl" if lines else "x.json"), text)
    assert orq_nb.read_sessions(path)["id"].tolist() == ["s0", "s1", "s2"]
    assert orq_nb.sessions_frame(records)["id"].tolist() == ["s0", "s1", "s2"]


def test_pages_after_a_bare_session_are_flattened_too():
    page = {"object": "list", "data": [session(2)], "has_more": False}
    assert orq_nb.sessions_frame([session(1), page])["id"].tolist() == ["s1", "s2"]
    assert orq_nb.read_sessions(io.StringIO(json.dumps([session(1), page])))["id"].tolist() == ["s1", "s2"]
