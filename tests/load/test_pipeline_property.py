"""Property: the pipeline accepts exactly what SessionSchema(many=True).load accepts, with the same values.

For records in memory (either key style, with and without pandas' C dict reader),
JSON arrays and JSON lines on disk, and Arrow tables.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from orq_nb.load import from_records
from orq_nb.load.columns import COLUMNS
from orq_nb.load.fields import ISO_DATETIME
from orq_nb.load.frame import sessions_frame
from orq_nb.load.readers import read_sessions
from orq_nb.load.schemas import SessionSchema, key_aliases

numbers = st.one_of(
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=2**80),
)
bad_numbers = st.one_of(
    st.booleans(), st.sampled_from([math.nan, math.inf, -math.inf, np.nan, 10**400, "3", None]),
    st.sampled_from([-1, -0.5, -1e-300, -(2**70)]), st.floats(max_value=-1e-300),
    st.integers(max_value=-1), st.lists(st.integers(), max_size=1),
)
texts = st.text(max_size=4)
bad_texts = st.one_of(st.integers(), st.floats(), st.none(), st.lists(texts, max_size=1), st.just(np.nan))
string_lists = st.lists(texts, max_size=3)
bad_string_lists = st.one_of(
    texts, st.none(), st.lists(st.one_of(st.integers(), st.none(), texts), min_size=1, max_size=3),
    st.tuples(texts), st.dictionaries(texts, texts, max_size=1),
)


@st.composite
def iso_times(draw):
    moment = draw(st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)))
    text = moment.strftime("%Y-%m-%d") + draw(st.sampled_from("T ")) + moment.strftime("%H:%M:%S")
    digits = draw(st.integers(0, 9))
    if digits:
        text += "." + draw(st.text("0123456789", min_size=digits, max_size=digits))
    offset = draw(st.sampled_from(["", "Z", "+00:00", "+05:30", "-0800", "+14:00", "-23:59"]))
    return text + offset


times = st.one_of(iso_times(), st.none())
bad_times = st.one_of(
    st.from_regex(ISO_DATETIME, fullmatch=True), st.text(max_size=8), st.integers(),
    st.sampled_from(["2023-02-29T00:00:00", "0000-01-01T00:00:00", "9999-12-31T23:59:59-01:00",
                     "2023-01-01T24:00:00", "2023-01-01T23:59:60", "1500-01-01T00:00:00.123456789Z",
                     np.nan]),
)

REQUIRED = {"_id": (st.text(min_size=1, max_size=4), bad_texts | st.just("")),
            "external_id": (texts, bad_texts), "duration": (numbers, bad_numbers),
            "contact_ids": (string_lists, bad_string_lists), "tags": (string_lists, bad_string_lists),
            "traces_count": (numbers, bad_numbers)}
OPTIONAL = {"workspace_id": (texts | st.none(), bad_texts.filter(lambda v: v is not None)),
            "project_id": (texts | st.none(), bad_texts.filter(lambda v: v is not None)),
            "started_at": (times, bad_times), "updated_at": (times, bad_times),
            "title": (texts | st.none(), bad_texts.filter(lambda v: v is not None)),
            "client": (texts, st.integers()), "repo": (texts, st.integers()), "kind": (texts, st.integers())}
NESTED = {"billing": ("input_cost", "output_cost", "total_cost"),
          "usage": ("prompt_tokens", "completion_tokens", "total_tokens")}


SPOILABLE = [*REQUIRED, *OPTIONAL, *NESTED, *(k for keys in NESTED.values() for k in keys), "(record)"]


def put(draw, out: dict, key: str, good, bad, required: bool, spoil: str | None) -> None:
    """Write ``key`` in one key style or both; spoil it if it is the one chosen."""
    aliases = key_aliases(key)
    styles = ["wire", "camel", "both"] + ([] if required else ["none"])
    how = draw(st.sampled_from(styles))
    value = draw(good)
    if key == spoil:
        how, value = draw(st.sampled_from(
            [("wire", draw(bad)), ("camel", draw(bad)), ("clash", value), ("none", value)]
            if required else [("wire", draw(bad)), ("camel", draw(bad)), ("clash", value)]))
    if how == "none":
        return
    if len(aliases) == 1 or how == "wire":
        out[aliases[0]] = value
    elif how == "camel":
        out[aliases[1]] = value
    else:
        out[aliases[0]] = value
        out[aliases[1]] = value if how == "both" else draw(good.filter(lambda v: v != value))


@st.composite
def records(draw, bad: bool = True):
    """A session record with at most one thing wrong (``bad``: maybe one)."""
    spoil = draw(st.sampled_from([None, *SPOILABLE])) if bad else None
    if spoil == "(record)":
        return draw(st.one_of(st.none(), st.integers(), texts, st.lists(st.integers(), max_size=1)))
    out: dict = {}
    for key, (good, wrong) in REQUIRED.items():
        put(draw, out, key, good, wrong, True, spoil)
    for key, (good, wrong) in OPTIONAL.items():
        put(draw, out, key, good, wrong, False, spoil)
    for parent, keys in NESTED.items():
        if spoil == parent:
            out[parent] = draw(st.one_of(st.none(), st.lists(st.integers(), max_size=1), texts))
            continue
        inner: dict = {}
        for key in keys:
            put(draw, inner, key, numbers, bad_numbers, True, spoil)
        if draw(st.booleans()):
            inner["x_" + draw(texts)] = draw(st.integers())  # unknown nested key
        out[parent] = inner
    if draw(st.booleans()):
        out["x_" + draw(texts)] = draw(st.one_of(st.integers(), st.just(np.nan), texts))
    return out


def expected(batch: list) -> tuple[list[int], list[dict]]:
    """What SessionSchema(many=True).load accepts: positions and loaded records."""
    try:
        loaded = SessionSchema(many=True).load(batch)
        return list(range(len(batch))), loaded
    except ValidationError as error:
        bad = set(error.messages)
        keep = [i for i in range(len(batch)) if i not in bad]
        return keep, [SessionSchema().load(batch[i]) for i in keep]


def row_values(row: pd.Series) -> dict:
    out = {}
    for column in COLUMNS:
        value = row[column.name]
        if column.kind == "datetime":
            value = None if pd.isna(value) else value.to_pydatetime()
        elif column.kind == "text" and pd.isna(value):
            value = None
        out[column.name] = value
    return out


def loaded_values(record: dict) -> dict:
    out = {}
    for column in COLUMNS:
        value = record
        for attr in column.attrs:
            value = value.get(attr) if value is not None else None
        out[column.name] = value
    return out


def unique_ids(record, i: int):
    """Prefix string ids with the position, so that no two records share one."""
    if not isinstance(record, dict):
        return record
    prefix = {str: f"{i}:", bytes: f"{i}:".encode()}
    return {k: prefix[type(v)] + v if k in ("_id", "id") and type(v) in prefix else v
            for k, v in record.items()}


def check(batch: list) -> None:
    batch = [unique_ids(record, i) for i, record in enumerate(batch)]
    rejects: list = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = sessions_frame(batch, errors="skip", rejects=rejects)
    compare(batch, frame, rejects)


def check_file(batch: list, lines: bool) -> None:
    """Write ``batch`` as a JSON array or JSON lines; reading it must agree with the schema."""
    batch = [unique_ids(record, i) for i, record in enumerate(batch)]
    try:
        texts = [json.dumps(record) for record in batch]
    except (TypeError, ValueError):
        assume(False)
    batch = [json.loads(text) for text in texts]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("s.jsonl" if lines else "s.json")
        path.write_text("\n".join(texts) if lines else "[" + ",\n ".join(texts) + "]")
        rejects: list = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = read_sessions(path, errors="skip", rejects=rejects)
    compare(batch, frame, rejects)


def compare(batch: list, frame: pd.DataFrame, rejects: list) -> None:
    keep, loaded = expected(batch)
    assert sorted(r.position for r in rejects) == sorted(set(range(len(batch))) - set(keep))
    assert len(frame) == len(keep)
    got = [row_values(row) for _, row in frame.iterrows()]
    want = [loaded_values(r) for r in loaded]
    assert got == want


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(records(), max_size=12))
def test_fast_loader_accepts_exactly_what_the_schema_accepts(batch):
    check(batch)


@SETTINGS
@given(st.lists(records(bad=False), min_size=1, max_size=8))
def test_valid_records_load_to_schema_values(batch):
    check(batch)


@settings(SETTINGS, max_examples=100)
@given(st.lists(records(), min_size=1, max_size=10), st.booleans())
def test_files_agree_with_the_schema(batch, lines):
    check_file(batch, lines)


@settings(SETTINGS, max_examples=80)
@given(st.lists(records(), max_size=12))
def test_pure_python_table_reader_agrees(batch):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(from_records, "dicts_to_array", None)
        check(batch)


EDGE_VALUES = {
    "number": [True, False, -1, -0.5, -1e-300, -0.0, 0, 2**70, 10**400,
               math.nan, np.nan, math.inf, "3", None],
    "count": [True, False, -1, -0.5, 0, 0.5, 1.5, 2.5, 3.0, 6845.06, 2**53, 2**53 + 2, 2**70, 10**400,
              math.nan, math.inf, "3", None],
    "text": ["", "x", 3, None, np.nan, ["x"], b"x"],
    "strings": [[], ["a"], "a", None, [1], ["a", None], ("a",), np.nan],
    "datetime": ["2026-01-01T00:00:00Z", "2026-01-01", "2026-13-01T00:00:00", "0000-01-01T00:00:00",
                 "9999-12-31T23:59:59-01:00", "1500-01-01T00:00:00.123456789Z", 5, None, np.nan],
}


@pytest.mark.parametrize("column", COLUMNS, ids=[c.name for c in COLUMNS])
def test_every_edge_value_in_every_column_is_judged_like_the_schema(column):
    from conftest import session

    batch = []
    for i, value in enumerate(EDGE_VALUES[column.kind]):
        for alias in column.aliases:
            record = session(i)
            holder = record if len(column.path) == 1 else record[column.path[0][0]]
            holder.pop(column.aliases[0], None)
            holder[alias] = value
            batch.append(record)
    check(batch)
    check_file([r for r in batch if b"x" not in r.values()], lines=False)


# Arrow tables (Parquet and Feather files, or tables given): every column has one Arrow type,
# so values vary within it; a null counts as an absent key, as README says.
table_numbers = st.one_of(st.none(), numbers.filter(lambda v: v < 2**53),
                          st.sampled_from([-1.0, -0.0, math.nan, math.inf]))
table_texts = st.one_of(st.none(), texts)
table_lists = st.one_of(st.none(), st.lists(st.one_of(texts, st.none()), max_size=3))
table_times = st.one_of(st.none(), iso_times(), st.sampled_from(
    ["2023-02-29T00:00:00", "0000-01-01T00:00:00", "2023-01-01T24:00:00", "x", "2023-01-01"]))
TABLE_KINDS = {"text": table_texts, "number": table_numbers, "count": table_numbers, "strings": table_lists,
               "datetime": table_times}


def _drop_nulls(value):
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


@st.composite
def session_tables(draw):
    """A wire-form table in one key style: typed columns, nested structs, nulls anywhere."""
    rows = draw(st.integers(1, 8))
    style = draw(st.sampled_from([0, -1]))  # the wire key or its camelCase
    records = [{} for _ in range(rows)]
    for column in COLUMNS:
        key = column.aliases[style]
        for i in range(rows):
            holder = records[i]
            for parent in column.wire_path[:-1]:
                holder = holder.setdefault(parent, {})
            holder[key] = draw(TABLE_KINDS[column.kind])
    for i in range(rows):
        if draw(st.integers(0, 9)) == 0:
            records[i][draw(st.sampled_from(["billing", "usage"]))] = None
        for key in ("_id", "id"):  # unique ids, so that no duplicate is dropped
            if isinstance(records[i].get(key), str):
                records[i][key] = f"{i}:" + records[i][key]
    return pa.Table.from_pylist(records)


@SETTINGS
@given(session_tables())
def test_arrow_tables_agree_with_the_schema(table):
    rows = [_drop_nulls(row) for row in table.to_pylist()]
    rejects: list = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = sessions_frame(table, errors="skip", rejects=rejects)
    compare(rows, frame, rejects)
