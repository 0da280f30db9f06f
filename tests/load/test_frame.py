"""sessions_frame: fixed columns and dtypes, envelopes, errors, duplicates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import session

import orq_nb
from orq_nb.load import from_records
from orq_nb.load.columns import COLUMNS
from orq_nb.load.convert import loaded_table, to_frame
from orq_nb.load.schemas import SessionSchema
from orq_nb.testing.synthetic import generate_sessions

EXPECTED_COLUMNS = [
    "id", "external_id", "duration_ms", "contact_ids", "tags", "input_cost", "output_cost",
    "total_cost", "prompt_tokens", "completion_tokens", "total_tokens", "traces_count",
    "workspace_id", "project_id", "started_at", "updated_at", "title", "client", "repo", "kind",
]


def assert_layout(df: pd.DataFrame) -> None:
    assert list(df.columns) == EXPECTED_COLUMNS
    assert df.dtypes.to_dict() == orq_nb.schemas.DTYPES
    assert isinstance(df.index, pd.RangeIndex) and df.index.start == 0


def test_columns_and_dtypes_are_derived_from_the_schema():
    fields = SessionSchema().fields
    nested = {"billing", "usage"}
    flat = [n for n in fields if n not in nested]
    assert set(orq_nb.schemas.COLUMN_NAMES) == set(flat) | set(fields["billing"].schema.fields) | set(
        fields["usage"].schema.fields)
    assert list(orq_nb.schemas.COLUMN_NAMES) == EXPECTED_COLUMNS
    kinds = {c.name: str(c.dtype) for c in COLUMNS}
    assert kinds["duration_ms"] == "float64" and kinds["started_at"] == "datetime64[us, UTC]"
    assert kinds["project_id"] == "str" and kinds["tags"] == "object"


@pytest.mark.parametrize("empty", [[], {"object": "list", "data": [], "has_more": False}, iter(())])
def test_empty_input_has_the_fixed_layout(empty):
    df = orq_nb.sessions_frame(empty)
    assert len(df) == 0
    assert_layout(df)


def test_seed_example_loads_to_the_fixed_columns(seed):
    with pytest.warns(orq_nb.errors.RoundedCountsWarning,
                      match=r"record 0 \(id '<id>'\): prompt_tokens, completion_tokens, total_tokens, "
                            r"traces_count"):
        df = orq_nb.sessions_frame([seed])
    assert_layout(df)
    row = df.iloc[0]
    assert (row["id"], row["external_id"], row["workspace_id"]) == ("<id>", "<id>", "<id>")
    assert row["tags"] == ["<value>"] and row["contact_ids"] == ["<value>"]
    assert row[["duration_ms", "input_cost", "output_cost", "total_cost"]].tolist() == [
        5045.15, 5555.25, 4733.47, 1894.97]
    assert row[["prompt_tokens", "completion_tokens", "total_tokens", "traces_count"]].tolist() == [
        6845, 3268, 2327, 9870]
    counts = ["prompt_tokens", "completion_tokens", "total_tokens", "traces_count"]
    assert {str(df[c].dtype) for c in counts} == {"Int64"}
    assert pd.isna(row["project_id"]) and pd.isna(row["started_at"])


def test_wire_envelope_and_pages_and_mixed_styles_load(seed, wire):
    page1 = {"object": "list", "data": [wire, seed], "has_more": True}
    page2 = {"object": "list", "data": [session(2)], "has_more": False}
    assert orq_nb.sessions_frame(page1)["id"].tolist() == ["ses_1", "<id>"]
    df = orq_nb.sessions_frame([page1, page2])
    assert_layout(df)
    assert df["id"].tolist() == ["ses_1", "<id>", "s2"]
    assert df.loc[0, "started_at"] == pd.Timestamp("2026-10-01T12:00:00Z")


def test_envelope_with_data_not_a_list_is_an_error():
    with pytest.raises(ValueError, match="page 0: 'data' must be a list"):
        orq_nb.sessions_frame({"object": "list", "data": {"a": 1}, "has_more": False})


BAD = [
    ("missing required field", lambda r: r.pop("billing"), "billing", "Missing data for required field."),
    ("wrong type", lambda r: r.update(external_id=7), "external_id", "Not a valid string."),
    ("NaN", lambda r: r.update(duration=float("nan")), "duration", "Special numeric values"),
    ("negative cost", lambda r: r["billing"].update(total_cost=-1), "billing.total_cost",
     "Must be greater than or equal to 0."),
    ("bool as number", lambda r: r["usage"].update(total_tokens=True), "usage.total_tokens",
     "Not a valid number."),
    ("tags not a list", lambda r: r.update(tags="rag"), "tags", "Not a valid list."),
]


@pytest.mark.parametrize("what, spoil, field, reason", BAD, ids=[b[0] for b in BAD])
def test_bad_record_error_names_record_and_field(what, spoil, field, reason):
    records = [session(i) for i in range(5)]
    spoil(records[3])
    with pytest.raises(orq_nb.errors.SessionValidationError) as info:
        orq_nb.sessions_frame(records)
    text = str(info.value)
    assert "1 of 5 session records are invalid" in text
    assert f"record 3 (id 's3'): {field}: {reason}" in text
    [reject] = info.value.rejects
    assert (reject.position, reject.id) == (3, "s3") and field in reject.errors
    assert reject.record is records[3]


def test_non_object_record_is_named_by_position():
    with pytest.raises(orq_nb.errors.SessionValidationError,
                       match=r"record 1: \(record\): Invalid input type"):
        orq_nb.sessions_frame([session(0), "oops", session(2)])


def test_skip_returns_every_other_row_and_all_rejects():
    records = [session(i) for i in range(8)]
    for i, (_, spoil, _, _) in zip([1, 2, 4, 5, 6, 7], BAD, strict=True):
        spoil(records[i])
    records.append(42)
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning,
                      match="7 of 9 session records were invalid") as info:
        df = orq_nb.sessions_frame(records, errors="skip", rejects=rejects)
    assert df["id"].tolist() == ["s0", "s3"]
    assert_layout(df)
    assert [r.position for r in rejects] == [1, 2, 4, 5, 6, 7, 8]
    assert [r.id for r in rejects] == ["s1", "s2", "s4", "s5", "s6", "s7", None]
    assert info[0].message.rejects == rejects
    table = orq_nb.errors.Rejects(rejects).to_frame()
    assert list(table.columns) == ["position", "id", "field", "reason", "record"]
    assert table.loc[table.position == 5, "field"].tolist() == ["billing.total_cost"]


def test_error_message_lists_a_few_and_carries_all():
    records = [session(i, duration=-1) for i in range(12)]
    with pytest.raises(orq_nb.errors.SessionValidationError) as info:
        orq_nb.sessions_frame(records)
    assert len(info.value.rejects) == 12
    assert "... and 7 more" in str(info.value)


def test_errors_policy_is_checked():
    with pytest.raises(ValueError, match="errors must be 'raise' or 'skip'"):
        orq_nb.sessions_frame([], errors="ignore")


def test_duplicate_ids_keep_the_most_recently_updated():
    old = session(1, updated_at="2026-10-01T00:00:00Z", title="old")
    new = session(1, updated_at="2026-10-02T00:00:00Z", title="new")
    undated = session(1, title="undated")
    del undated["updated_at"]
    with pytest.warns(orq_nb.errors.DuplicateSessionsWarning, match="2 records repeated 1 session ids"):
        df = orq_nb.sessions_frame([session(0), new, undated, old, session(2)])
    assert df["id"].tolist() == ["s0", "s1", "s2"]
    assert df.loc[1, "title"] == "new"


def test_equal_duplicates_keep_the_later_record():
    with pytest.warns(orq_nb.errors.DuplicateSessionsWarning):
        df = orq_nb.sessions_frame([session(1, title="a"), session(1, title="b")])
    assert df["title"].tolist() == ["b"]


def test_no_warning_without_duplicates_or_rejects():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        orq_nb.sessions_frame([session(i) for i in range(3)])


def test_records_are_not_modified(wire):
    snapshot = repr(wire)
    orq_nb.sessions_frame([wire, {**wire, "externalId": "thread_1", "_id": "x"}])
    assert repr(wire) == snapshot


def schema_frame(records):
    return to_frame(loaded_table(SessionSchema(many=True).load(records)))


def test_fast_loader_matches_the_schema_on_synthetic_data():
    records = generate_sessions(3000, seed=3)
    pd.testing.assert_frame_equal(orq_nb.sessions_frame(records), schema_frame(records))


def test_pure_python_table_reader_matches(monkeypatch):
    records = generate_sessions(700, seed=4)
    monkeypatch.setattr(from_records, "dicts_to_array", None)
    pd.testing.assert_frame_equal(orq_nb.sessions_frame(records), schema_frame(records))


def test_unknown_keys_and_nulls_take_the_careful_path_and_still_load(wire):
    records = [dict(wire, _id=f"s{i}", extra=i, project_id=None) for i in range(5)]
    records[2]["title"] = np.nan
    rejects = []
    with pytest.warns(orq_nb.errors.SessionsSkippedWarning):
        df = orq_nb.sessions_frame(records, errors="skip", rejects=rejects)
    assert df["id"].tolist() == ["s0", "s1", "s3", "s4"]
    assert df["project_id"].isna().all()
    assert [(r.position, r.reason) for r in rejects] == [(2, "title: Not a valid string.")]
