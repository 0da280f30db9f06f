"""``cost_breakdown``: cost, tokens, caching and its savings by anything."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from orq_nb.analysis.costs.groups import ALL, by_columns, check_by, group_sums
from orq_nb.analysis.inputs import is_dask, is_frame, sessions_input

__all__ = ["cost_breakdown", "BREAKDOWN_COLUMNS"]

_COSTS = ("total_cost", "input_cost", "output_cost", "cache_read_cost", "cache_write_cost", "reasoning_cost",
          "web_search_cost")
_TOKENS = ("prompt_tokens", "completion_tokens", "total_tokens", "prompt_cached_tokens")
_SESSION_AMOUNTS = ("total_cost", "input_cost", "output_cost", "prompt_tokens", "completion_tokens",
                    "total_tokens")
#: The answer's columns, in order.
BREAKDOWN_COLUMNS = ("rows", "share_of_cost", *_COSTS, *_TOKENS, "cached_share", "cache_saving",
                     "cost_per_1k_tokens")


def _with_saving(part: pd.DataFrame) -> pd.DataFrame:
    """``part`` with ``cache_saving``: what its cached prompt tokens would have cost at the row's uncached
    input price, less what they cost (``cache_read_cost``); 0 without cached tokens, NaN where the row has
    no uncached prompt tokens to price them by."""
    if "prompt_cached_tokens" not in part.columns or "cache_read_cost" not in part.columns:
        return part.assign(cache_saving=np.nan)
    cached = part["prompt_cached_tokens"].to_numpy(dtype=float, na_value=0.0)
    prompt = part["prompt_tokens"].to_numpy(dtype=float, na_value=0.0)
    paid = part["input_cost"].to_numpy(dtype=float, na_value=np.nan)
    read = part["cache_read_cost"].to_numpy(dtype=float, na_value=0.0)
    uncached = prompt - cached
    price = np.full(len(part), np.nan)
    np.divide(paid, uncached, out=price, where=uncached > 0)
    saving = np.where(cached > 0, cached * price - read, 0.0)
    return part.assign(cache_saving=saving)


def _sums(part: pd.DataFrame, by: str | None, columns: tuple[str, ...]) -> pd.DataFrame:
    for c in columns:  # what the frame lacks is unknown (NaN), before anything reads it
        if c not in part.columns:
            part = part.assign(**{c: np.nan})
    part = _with_saving(part)
    return group_sums(part, {"all": np.ones(len(part), dtype=bool)}, by, (*columns, "cache_saving"))


def cost_breakdown(df: Any, *, by: str | None = None) -> pd.DataFrame:
    """Cost, tokens, caching and what it saved, by model, provider, tag, project, day or any column.

    Parameters
    ----------
    df : DataFrame, Dask DataFrame or SessionStore
        Sessions, traces or spans. Spans carry one model each; a session's tags split its amounts
        equally among them (``by="tag"``).
    by : str, optional
        ``"model"``, ``"provider"`` (a spans frame), ``"tag"``, ``"project_id"``, ``"day"`` (UTC) or any
        column; None for one row, ``"(all)"``.

    Returns
    -------
    DataFrame
        One row per group, the dearest first, then ``"(all)"``: ``rows`` (sessions, traces or spans; split
        across tags with ``by="tag"``), ``share_of_cost``, the costs (USD; a cost the frame does not have is
        NaN), the tokens, ``cached_share`` (cached prompt tokens over prompt tokens), ``cache_saving``
        (USD: cached tokens at the row's uncached input price, less their ``cache_read_cost``; NaN without
        the columns to tell) and ``cost_per_1k_tokens``.

    Examples
    --------
    >>> import orq_nb
    >>> by_model = orq_nb.cost_breakdown(orq_nb.load_sample("spans"), by="model")
    >>> by_model.index[0], bool(by_model.loc["(all)", "share_of_cost"] == 1.0)
    ('gpt-4o', True)
    """
    if by is not None and not isinstance(by, str):
        raise TypeError(f"by must be a column name, 'tag', 'day' or None, not {type(by).__name__}")
    # A store holds sessions: read the costs and tokens sessions have, and the groups.
    frame = df if is_frame(df) else sessions_input(df, [*_SESSION_AMOUNTS, *by_columns(by)], lazy=True)
    check_by(frame, by, "cost_breakdown")
    if "total_cost" not in frame.columns:
        raise ValueError("cost_breakdown: the frame has no column 'total_cost'")
    present = [c for c in (*_COSTS, *_TOKENS) if c in frame.columns]
    needed = list(dict.fromkeys([*present, *by_columns(by)]))
    columns = (*_COSTS, *_TOKENS)
    if is_dask(frame):
        sample = frame[needed]
        meta = _sums(sample._meta, by, columns)
        sums = sample.map_partitions(_sums, by, columns, meta=meta).compute()
        sums = sums.groupby(["cohort", "group"], sort=False, as_index=False).sum()
    else:
        sums = _sums(frame[needed], by, columns)
    table = sums.drop(columns="cohort").set_index("group")
    table = table[table.index != ALL] if by is not None else table
    table = table.sort_values("total_cost", ascending=False, kind="stable")
    table.loc[ALL] = table.sum(axis=0)
    for c in columns:  # a column the frame lacks is unknown, not zero
        if c not in present:
            table[c] = np.nan
    if "prompt_cached_tokens" not in present or "cache_read_cost" not in present:
        table["cache_saving"] = np.nan
    total = table.loc[ALL, "total_cost"]
    table["share_of_cost"] = table["total_cost"] / total if total else np.nan
    tokens = table["total_tokens"] if "total_tokens" in present else table["prompt_tokens"] + table[
        "completion_tokens"]
    table["cached_share"] = table["prompt_cached_tokens"] / table["prompt_tokens"].where(
        table["prompt_tokens"] > 0)
    table["cost_per_1k_tokens"] = table["total_cost"] / tokens.where(tokens > 0) * 1000
    table.index.name = by or "group"
    return table[list(BREAKDOWN_COLUMNS)].astype(float)
