"""SessionSchema: both key styles, strict numbers and times, unknown keys ignored."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import SEED
from marshmallow import ValidationError

from orq_nb.load.schemas import SessionListSchema, SessionSchema, key_aliases

UTC = dt.UTC


def load(record):
    return SessionSchema().load(record)


def messages(record):
    with pytest.raises(ValidationError) as info:
        load(record)
    return info.value.messages


def test_seed_example_loads_with_every_value_preserved_and_counts_whole(seed):
    out = load(seed)
    assert out == {
        "id": "<id>", "external_id": "<id>", "duration_ms": 5045.15, "contact_ids": ["<value>"],
        "tags": ["<value>"],
        "billing": {"input_cost": 5555.25, "output_cost": 4733.47, "total_cost": 1894.97},
        # The reference's placeholder counts carry fractions; a count is a whole number (halves to even).
        "usage": {"prompt_tokens": 6845, "completion_tokens": 3268, "total_tokens": 2327},
        "traces_count": 9870, "workspace_id": "<id>",
    }
    assert all(type(v) is int for v in [*out["usage"].values(), out["traces_count"]])


def test_wire_form_loads_and_times_become_utc(wire):
    out = load(wire)
    assert out["id"] == "ses_1" and out["duration_ms"] == 1500.0
    assert out["started_at"] == dt.datetime(2026, 10, 1, 12, tzinfo=UTC)
    assert out["updated_at"] == dt.datetime(2026, 10, 1, 12, 0, 1, 500000, tzinfo=UTC)
    assert out["client"] is None and out["project_id"] == "p1"


def test_wire_id_may_also_arrive_as_id(wire):
    wire["id"] = wire.pop("_id")
    assert load(wire)["id"] == "ses_1"


def test_same_field_in_both_styles_must_agree(wire):
    assert load({**wire, "externalId": "thread_1"})["external_id"] == "thread_1"
    assert "external_id" in messages({**wire, "externalId": "other"})
    wire["billing"]["totalCost"] = 9.0
    assert "total_cost" in messages(wire)["billing"]


def test_unknown_keys_are_ignored_at_every_depth(wire):
    wire["brand_new"] = {"x": 1}
    wire["billing"]["currency"] = "USD"
    wire["usage"]["cached_tokens"] = 7
    out = load(wire)
    assert "brand_new" not in out and out["billing"] == {
        "input_cost": 0.01, "output_cost": 0.02, "total_cost": 0.03}


@pytest.mark.parametrize("value, reason", [
    (True, "Not a valid number."),
    ("12", "Not a valid number."),
    (float("nan"), "Special numeric values (nan or infinity) are not permitted."),
    (float("inf"), "Special numeric values (nan or infinity) are not permitted."),
    (-0.5, "Must be greater than or equal to 0."),
    (None, "Field may not be null."),
    (10**400, "Number too large."),
])
def test_numbers_are_finite_non_negative_and_not_bool(wire, value, reason):
    wire["billing"]["total_cost"] = value
    assert messages(wire) == {"billing": {"total_cost": [reason]}}


@pytest.mark.parametrize("field", ["duration", "traces_count"])
def test_negative_duration_and_traces_are_rejected(wire, field):
    wire[field] = -1
    assert field in messages(wire)


@pytest.mark.parametrize("tags, expected", [
    ("rag", {"tags": ["Not a valid list."]}),
    (["ok", 3], {"tags": {1: ["Not a valid string."]}}),
    (None, {"tags": ["Field may not be null."]}),
])
def test_tags_are_a_list_of_strings(wire, tags, expected):
    wire["tags"] = tags
    assert messages(wire) == expected


@pytest.mark.parametrize("text, expected", [
    ("2023-11-07T05:31:56Z", dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
    ("2023-11-07T05:31:56", dt.datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)),
    ("2023-11-07 05:31:56.25+02:00", dt.datetime(2023, 11, 7, 3, 31, 56, 250000, tzinfo=UTC)),
    ("2023-11-07T05:31:56.123456789-0130", dt.datetime(2023, 11, 7, 7, 1, 56, 123456, tzinfo=UTC)),
])
def test_times_accept_offsets_fractions_and_naive_as_utc(wire, text, expected):
    wire["started_at"] = text
    assert load(wire)["started_at"] == expected


@pytest.mark.parametrize("text", ["2023-02-29T00:00:00Z", "2023-11-07", "yesterday", "2023-11-07T05:31:56.Z",
                                  "0001-01-01T00:00:00+01:00", "２０２３-11-07T05:31:56Z"])
def test_impossible_or_malformed_times_are_rejected(wire, text):
    wire["started_at"] = text
    assert messages(wire) == {"started_at": ["Not a valid datetime."]}


def test_missing_required_fields_are_named(wire):
    del wire["billing"], wire["tags"]
    assert messages(wire) == {"billing": ["Missing data for required field."],
                              "tags": ["Missing data for required field."]}


def test_project_may_be_missing_or_null(wire):
    wire["project_id"] = None
    assert load(wire)["project_id"] is None
    del wire["project_id"]
    assert "project_id" not in load(wire)


def test_non_object_record_is_rejected():
    with pytest.raises(ValidationError) as info:
        load(["not", "a", "record"])
    assert info.value.messages == {"_schema": ["Invalid input type."]}


def test_list_envelope_loads_in_both_styles(wire):
    page = SessionListSchema().load({"object": "list", "data": [wire, SEED], "has_more": False})
    assert [s["id"] for s in page["data"]] == ["ses_1", "<id>"] and page["has_more"] is False
    assert SessionListSchema().load({"data": [], "hasMore": True})["has_more"] is True


def test_key_aliases_derive_camel_case():
    assert key_aliases("traces_count") == ("traces_count", "tracesCount")
    assert key_aliases("_id") == ("_id", "id")
    assert key_aliases("tags") == ("tags",)
