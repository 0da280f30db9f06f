"""Realistic, deterministic synthetic sessions: the bundled sample and benchmarks.

Run ``python -m orq_nb.testing.synthetic`` to rebuild the bundled sample file (``make sample`` rebuilds
its traces and spans too).
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from orq_nb.load.sample import SAMPLE_PATH
from orq_nb.load.schemas import key_aliases

__all__ = [
    "generate_sessions", "SAMPLE_END", "SAMPLE_SIZE", "SAMPLE_PATH", "PROMPT_VERSIONS", "COST_JUMP_TAG",
    "COST_JUMP_DAY", "COST_JUMP",
]

SAMPLE_END = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SAMPLE_SIZE = 4000

PROJECTS = ("support-bot", "sales-assistant", "docs-search", "code-review", "onboarding")
PROJECT_WEIGHTS = (0.38, 0.22, 0.18, 0.14, 0.08)
#: Models, their share, and (input, output) USD per 1k tokens.
MODELS = {
    "gpt-4o": (0.34, 0.0025, 0.010),
    "gpt-4o-mini": (0.28, 0.00015, 0.0006),
    "claude-sonnet": (0.22, 0.003, 0.015),
    "claude-haiku": (0.10, 0.0008, 0.004),
    "llama-70b": (0.06, 0.0009, 0.0009),
}
#: Labels beyond the model tag, with Zipf-like frequencies.
LABELS = (
    "production", "rag", "tool-use", "escalated", "feedback-positive", "eu",
    "long-context", "feedback-negative", "beta", "mobile", "voice", "pii-redacted",
)
CLIENTS = ("claude-code", "cursor", "orq-cli")
#: Prompt versions, a tag each (the rest of the sessions have none), their shares, and what they do to a
#: session's tokens (so to its cost): v2's shorter prompt costs 30% less than v1; v3 changes nothing.
PROMPT_VERSIONS = {"prompt-v1": (0.35, 1.0), "prompt-v2": (0.35, 0.7), "prompt-v3": (0.2, 1.0)}
#: From this day on, sessions with this tag cost this many times as much per token (a pricier model
#: behind the tool calls): the spend watch's notebook finds it.
COST_JUMP_TAG, COST_JUMP_DAY, COST_JUMP = "tool-use", dt.datetime(2026, 10, 20, tzinfo=dt.UTC), 3.0


def _ids(rng: np.random.Generator, n: int, prefix: str, width: int) -> list[str]:
    raw = rng.integers(2**60, 2**63, size=n, dtype=np.int64).tolist()
    return [f"{prefix}{value:x}"[: len(prefix) + width] for value in raw]


def _iso(ms: np.ndarray) -> list[str]:
    stamps = np.asarray(ms, dtype="datetime64[ms]").astype(str).tolist()
    return [stamp + "Z" for stamp in stamps]


def generate_sessions(
    n: int, seed: int = 7, end: dt.datetime = SAMPLE_END, days: int = 90, node_share: float = 0.3
) -> list[dict[str, Any]]:
    """Return ``n`` synthetic session records in wire form, some in Node SDK form.

    Parameters
    ----------
    n : int
        Number of records.
    seed : int
        Seed; the same seed gives the same records.
    end : datetime
        Latest possible start time; starts spread over the ``days`` before it.
    days : int
        Length of the window.
    node_share : float
        Share of records written with camelCase keys as the Node SDK exports them.

    Returns
    -------
    list of dict
    """
    rng = np.random.default_rng(seed)
    models = list(MODELS)
    model_idx = rng.choice(len(models), size=n, p=[MODELS[m][0] for m in models])
    prices = np.array([MODELS[m][1:] for m in models])[model_idx]
    prompt = np.round(rng.lognormal(7.0, 1.0, n)).astype(np.int64) + 20
    # Prompt versions come from a stream of their own, so that every other field stays as it was.
    side = np.random.default_rng([seed, 1])
    versions = list(PROMPT_VERSIONS)
    shares = [share for share, _ in PROMPT_VERSIONS.values()]
    version = side.choice(len(versions) + 1, size=n, p=[*shares, 1 - sum(shares)])
    scale = np.array([factor for _, factor in PROMPT_VERSIONS.values()] + [1.0])[version]
    prompt = np.maximum(np.round(prompt * scale).astype(np.int64), 20)
    completion = np.round(prompt * rng.lognormal(-1.2, 0.6, n)).astype(np.int64) + 5
    input_cost = np.round(prompt / 1000 * prices[:, 0], 6)
    output_cost = np.round(completion / 1000 * prices[:, 1], 6)
    traces = 1 + rng.geometric(0.35, n)
    duration = np.round(
        (300 + completion * 18 + prompt * 0.4) * traces * rng.lognormal(0, 0.5, n), 2
    )
    span_ms = days * 86_400_000
    end_ms = int(end.timestamp() * 1000)
    # Activity grows over the window.
    start_ms = end_ms - (span_ms * (1 - np.sqrt(rng.random(n)))).astype(np.int64)
    start_ms.sort()
    update_ms = start_ms + duration.astype(np.int64)
    project_idx = rng.choice(len(PROJECTS), size=n, p=PROJECT_WEIGHTS)
    label_p = 0.55 / np.arange(1, len(LABELS) + 1) ** 0.9
    label_draw = rng.random((n, len(LABELS))) < label_p
    no_tags = rng.random(n) < 0.03
    jumped = label_draw[:, LABELS.index(COST_JUMP_TAG)] & ~no_tags & (
        start_ms >= int(COST_JUMP_DAY.timestamp() * 1000))
    input_cost = np.where(jumped, np.round(input_cost * COST_JUMP, 6), input_cost)
    output_cost = np.where(jumped, np.round(output_cost * COST_JUMP, 6), output_cost)
    no_project = rng.random(n) < 0.025
    node = rng.random(n) < node_share
    coding = np.array(PROJECTS)[project_idx] == "code-review"
    ids, externals = _ids(rng, n, "ses_", 15), _ids(rng, n, "thread_", 12)
    contacts = _ids(rng, 900, "cnt_", 10)
    contact_pick = rng.integers(0, len(contacts), size=(n, 2))
    n_contacts = rng.choice(3, size=n, p=(0.15, 0.7, 0.15))
    client_idx = rng.integers(0, len(CLIENTS), n)
    starts, updates = _iso(start_ms), _iso(update_ms)
    label_lists = [[t for t, on in zip(LABELS, row, strict=True) if on] for row in label_draw.tolist()]
    for labels, v in zip(label_lists, version.tolist(), strict=True):
        if v < len(versions):
            labels.append(versions[v])
    model_names = [models[m] for m in model_idx.tolist()]
    contact_lists = [[contacts[c] for c in pick[:k]]
                     for pick, k in zip(contact_pick.tolist(), n_contacts.tolist(), strict=True)]
    duration, traces = duration.tolist(), traces.tolist()
    prompt, completion = prompt.tolist(), completion.tolist()
    total_cost = np.round(input_cost + output_cost, 6).tolist()
    input_cost, output_cost = input_cost.tolist(), output_cost.tolist()
    no_tags, no_project, node, coding = (a.tolist() for a in (no_tags, no_project, node, coding))
    project_idx, client_idx = project_idx.tolist(), client_idx.tolist()
    records = []
    for i in range(n):
        record: dict[str, Any] = {
            "_id": ids[i],
            "external_id": externals[i],
            "duration": duration[i],
            "contact_ids": contact_lists[i],
            "billing": {
                "input_cost": input_cost[i],
                "output_cost": output_cost[i],
                "total_cost": total_cost[i],
            },
            "usage": {
                "prompt_tokens": prompt[i],
                "completion_tokens": completion[i],
                "total_tokens": prompt[i] + completion[i],
            },
            "traces_count": traces[i],
            "tags": [] if no_tags[i] else [model_names[i], *label_lists[i]],
            "started_at": starts[i],
            "updated_at": updates[i],
        }
        if not no_project[i]:
            record["project_id"] = PROJECTS[project_idx[i]]
        if coding[i]:
            record.update(kind="THREAD_KIND_CODING_AGENT", client=CLIENTS[client_idx[i]],
                          repo="acme/" + ("web", "api", "infra")[i % 3],
                          title=f"Review PR #{1000 + i % 9000}")
        else:
            record["kind"] = "THREAD_KIND_CONVERSATION"
        records.append(_to_node(record) if node[i] else record)
    return records


@functools.cache
def _camel(key: str) -> str:
    return key_aliases(key)[-1]


def _to_node(record: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a wire-form record the way the Node SDK exports it (older shape)."""
    out = {_camel(k): ({_camel(a): b for a, b in v.items()} if isinstance(v, dict) else v)
           for k, v in record.items()}
    out["workspaceId"] = "ws_acme"
    return out


def write_sample(path: Path = SAMPLE_PATH, n: int = SAMPLE_SIZE) -> Path:
    """Write the bundled sample as gzipped JSON lines, byte-for-byte reproducible."""
    lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in generate_sessions(n))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(lines.encode())
    return path


if __name__ == "__main__":
    print(write_sample())
