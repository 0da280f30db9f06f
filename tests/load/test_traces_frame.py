"""Traces and spans frames: one schema, fixed dtypes, clear rejects, and a sample that adds up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import orq_nb
from orq_nb.errors import TracesSkippedWarning, TraceValidationError
from orq_nb.schemas import SPAN_DTYPES, TRACE_DTYPES

TRACE = {"trace_id": "t1", "thread_id": "th1", "session_id": "own", "status": "ok",
         "started_at": "2026-10-01T10:00:00Z", "ended_at": "2026-10-01T10:00:02.5+02:00", "duration_ms": 2500,
         "project_id": "p", "models": ["gpt-4o"], "providers": ["openai"],
         "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                   "prompt_cached_tokens": 40},
         "cost": {"input": 0.01, "output": 0.02, "cache_read": 0.001, "total": 0.031, "billable": True}}


def test_a_trace_loads_with_costs_renamed_and_its_own_session_id_kept_apart():
    df = orq_nb.traces_frame([TRACE], session_ids=["ses_1"])
    row = df.iloc[0]
    assert row["session_id"] == "ses_1" and row["trace_session_id"] == "own"
    assert (row["input_cost"], row["output_cost"], row["cache_read_cost"], row["total_cost"]) == (
        0.01, 0.02, 0.001, 0.031)
    assert row["prompt_cached_tokens"] == 40 and pd.isna(row["completion_reasoning_tokens"])
    assert row["ended_at"] == pd.Timestamp("2026-10-01T08:00:02.5Z")
    assert df.dtypes.to_dict() == TRACE_DTYPES


@pytest.mark.parametrize("records", [[], [TRACE], [{"trace_id": "bare"}]])
def test_dtypes_are_fixed_whatever_the_records_hold(records):
    assert orq_nb.traces_frame(records).dtypes.to_dict() == TRACE_DTYPES
    spans = [{**r, "span_id": "s" + str(i)} for i, r in enumerate(records)]
    assert orq_nb.spans_frame(spans).dtypes.to_dict() == SPAN_DTYPES


def test_camel_case_keys_load_as_the_wire_form_does():
    camel = {"traceId": "t1", "threadId": "th1", "startedAt": "2026-10-01T10:00:00Z",
             "usage": {"promptTokens": 100, "promptCachedTokens": 40}, "cost": {"cacheRead": 0.001}}
    got = orq_nb.traces_frame([camel]).iloc[0]
    assert (got["trace_id"], got["thread_id"], got["prompt_cached_tokens"], got["cache_read_cost"]) == (
        "t1", "th1", 40, 0.001)


def test_a_bad_record_is_named_with_its_field_and_none_is_lost():
    bad = [TRACE, {**TRACE, "trace_id": "t2", "cost": {"total": -1}},
           {**TRACE, "trace_id": "t3", "started_at": "yesterday"}, {"thread_id": "no id"}]
    with pytest.raises(TraceValidationError) as error:
        orq_nb.traces_frame(bad)
    text = str(error.value)
    assert "record 1 (id 't2'): cost.total" in text and "record 2 (id 't3'): started_at" in text
    assert "record 3: trace_id" in text and len(error.value.rejects) == 3
    rejects: list = []
    with pytest.warns(TracesSkippedWarning, match="3 of 4 trace records"):
        kept = orq_nb.traces_frame(bad, errors="skip", rejects=rejects)
    assert kept["trace_id"].tolist() == ["t1"] and [r.position for r in rejects] == [1, 2, 3]


def test_the_fast_path_and_marshmallow_agree_on_every_value():
    records = orq_nb.load_sample("traces").head(0)  # dtypes only
    raw = [TRACE, {**TRACE, "trace_id": "t2", "usage": {"prompt_tokens": 7.0}},  # a whole float: plain
           {**TRACE, "trace_id": "t3", "usage": {"prompt_tokens": 7.4}}]  # a fraction: marshmallow rounds
    df = orq_nb.traces_frame(raw)
    assert df["prompt_tokens"].tolist() == [100, 7, 7]
    assert df.dtypes.to_dict() == records.dtypes.to_dict()


def test_a_conversation_keeps_every_item_and_reads_text_from_parts():
    from orq_nb.load.traces import conversation_frame

    items = [{"role": "user", "content": "hi"},
             {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
             {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    df = conversation_frame({"span_id": "s", "items": items}, "t1")
    assert df["role"].tolist() == ["user", "assistant", "assistant"]
    assert df["text"].tolist()[0] == "hi" and pd.isna(df["text"][1]) and df["text"][2] == "a\nb"
    assert df["item"][1]["tool_calls"] == [{"id": "c1"}] and df["position"].tolist() == [0, 1, 2]


def test_the_samples_spans_add_up_to_their_traces_and_sessions():
    sessions, traces, spans = (orq_nb.load_sample(w) for w in ("sessions", "traces", "spans"))
    assert traces["session_id"].notna().all() and spans["session_id"].notna().all()
    counts = traces.groupby("session_id").size()
    assert (counts == sessions.set_index("id")["traces_count"].loc[counts.index]).all()
    assert len(counts) == len(sessions)
    for parent, key, child in ((traces, "trace_id", spans), (sessions.rename(columns={"id": "session_id"}),
                                                              "session_id", traces)):
        sums = child.groupby(key)[["prompt_tokens", "completion_tokens", "total_cost"]].sum()
        want = parent.set_index(key).loc[sums.index]
        assert (sums["prompt_tokens"] == want["prompt_tokens"]).all()
        assert (sums["completion_tokens"] == want["completion_tokens"]).all()
        np.testing.assert_allclose(sums["total_cost"], want["total_cost"], rtol=1e-9, atol=1e-9)
    assert (spans["prompt_cached_tokens"].fillna(0) <= spans["prompt_tokens"].fillna(0)).all()
    assert set(spans["model"].dropna()) == {"gpt-4o", "gpt-4o-mini", "claude-sonnet", "claude-haiku",
                                            "llama-70b"}


def test_the_sample_files_rebuild_byte_for_byte(tmp_path):
    from orq_nb.load.sample import SAMPLE_SPANS_PATH, SAMPLE_TRACES_PATH
    from orq_nb.testing.synthetic_traces import write_trace_samples

    traces, spans = write_trace_samples(tmp_path / "t.jsonl.gz", tmp_path / "s.jsonl.gz")
    assert traces.read_bytes() == SAMPLE_TRACES_PATH.read_bytes()
    assert spans.read_bytes() == SAMPLE_SPANS_PATH.read_bytes()


def test_load_sample_names_what_it_has():
    with pytest.raises(ValueError, match="'sessions', 'traces' or 'spans'"):
        orq_nb.load_sample("span")


def test_times_in_any_iso_form_load_and_an_impossible_date_is_named():
    records = [{"trace_id": "a", "started_at": "2024-01-01T00:00:00Z"},
               {"trace_id": "b", "started_at": "2024-01-01T00:00:00.123Z"},
               {"trace_id": "c", "started_at": "2024-01-01T02:00:00.5+02:00",
                "usage": {"prompt_tokens": 3.0}},  # a whole float: the schema loads it; isoformat drops .0
               {"trace_id": "d", "started_at": "2024-02-30T00:00:00Z"},
               {"trace_id": "e", "name": "half an emoji \ud83d"}]
    rejects: list = []
    with pytest.warns(TracesSkippedWarning, match="2 of 5"):
        df = orq_nb.traces_frame(records, errors="skip", rejects=rejects)
    assert df["started_at"].tolist() == [pd.Timestamp("2024-01-01T00:00:00Z"),
                                         pd.Timestamp("2024-01-01T00:00:00.123Z"),
                                         pd.Timestamp("2024-01-01T00:00:00.5Z")]
    assert [(r.id, list(r.errors)) for r in rejects] == [("d", ["started_at"]), ("e", ["name"])]
