"""``explain_change``: a change in spend split exactly into volume, mix, tokens and price.

Per group g of ``by``, a cohort's spend is a sum of three products::

    prompt:      N * s_g * (prompt tokens per row)_g     * (input cost per prompt token)_g
    completion:  N * s_g * (completion tokens per row)_g * (output cost per completion token)_g
    the rest:    N * s_g * (other cost per row)_g

with N the rows (sessions, traces or spans) and s_g the group's share of them. "The rest" is what
``total_cost`` holds beyond input and output cost (cache, reasoning, web search), and the input or output
cost of a group without prompt or completion tokens: both count as price.

**Why a Shapley split.** Each product's change is split among its factors by their Shapley values (each
factor's change averaged over every order of changing the factors, Sun's complete decomposition). It is
exact by construction (the effects add up to the change in every group, so groups add up to the total) and
symmetric between the two cohorts, and, unlike LMDI-I, it needs no logarithm: a group that appears or
vanishes, a factor that is zero (no tokens, no rows) give finite effects with no special case. A group
present in one cohort only is all ``volume`` and ``mix`` (its per-row factors are taken as equal in both).
LMDI-I agrees with it to first order; where factors change a lot the two differ in how they share the
interaction, which the Shapley split shares equally.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from orq_nb.analysis import cohorts
from orq_nb.analysis.costs.groups import ALL, by_columns, check_by, group_sums
from orq_nb.analysis.inputs import is_dask, is_frame, sessions_input
from orq_nb.analysis.tags import TagIndex
from orq_nb.load.times import utc_timestamp

__all__ = ["explain_change", "explain_day", "shapley", "EFFECTS", "AMOUNTS"]

EFFECTS = ("volume", "mix", "tokens", "price")
#: The columns the split reads.
AMOUNTS = ("prompt_tokens", "completion_tokens", "input_cost", "output_cost", "total_cost")
_SIDES = ("before", "after")


def shapley(before: list[np.ndarray], after: list[np.ndarray]) -> list[np.ndarray]:
    """Each factor's Shapley share of the change of the product of ``factors`` (arrays, elementwise)."""
    k = len(before)
    shares = []
    for i in range(k):
        others = [j for j in range(k) if j != i]
        total = np.zeros_like(before[0], dtype=float)
        for size in range(k):
            weight = math.factorial(size) * math.factorial(k - 1 - size) / math.factorial(k)
            for changed in itertools.combinations(others, size):
                term = after[i] - before[i]
                for j in others:
                    term = term * (after[j] if j in changed else before[j])
                total = total + weight * term
        shares.append(total)
    return shares


def _per(amount: np.ndarray, base: np.ndarray) -> np.ndarray:
    out = np.zeros_like(amount, dtype=float)
    np.divide(amount, base, out=out, where=base > 0)
    return out


def _fill(a: np.ndarray, b: np.ndarray, a_ok: np.ndarray, b_ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A factor undefined in one cohort takes the other's value (so it does not change)."""
    return np.where(a_ok, a, np.where(b_ok, b, 0.0)), np.where(b_ok, b, np.where(a_ok, a, 0.0))


def decompose(table: pd.DataFrame) -> pd.DataFrame:
    """The split of a table of sums (index: group; columns: ``rows``, AMOUNTS, per cohort as a
    ``(cohort, column)`` MultiIndex) into ``before, after, change`` and the four effects."""
    def side(name: str, column: str) -> np.ndarray:
        return table[(name, column)].to_numpy(dtype=float) if (name, column) in table.columns else np.zeros(
            len(table))

    factors: dict[str, dict[str, np.ndarray]] = {}
    for name in _SIDES:
        n = side(name, "rows")
        prompt, completion = side(name, "prompt_tokens"), side(name, "completion_tokens")
        i_cost, o_cost, total = side(name, "input_cost"), side(name, "output_cost"), side(name, "total_cost")
        i_in = np.where(prompt > 0, i_cost, 0.0)  # cost on no tokens is price: it goes to "the rest"
        o_in = np.where(completion > 0, o_cost, 0.0)
        big_n = n.sum()
        factors[name] = {"N": np.full(len(n), big_n), "s": _per(n, np.full(len(n), big_n)), "n": n,
                         "tp": _per(prompt, n), "pp": _per(i_in, prompt), "tc": _per(completion, n),
                         "pc": _per(o_in, completion), "o": _per(total - i_in - o_in, n), "total": total,
                         "P": prompt, "C": completion}
    b, a = factors["before"], factors["after"]
    # N is always what it is (0 for an empty cohort); a share is undefined only in an empty cohort, the
    # per-row factors in a group without rows, a price without tokens: those take the other cohort's value.
    n_ok = (b["n"] > 0, a["n"] > 0)
    fills = {"s": (b["N"] > 0, a["N"] > 0), "tp": n_ok, "tc": n_ok, "o": n_ok,
             "pp": (b["P"] > 0, a["P"] > 0), "pc": (b["C"] > 0, a["C"] > 0)}
    for key, (ok_b, ok_a) in fills.items():
        b[key], a[key] = _fill(b[key], a[key], ok_b, ok_a)
    effects = {e: np.zeros(len(table)) for e in EFFECTS}
    for t, p in (("tp", "pp"), ("tc", "pc")):
        vol, mix, tok, price = shapley([b["N"], b["s"], b[t], b[p]], [a["N"], a["s"], a[t], a[p]])
        for e, share in zip(EFFECTS, (vol, mix, tok, price), strict=True):
            effects[e] += share
    vol, mix, price = shapley([b["N"], b["s"], b["o"]], [a["N"], a["s"], a["o"]])
    effects["volume"] += vol
    effects["mix"] += mix
    effects["price"] += price
    out = pd.DataFrame({"before": b["total"], "after": a["total"]}, index=table.index)
    out["change"] = out["after"] - out["before"]
    for e in EFFECTS:
        out[e] = effects[e]
    return out


def _masks_pandas(df: pd.DataFrame, before: Any, after: Any) -> dict[str, np.ndarray]:
    index = TagIndex.of(df) if cohorts.needs_tags(before) or cohorts.needs_tags(after) else None
    return {"before": cohorts.cohort_mask(df, before, "before", index),
            "after": cohorts.cohort_mask(df, after, "after", index)}


def _partition_sums(part: pd.DataFrame, specs: list, by: str | None) -> pd.DataFrame:
    masks = {side: cohorts.partition_mask(part, spec) for side, spec in zip(_SIDES, specs, strict=True)}
    return group_sums(part, masks, by, AMOUNTS)


def _dask_sums(ddf: Any, before: Any, after: Any, by: str | None, needed: list[str]) -> pd.DataFrame:
    extra, specs = {}, []
    for side, spec in zip(_SIDES, (before, after), strict=True):
        spec, column = cohorts.dask_spec(spec, side, f"__cohort_{side}")
        extra.update(column)
        specs.append(spec)
    frame = (ddf.assign(**extra) if extra else ddf)[needed + list(extra)]
    meta = _partition_sums(frame._meta, specs, by)
    parts = frame.map_partitions(_partition_sums, specs, by, meta=meta).compute()
    return parts.groupby(["cohort", "group"], sort=False, as_index=False).sum()


def explain_day(df: pd.DataFrame, day: Any, *, baseline_days: int = 28, by: str | None = None,
                mask: np.ndarray | None = None) -> pd.DataFrame:
    """Why one UTC day's spend differs from its average baseline day (the ``baseline_days`` before it):
    :func:`explain_change` with the baseline's amounts divided by its days with rows, so that ``before`` is a
    typical day, not four weeks. ``mask`` keeps some rows (a tag's, a project's) of a pandas frame."""
    day = utc_timestamp(day).floor("D")
    frame = df if mask is None else df[mask]
    started = frame["started_at"]
    after = ((started >= day) & (started < day + pd.Timedelta(days=1))).to_numpy(dtype=bool, na_value=False)
    before = ((started >= day - pd.Timedelta(days=baseline_days)) & (started < day)).to_numpy(
        dtype=bool, na_value=False)
    check_by(frame, by, "explain_day")
    sums = group_sums(frame, {"before": before, "after": after}, by, AMOUNTS)
    days = max(int(started[before].dt.floor("D").nunique()), 1)
    scale = np.where(sums["cohort"] == "before", 1 / days, 1.0)
    sums[["rows", *AMOUNTS]] = sums[["rows", *AMOUNTS]].mul(scale, axis=0)
    out = _finish(sums, by)
    out.attrs["orq_nb"] = {"by": by, "day": day, "baseline_days": days}
    return out


def _finish(sums: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """The split of cohort sums per group, groups then ``"(all)"``."""
    table = sums.pivot_table(index="group", columns="cohort", values=["rows", *AMOUNTS], aggfunc="sum",
                             fill_value=0.0, sort=True)
    table.columns = table.columns.swaplevel(0, 1)
    out = decompose(table) if len(table) else pd.DataFrame(columns=["before", "after", "change", *EFFECTS],
                                                           dtype=float)
    out = out[out.index != ALL] if by is not None else out
    out.loc[ALL] = out.sum(axis=0) if len(out) else 0.0
    out.index.name = by or "group"
    return out.astype(float)


def explain_change(df: Any, before: Any, after: Any, *, by: str | None = None) -> pd.DataFrame:
    """Why spend changed between two cohorts: the change in ``total_cost`` split exactly into four effects.

    Parameters
    ----------
    df : DataFrame, Dask DataFrame or SessionStore
        Sessions, traces or spans (a frame with ``total_cost``, ``input_cost``, ``output_cost``,
        ``prompt_tokens`` and ``completion_tokens``). A store is read through Dask where it is installed.
    before, after : str, dict or boolean mask
        The cohorts, as in :func:`orq_nb.compare_cohorts`: a tag, a dict of :func:`orq_nb.filter_sessions`
        arguments (``{"start": "2026-10-13", "end": "2026-10-20"}``), or a boolean mask of ``df``'s rows
        (on Dask, a Dask Series of the frame).
    by : str, optional
        Groups: a column (``"project_id"``; ``"model"`` or ``"provider"`` on a spans frame), ``"tag"``
        (each row's amounts split equally among its tags) or ``"day"`` (UTC). None: the whole cohort.

    Returns
    -------
    DataFrame
        One row per group, then ``"(all)"`` (only ``"(all)"`` when ``by`` is None); columns ``before``,
        ``after``, ``change`` (USD) and the effects, in USD: ``volume`` (how many rows: sessions, traces or
        spans), ``mix`` (each group's share of them), ``tokens`` (tokens per row, prompt and completion
        apart) and ``price`` (cost per token, prompt and completion apart; cache, reasoning and web search
        cost, and cost on zero tokens). In every row ``volume + mix + tokens + price == change`` (to float
        rounding), and the groups add up to ``"(all)"``. ``attrs["orq_nb"]`` holds the rows of each cohort.

    Notes
    -----
    A Shapley split of each group's products of factors (see :mod:`orq_nb.analysis.costs.explain`): exact,
    symmetric, and finite with zeros and with groups that appear or vanish.

    Examples
    --------
    >>> import orq_nb
    >>> spans = orq_nb.load_sample("spans")
    >>> why = orq_nb.explain_change(spans, {"start": "2026-10-06", "end": "2026-10-20"},
    ...                             {"start": "2026-10-20", "end": "2026-11-03"}, by="model")
    >>> bool(abs(why[["volume", "mix", "tokens", "price"]].sum(axis=1) - why["change"]).max() < 1e-9)
    True
    """
    for side, spec in zip(_SIDES, (before, after), strict=True):
        cohorts.check_cohort(spec, side)
    needed = list(dict.fromkeys([*AMOUNTS, *by_columns(by), *cohorts.spec_columns(before),
                                 *cohorts.spec_columns(after)]))
    if by is not None and not isinstance(by, str):
        raise TypeError(f"by must be a column name, 'tag', 'day' or None, not {type(by).__name__}")
    frame = df if is_frame(df) else sessions_input(df, needed, lazy=True)  # a store: what is needed
    check_by(frame, by, "explain_change")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"explain_change: the frame has no column {', '.join(map(repr, missing))}; it needs "
                         f"{list(AMOUNTS)}")
    if is_dask(frame):
        sums = _dask_sums(frame, before, after, by, needed)
    else:
        sums = group_sums(frame, _masks_pandas(frame, before, after), by, AMOUNTS)
    out = _finish(sums, by)
    rows = sums.groupby("cohort")["rows"].sum() if by != "tag" else None
    out.attrs["orq_nb"] = {"by": by, "before": cohorts.describe(before), "after": cohorts.describe(after),
                           "rows": {s: float(rows.get(s, 0.0)) for s in _SIDES} if rows is not None else None}
    return out
