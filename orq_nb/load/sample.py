"""The bundled sample: realistic sessions, with their traces and spans, to try orq_nb without an API key."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Literal

import pandas as pd

from orq_nb.load.readers import read_sessions
from orq_nb.load.traces import join_sessions, spans_frame, traces_frame

__all__ = ["load_sample", "SAMPLE_PATH", "SAMPLE_TRACES_PATH", "SAMPLE_SPANS_PATH"]

_DATA = Path(__file__).with_name("data")
SAMPLE_PATH = _DATA / "sample_sessions.jsonl.gz"
SAMPLE_TRACES_PATH = _DATA / "sample_traces.jsonl.gz"
SAMPLE_SPANS_PATH = _DATA / "sample_spans.jsonl.gz"


def _lines(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def load_sample(what: Literal["sessions", "traces", "spans"] = "sessions") -> pd.DataFrame:
    """Return the bundled sample's sessions, or the traces or spans under them, as a DataFrame.

    4,000 deterministic synthetic sessions over the 90 days before
    2026-11-01 UTC: five projects, a model tag plus Zipf-distributed labels,
    heavy-tailed durations and costs that follow token counts, a few sessions
    without tags or project. The raw file mixes wire-form and Node SDK records.
    Under them, 15,381 traces and 33,865 spans (a root span per trace, a call on the
    session's model, and for ``tool-use`` sessions a tool call on ``gpt-4o``), with
    cached prompt tokens, whose tokens and costs add up to their sessions'.
    Planted: from 20 October, tool-use sessions cost three times as much per token:
    a price change of their ``gpt-4o`` tool calls. ``make sample`` rebuilds the files.

    Parameters
    ----------
    what : {"sessions", "traces", "spans"}, default "sessions"

    Returns
    -------
    DataFrame
        As :func:`orq_nb.sessions_frame` returns it, or as :meth:`orq_nb.OrqClient.query_traces` and
        :meth:`~orq_nb.OrqClient.query_spans` do (``session_id`` joins them to the sessions).
    """
    if what not in ("sessions", "traces", "spans"):
        raise ValueError(f"what must be 'sessions', 'traces' or 'spans', not {what!r}")
    sessions = read_sessions(SAMPLE_PATH)
    if what == "sessions":
        return sessions
    traces = traces_frame(_lines(SAMPLE_TRACES_PATH))
    traces["session_id"] = join_sessions(traces["thread_id"], sessions)
    if what == "traces":
        return traces
    spans = spans_frame(_lines(SAMPLE_SPANS_PATH))
    spans["session_id"] = spans["trace_id"].map(dict(zip(traces["trace_id"], traces["session_id"],
                                                         strict=True))).astype(spans["session_id"].dtype)
    return spans
