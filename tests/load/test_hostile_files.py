"""Files as exporters and networks leave them: bad bytes, cut archives, empty files, huge numbers."""

from __future__ import annotations

import copy
import gzip
import json

import pytest
from conftest import WIRE

import orq_nb


def line(i: int, **changes) -> bytes:
    record = copy.deepcopy(WIRE)
    record.update(_id=f"s{i}", external_id=f"t{i}", **changes)
    return json.dumps(record).encode()


def skip_the_middle(tmp_path, suffix: str, middle: bytes) -> tuple:
    """Sessions s1, the given record, s3 in a file (lines or an array), read with errors="skip"."""
    rows = [line(1), middle, line(3)]
    path = tmp_path / f"s{suffix}"
    path.write_bytes(b"\n".join(rows) + b"\n" if suffix == ".jsonl" else b"[" + b",".join(rows) + b"]")
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
        df = orq_nb.read_sessions(path, errors="skip", rejects=rejects)
    return path, df, rejects


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_bytes_that_are_not_utf8_reject_their_record_naming_the_field(tmp_path, suffix):
    bad = line(2, title="x").replace(b'"x"', b'"caf\xe9 \xf0\x9f"')  # Latin-1, then half an emoji
    path, df, rejects = skip_the_middle(tmp_path, suffix, bad)
    assert df["id"].tolist() == ["s1", "s3"]
    assert [(r.position, r.id, list(r.errors)) for r in rejects] == [(1, "s2", ["title"])]
    df.to_json(date_format="iso")  # only valid text: it writes out (such a frame used to kill the process)
    with pytest.raises(orq_nb.errors.SessionValidationError, match="title"):
        orq_nb.read_sessions(path)


def test_an_empty_file_is_an_empty_frame_as_json_lines_and_an_error_as_json(tmp_path):
    (tmp_path / "e.jsonl").write_bytes(b"")
    (tmp_path / "e.json").write_bytes(b"")
    df = orq_nb.read_sessions(tmp_path / "e.jsonl")
    assert df.empty and df.dtypes.to_dict() == orq_nb.schemas.DTYPES
    with pytest.raises(orq_nb.errors.SessionFileError, match="e.json"):
        orq_nb.read_sessions(tmp_path / "e.json")


def test_a_truncated_gz_names_the_file_or_keeps_what_came_before_the_cut(tmp_path):
    whole = b"\n".join(line(i) for i in range(3000)) + b"\n"
    packed = gzip.compress(whole)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(orq_nb.errors.SessionFileError, match="cut.jsonl.gz ends mid-way"):
        orq_nb.read_sessions(path)
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
        df = orq_nb.read_sessions(path, errors="skip", rejects=rejects)
    assert 0 < len(df) < 3000 and df["id"].tolist() == [f"s{i}" for i in range(len(df))]  # whole records
    [cut] = rejects
    assert cut.position == len(df) and "truncated gzip" in cut.errors["(file)"][0]
    assert f"after line {len(df):,}" in cut.errors["(file)"][0]
    array = tmp_path / "cut.json.gz"
    array.write_bytes(gzip.compress(b"[" + b",".join(line(i) for i in range(50)) + b"]")[:-12])
    with pytest.raises(orq_nb.errors.SessionFileError, match="cut.json.gz ends mid-way"):
        orq_nb.read_sessions(array, errors="skip")  # half an array has no record boundary to trust


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_number_too_long_for_int_rejects_that_record_only(tmp_path, suffix):
    huge = line(2).replace(b'"duration": 1500', b'"duration": ' + b"9" * 5000)
    _, df, rejects = skip_the_middle(tmp_path, suffix, huge)
    assert df["id"].tolist() == ["s1", "s3"]
    assert [(r.id, list(r.errors)) for r in rejects] == [("s2", ["duration"])]
