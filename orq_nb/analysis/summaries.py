"""Summaries of a sessions DataFrame: tag counts, cost by tag, per-day figures."""

from __future__ import annotations

import pandas as pd

from orq_nb.analysis.tags import TagIndex

__all__ = ["tag_counts", "explode_tags", "cost_by_tag", "daily_summary"]


def tag_counts(df: pd.DataFrame) -> pd.Series:
    """Sessions per tag, most used first."""
    return TagIndex.of(df).counts.copy()


def explode_tags(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (session, tag); sessions without tags keep one row with a missing tag."""
    out = df.explode("tags").rename(columns={"tags": "tag"})
    out["tag"] = out["tag"].astype("str")
    return out


def _summary(groups, sessions: str = "id") -> pd.DataFrame:
    out = groups.agg(
        sessions=(sessions, "size"),
        total_cost=("total_cost", "sum"),
        median_cost=("total_cost", "median"),
        median_duration_s=("duration_ms", "median"),
        total_tokens=("total_tokens", "sum"),
    )
    out["median_duration_s"] /= 1000
    out["cost_per_1k_tokens"] = out["total_cost"] / out["total_tokens"].where(out["total_tokens"] > 0) * 1000
    return out


def cost_by_tag(df: pd.DataFrame) -> pd.DataFrame:
    """Sessions, total and median cost, median duration and tokens per tag.

    A session with several tags counts under each of them, so the totals add up
    to more than the frame's; sessions without tags are left out. Sorted by
    total cost, highest first.
    """
    tagged = explode_tags(df).dropna(subset=["tag"])
    return _summary(tagged.groupby("tag")).sort_values("total_cost", ascending=False)


def daily_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day of ``started_at``: sessions, costs, median duration, tokens."""
    day = df["started_at"].dt.floor("D").rename("day")
    return _summary(df.groupby(day))
