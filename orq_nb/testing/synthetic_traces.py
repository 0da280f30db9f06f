"""Traces and spans under synthetic sessions, adding up to each session's totals.

Each session gets ``traces_count`` traces; each trace a root span (``invoke_agent``, no model, no cost)
and one model call on the session's model (its model tag; ``gpt-4o-mini`` for a session without one).
Sessions tagged ``tool-use`` add a tool-routing call on ``gpt-4o`` (operation ``tool_call``) to each
trace. The session's tokens are split across its calls in whole numbers, and its input and output cost
in proportion to them, so that spans add up to their trace and traces to their session (tokens exactly,
costs to float rounding). Prompt tokens include the cached ones, billed at a tenth of the price as
``cache_read``; ``llama-70b`` caches nothing.

**The 20 October change.** The sample's tool-use sessions cost three times as much per token from 20
October 2026 (``COST_JUMP``). Here that is **a price change of one model's calls**: the extra cost (two
thirds of those sessions' spend) lies entirely on their ``gpt-4o`` tool calls, whose tokens do not change.
:func:`orq_nb.explain_change` on the spans, by model, finds it as ``price`` in ``gpt-4o``.

A trace's ``thread_id`` is its session's ``external_id``, or for every fifth session its ``_id``: the two
ways orq_nb's join looks for (which one orq.ai uses is unconfirmed).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from orq_nb.load.sample import SAMPLE_PATH, SAMPLE_SPANS_PATH, SAMPLE_TRACES_PATH
from orq_nb.load.schemas import to_wire
from orq_nb.testing.synthetic import COST_JUMP, COST_JUMP_DAY, COST_JUMP_TAG, MODELS

__all__ = ["generate_traces", "conversation_items", "PROVIDERS", "TOOL_MODEL", "CACHE_PRICE"]

PROVIDERS = {"gpt-4o": "openai", "gpt-4o-mini": "openai", "claude-sonnet": "anthropic",
             "claude-haiku": "anthropic", "llama-70b": "groq"}
#: The model behind tool-use sessions' tool calls, whose price changed on 20 October.
TOOL_MODEL = "gpt-4o"
#: Cached prompt tokens cost this share of the model's input price.
CACHE_PRICE = 0.1
_COST_PARTS = ("input", "output", "cache_read", "cache_write", "reasoning", "web_search", "total")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _stamp(ms: float) -> str:
    return (_EPOCH + dt.timedelta(milliseconds=round(ms))).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def _ms(text: str) -> float:
    return (dt.datetime.fromisoformat(text.replace("Z", "+00:00")) - _EPOCH).total_seconds() * 1000


def _split(total: int, weights: np.ndarray) -> list[int]:
    """``total`` in whole parts in proportion to ``weights`` (the last takes the remainder)."""
    parts = np.floor(total * weights / weights.sum()).astype(np.int64)
    parts[-1] = total - parts[:-1].sum()
    return parts.tolist()


def _seed(session_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(session_id.encode(), digest_size=8).digest(), "big")


def _hex(rng: np.random.Generator, prefix: str) -> str:
    return prefix + f"{int(rng.integers(2**62, 2**63)):x}"[:16]


def generate_traces(sessions: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Return ``(traces, spans)`` in the API's wire form for session records (either key style).

    Deterministic: the same session gives the same traces, whatever else is in the list.
    """
    traces: list[dict] = []
    spans: list[dict] = []
    for position, raw in enumerate(sessions):
        record = to_wire(raw)
        t, s = _session_traces(record, position)
        traces.extend(t)
        spans.extend(s)
    return traces, spans


def _session_traces(record: dict, position: int) -> tuple[list[dict], list[dict]]:
    sid = record["_id"]
    rng = np.random.default_rng(_seed(sid))
    tags = record.get("tags") or []
    model = next((t for t in tags if t in MODELS), "gpt-4o-mini")
    tool = COST_JUMP_TAG in tags
    k = max(int(record.get("traces_count") or 0), 0)
    if k == 0:
        return [], []
    usage, billing = record.get("usage") or {}, record.get("billing") or {}
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    in_cost, out_cost = float(billing.get("input_cost") or 0), float(billing.get("output_cost") or 0)
    total = float(billing.get("total_cost") or 0)
    start = _ms(record["started_at"]) if record.get("started_at") else 0.0
    length = max(float(record.get("duration") or 0), 1.0)
    jumped = tool and start >= (COST_JUMP_DAY - _EPOCH).total_seconds() * 1000
    # Calls: per trace, the session's model, and with tool use a tool call on TOOL_MODEL.
    calls = [(i, m) for i in range(k) for m in ([model, TOOL_MODEL] if tool else [model])]
    weights = rng.dirichlet(np.full(len(calls), 4.0))
    p_split, c_split = _split(prompt, weights), _split(completion, weights)
    share = np.array(weights)
    base_in, base_out = in_cost, out_cost
    extra_in = extra_out = 0.0
    if jumped:  # the extra cost of the new price: on the tool calls only
        base_in, base_out = in_cost / COST_JUMP, out_cost / COST_JUMP
        extra_in, extra_out = in_cost - base_in, out_cost - base_out
    is_tool = np.array([tool and j % 2 == 1 for j in range(len(calls))])
    tool_p = sum(p for p, t in zip(p_split, is_tool, strict=True) if t)
    tool_c = sum(c for c, t in zip(c_split, is_tool, strict=True) if t)
    cache_rate = 0.0 if model == "llama-70b" else float(rng.beta(2, 3))
    thread = record["_id"] if position % 5 == 4 or not record.get("external_id") else record["external_id"]
    traces, spans = [], []
    call_spans: list[dict] = []
    for i in range(k):
        trace_id = _hex(rng, "trc_")
        t0 = start + length * i / k
        t1 = t0 + length / k * 0.9
        root = {"trace_id": trace_id, "span_id": _hex(rng, "spn_"), "name": "agent", "type": "agent",
                "operation": "invoke_agent", "status": "ok", "started_at": _stamp(t0), "ended_at": _stamp(t1),
                "duration_ms": round(t1 - t0, 3), "level": 0,
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "cost": {"input": 0.0, "output": 0.0, "total": 0.0, "currency": "USD", "billable": True}}
        spans.append(root)
        mine = [j for j, (trace, _) in enumerate(calls) if trace == i]
        for n, j in enumerate(mine):
            m = calls[j][1]
            p, c = p_split[j], c_split[j]
            w_in = p / prompt if prompt else share[j]
            w_out = c / completion if completion else share[j]
            a_in, a_out = base_in * w_in, base_out * w_out
            if is_tool[j]:
                a_in += extra_in * (p / tool_p if tool_p else 1 / max(is_tool.sum(), 1))
                a_out += extra_out * (c / tool_c if tool_c else 1 / max(is_tool.sum(), 1))
            cached = int(round(p * cache_rate))
            full = p - (1 - CACHE_PRICE) * cached
            uncached_cost = a_in * (p - cached) / full if full > 0 else a_in
            cache_read = a_in - uncached_cost
            c0 = t0 + (t1 - t0) * n / len(mine)
            c1 = c0 + (t1 - t0) / len(mine) * 0.95
            span = {"trace_id": trace_id, "span_id": _hex(rng, "spn_"), "parent_span_id": root["span_id"],
                    "name": ("tool router " if is_tool[j] else "chat ") + m, "type": "llm",
                    "operation": "tool_call" if is_tool[j] else "chat", "status": "ok",
                    "started_at": _stamp(c0), "ended_at": _stamp(c1), "duration_ms": round(c1 - c0, 3),
                    "provider": PROVIDERS[m], "model": m, "level": 1,
                    "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
                              "prompt_cached_tokens": cached, "prompt_cache_creation_tokens": 0,
                              "completion_reasoning_tokens": 0},
                    "cost": {"input": uncached_cost, "output": a_out, "cache_read": cache_read,
                             "cache_write": 0.0, "reasoning": 0.0, "web_search": 0.0,
                             "total": uncached_cost + cache_read + a_out, "currency": "USD",
                             "billable": True}}
            spans.append(span)
            call_spans.append(span)
        traces.append({"trace_id": trace_id, "root_span_id": root["span_id"], "name": "agent",
                       "status": "ok", "started_at": _stamp(t0), "ended_at": _stamp(t1),
                       "duration_ms": round(t1 - t0, 3), "thread_id": thread,
                       **({"project_id": record["project_id"]} if record.get("project_id") else {})})
    # Costs to 1e-10 USD (as short as JSON can carry them); the session's total is what its calls add up
    # to: the last call's output takes the remainder.
    for span in call_spans:
        cost = span["cost"]
        for key in ("input", "output", "cache_read"):
            cost[key] = round(cost[key], 10)
        cost["total"] = round(cost["input"] + cost["output"] + cost["cache_read"], 10)
    last = call_spans[-1]["cost"]
    last["total"] = round(total - sum(s["cost"]["total"] for s in call_spans[:-1]), 10)
    last["output"] = round(max(last["total"] - last["input"] - last["cache_read"], 0.0), 10)
    for trace in traces:
        mine = [s for s in call_spans if s["trace_id"] == trace["trace_id"]]
        trace["models"] = sorted({s["model"] for s in mine})
        trace["providers"] = sorted({s["provider"] for s in mine})
        trace["usage"] = {key: sum(s["usage"][key] for s in mine) for key in mine[0]["usage"]}
        trace["cost"] = {key: sum(s["cost"][key] for s in mine) for key in _COST_PARTS}
        trace["cost"].update(currency="USD", billable=True)
    return traces, spans


def conversation_items(trace: dict, spans: list[dict]) -> list[dict]:
    """A trace's conversation, made up from its id (deterministic): the user's question, a tool call
    and its result where the trace has a tool call, and the assistant's answer."""
    rng = np.random.default_rng(_seed(trace["trace_id"]))
    topic = ("billing", "an order", "the docs", "a pull request", "onboarding")[int(rng.integers(5))]
    items = [{"role": "system", "content": "You are a helpful assistant."},
             {"role": "user", "content": f"Can you help me with {topic}? (#{int(rng.integers(1, 99))})"}]
    if any(s.get("operation") == "tool_call" for s in spans):
        items += [{"role": "assistant", "content": None,
                   "tool_calls": [{"id": "call_1", "type": "function",
                                   "function": {"name": "lookup", "arguments": f'{{"topic": "{topic}"}}'}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": f"3 results about {topic}"}]
    answer = f"Here is what I found about {topic}."
    items.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return items


def _write(path: Path, records: list[dict]) -> None:
    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(lines.encode())


def write_trace_samples(traces_path: Path = SAMPLE_TRACES_PATH, spans_path: Path = SAMPLE_SPANS_PATH,
                        sessions_path: Path = SAMPLE_PATH) -> tuple[Path, Path]:
    """Write the bundled sample's traces and spans (gzipped JSON lines, reproducible byte for byte)."""
    with gzip.open(sessions_path, "rt", encoding="utf-8") as f:
        sessions = [json.loads(line) for line in f]
    traces, spans = generate_traces(sessions)
    _write(traces_path, traces)
    _write(spans_path, spans)
    return traces_path, spans_path


if __name__ == "__main__":
    print(*write_trace_samples(), sep="\n")
