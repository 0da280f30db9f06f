"""The explorer's "traces" panel: the traces and spans of the sessions clicked or selected, and a trace's
conversation.

Traces and spans come from frames given to the explorer (``load_sample("traces")``, a
:meth:`~orq_nb.OrqClient.query_traces` answer) or, without them, from orq.ai through the explorer's
client (at most :data:`MOST` sessions at a time; it only reads). A conversation needs the client.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd
from itables.widget import ITable

from orq_nb.explore.tables import small_table_options
from orq_nb.load.traces import span_dtypes

__all__ = ["TracesPanel", "trace_rows", "span_rows", "MOST"]

#: The most sessions whose traces the panel shows at once.
MOST = 300
#: Fetched through a client, the spans of the most recent this many traces (one call each).
MOST_SPANS = 100
_TRACE_COLUMNS = {"trace_id": "trace", "started_at": "started (UTC)", "models": "models",
                  "prompt_tokens": "prompt tokens", "completion_tokens": "completion tokens",
                  "prompt_cached_tokens": "cached", "total_cost": "cost (USD)"}
_SPAN_COLUMNS = {"trace_id": "trace", "operation": "operation", "model": "model", "provider": "provider",
                 "prompt_tokens": "prompt tokens", "completion_tokens": "completion tokens",
                 "prompt_cached_tokens": "cached", "total_cost": "cost (USD)"}


def _readable(rows: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    out = {}
    for name, header in columns.items():
        values = rows[name] if name in rows.columns else pd.Series([None] * len(rows), index=rows.index)
        if name == "started_at":
            out[header] = values.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("").to_numpy(dtype=object)
        elif name == "models":
            out[header] = [", ".join(v) if isinstance(v, list | tuple | np.ndarray) else "" for v in values]
        elif name == "total_cost":
            out[header] = np.round(values.to_numpy(dtype=float, na_value=np.nan), 6)
        elif name.endswith("tokens"):
            out[header] = values.astype("Int64").to_numpy(dtype=object, na_value=None)
        else:
            out[header] = values.fillna("").to_numpy(dtype=object)
    return pd.DataFrame(out, columns=list(columns.values()))


def trace_rows(traces: pd.DataFrame) -> pd.DataFrame:
    """Traces as the panel lists them: newest first, in words."""
    return _readable(traces.sort_values("started_at", ascending=False, kind="stable"), _TRACE_COLUMNS)


def span_rows(spans: pd.DataFrame) -> pd.DataFrame:
    """Spans with a model (the calls that cost) as the panel lists them, dearest first."""
    calls = spans[spans["model"].notna()] if "model" in spans.columns else spans
    return _readable(calls.sort_values("total_cost", ascending=False, kind="stable"), _SPAN_COLUMNS)


def _conversation_html(talk: pd.DataFrame) -> str:
    lines = []
    for row in talk.itertuples():
        text = row.text if isinstance(row.text, str) else ""
        if not text and isinstance(row.item, dict) and row.item.get("tool_calls"):
            calls = row.item["tool_calls"]
            text = "calls " + ", ".join(str((c.get("function") or {}).get("name", "a tool")) for c in calls)
        role = html.escape(str(row.role))
        lines.append(f"<div class='orq-message orq-{role}'><b>{role}</b>: {html.escape(text)}</div>")
    return "<div class='orq-conversation'>" + "".join(lines) + "</div>"


class TracesPanel(widgets.VBox):
    """The traces and spans of some sessions (:meth:`show`), and a trace's conversation.

    Parameters
    ----------
    traces, spans : DataFrame, optional
        Frames to read from (``session_id`` joins them to the sessions).
    client : OrqClient, optional
        Fetches what the frames do not hold, and conversations.
    sessions : callable, optional
        Session ids to their rows (a sessions frame), handed to the client instead of the ids.
    """

    def __init__(self, traces: pd.DataFrame | None = None, spans: pd.DataFrame | None = None,
                 client: Any = None, sessions: Any = None) -> None:
        self.traces_frame, self.spans_frame, self.client = traces, spans, client
        self.sessions = sessions  # ids -> their rows (the explorer's), so that a client needs not read them
        self.head = widgets.HTML("<b>Traces</b>: click a session, or select some, to see their traces.")
        self.traces_table = ITable(trace_rows(_empty_traces()), **small_table_options())
        self.spans_head = widgets.HTML()
        self.spans_table = ITable(span_rows(_empty_traces()), **small_table_options())
        self.trace_picker = widgets.Dropdown(description="trace", options=[], layout={"width": "95%"})
        self.conversation = widgets.HTML()
        self.trace_picker.observe(lambda change: self.show_conversation(change["new"]), names="value")
        self.shown_traces = _empty_traces()
        self.shown_spans = _empty_traces()
        super().__init__([self.head, self.traces_table, self.spans_head, self.spans_table,
                          self.trace_picker, self.conversation])
        self.add_class("orq-traces")

    def show(self, session_ids: list[str]) -> None:
        """List the traces and spans of these sessions (the first :data:`MOST`)."""
        ids = list(dict.fromkeys(session_ids))
        cut = len(ids) > MOST
        ids = ids[:MOST]
        try:
            traces, spans = self._fetch(ids)
        except Exception as error:  # noqa: BLE001 - the panel says what failed; the explorer goes on
            self.head.value = f"<b>Traces</b>: could not fetch them ({html.escape(str(error))})"
            return
        self.shown_traces, self.shown_spans = traces, spans
        cost = float(np.nansum(traces["total_cost"].to_numpy(dtype=float, na_value=np.nan)))
        prompt = spans["prompt_tokens"].sum() if len(spans) else 0
        cached = spans["prompt_cached_tokens"].sum() if len(spans) else 0
        share = f", {cached / prompt:.0%} of prompt tokens cached" if prompt else ""
        self.head.value = (f"<b>Traces</b> of {len(ids):,} session{'s' if len(ids) != 1 else ''}"
                           + (f" (the first {MOST:,} selected)" if cut else "")
                           + f": {len(traces):,} traces, ${cost:,.4f}{share}")
        self.traces_table.update(trace_rows(traces), **small_table_options())
        calls = int(spans["model"].notna().sum()) if len(spans) else 0
        partial = (self.spans_frame is None and len(traces) > MOST_SPANS)
        self.spans_head.value = (f"<b>Model calls</b>: {calls:,} spans with a model, dearest first"
                                 + (f" (of the {MOST_SPANS} most recent traces)" if partial else ""))
        self.spans_table.update(span_rows(spans), **small_table_options())
        options = traces.sort_values("started_at", ascending=False)["trace_id"].tolist()
        self.trace_picker.options = options
        self.trace_picker.value = options[0] if options else None  # the newest trace's conversation

    def _fetch(self, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self.traces_frame is not None:
            traces = self.traces_frame[self.traces_frame["session_id"].isin(ids)]
        elif self.client is not None and ids:
            rows = self.sessions(ids) if self.sessions is not None else ids
            traces = self.client.query_traces(rows, progress=False)
        else:
            traces = _empty_traces()
        if self.spans_frame is not None:
            spans = self.spans_frame[self.spans_frame["trace_id"].isin(traces["trace_id"])]
        elif self.client is not None and len(traces):
            recent = traces.sort_values("started_at", ascending=False).head(MOST_SPANS)
            spans = self.client.query_spans(recent, progress=False)
        else:
            spans = _empty_traces()
        return traces, spans

    def show_conversation(self, trace_id: str | None) -> None:
        """Show one trace's conversation (through the client)."""
        if not trace_id:
            self.conversation.value = ""
            return
        if self.client is None:
            self.conversation.value = ("<i>The conversation is read from orq.ai: give the explorer a client "
                                       "(explore(df, client=OrqClient()))</i>")
            return
        try:
            talk = self.client.conversation(trace_id)
        except Exception as error:  # noqa: BLE001 - said in the panel
            self.conversation.value = f"<i>Could not fetch the conversation: {html.escape(str(error))}</i>"
            return
        self.conversation.value = _conversation_html(talk)


def _empty_traces() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in span_dtypes().items()}).assign(
        models=pd.Series([], dtype=object))
