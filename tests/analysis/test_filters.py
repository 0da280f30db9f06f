"""Filters and summaries, against straightforward reference implementations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orq_nb
from orq_nb.analysis.filters import filter_sessions
from orq_nb.analysis.summaries import cost_by_tag, daily_summary, explode_tags, tag_counts
from orq_nb.analysis.tags import TagIndex

TAGS = ["a", "b", "c", "d", "e"]
PROJECTS = ["p1", "p2", None]


def frame(rows) -> pd.DataFrame:
    records = []
    for i, (tags, project, day, cost) in enumerate(rows):
        record = {"_id": f"s{i}", "external_id": f"t{i}", "duration": 1000.0 * (i + 1), "contact_ids": [],
                  "tags": tags, "traces_count": 1, "started_at": f"2026-10-{day:02d}T12:00:00Z",
                  "billing": {"input_cost": cost, "output_cost": 0, "total_cost": cost},
                  "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10}}
        if project:
            record["project_id"] = project
        records.append(record)
    return orq_nb.sessions_frame(records)


rows = st.lists(st.tuples(st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
                          st.sampled_from(PROJECTS), st.integers(1, 28), st.floats(0, 5)), max_size=40)
picks = st.lists(st.sampled_from(TAGS + ["zz"]), max_size=3)


def reference(df, tags, match, exclude, projects, start, end):
    keep = []
    for _, row in df.iterrows():
        have = set(row["tags"])
        ok = True
        if tags:
            ok = have >= set(tags) if match == "all" else bool(have & set(tags))
        if exclude and have & set(exclude):
            ok = False
        if projects is not None:
            project = None if pd.isna(row["project_id"]) else row["project_id"]
            ok = ok and project in projects
        if start is not None and row["started_at"] < pd.Timestamp(start, tz="UTC"):
            ok = False
        if end is not None and row["started_at"] >= pd.Timestamp(end, tz="UTC"):
            ok = False
        keep.append(ok)
    return df[np.array(keep, dtype=bool)] if len(df) else df


@pytest.mark.filterwarnings("ignore::orq_nb.errors.UnknownTagWarning")  # picks include tags no row has
@settings(max_examples=150, deadline=None)
@given(rows, picks, st.sampled_from(["any", "all"]), picks,
       st.none() | st.lists(st.sampled_from(PROJECTS), max_size=2),
       st.none() | st.integers(1, 28), st.none() | st.integers(1, 28))
def test_filter_sessions_matches_the_reference(rows, tags, match, exclude, projects, start, end):
    df = frame(rows)
    start = None if start is None else f"2026-10-{start:02d}"
    end = None if end is None else f"2026-10-{end:02d}"
    got = filter_sessions(df, tags=tags, match=match, exclude_tags=exclude, projects=projects,
                          start=start, end=end)
    want = reference(df, tags, match, exclude, projects, start, end)
    assert got["id"].tolist() == want["id"].tolist()


@settings(max_examples=60, deadline=None)
@given(rows)
def test_counts_and_cost_by_tag_match_a_python_count(rows):
    df = frame(rows)
    expected = pd.Series([t for tags in df["tags"] for t in tags], dtype=object).value_counts()
    assert tag_counts(df).to_dict() == expected.to_dict()
    by_tag = cost_by_tag(df)
    for tag in expected.index:
        having = df[df["tags"].map(lambda t, tag=tag: tag in t)]
        assert by_tag.loc[tag, "sessions"] == len(having)
        assert by_tag.loc[tag, "total_cost"] == pytest.approx(having["total_cost"].sum())
        assert by_tag.loc[tag, "median_duration_s"] == pytest.approx(having["duration_ms"].median() / 1000)


def test_a_tag_index_updated_row_by_row_equals_one_rebuilt_from_the_frame():
    df = orq_nb.load_sample()
    rng = np.random.default_rng(5)
    positions = np.sort(rng.choice(len(df), 300, replace=False))
    known = list(TagIndex.of(df).tags)
    new_tags = [list(rng.choice(known + ["fresh", "other-new"], rng.integers(0, 4), replace=False))
                for _ in positions]
    new_tags[0] = None  # counts as no tags
    changed = df.copy()
    values = changed["tags"].to_numpy(dtype=object, copy=True)
    for p, t in zip(positions, new_tags, strict=True):
        values[p] = t
    changed["tags"] = values
    updated, rebuilt = TagIndex.of(df).with_rows(positions, new_tags), TagIndex.of(changed)
    assert sorted(updated.tags) == sorted(rebuilt.tags)
    assert updated.counts.sort_index().equals(rebuilt.counts.sort_index())
    for tags, match, exclude in ((["fresh"], "any", None), (["rag", "eu"], "all", ["fresh"]),
                                 (None, "any", ["other-new"]), ([known[-1]], "any", None)):
        assert (updated.mask(tags, match, exclude) == rebuilt.mask(tags, match, exclude)).all()


def test_explode_tags_keeps_untagged_sessions_once():
    df = frame([(["a", "b"], "p1", 1, 1.0), ([], None, 2, 2.0)])
    out = explode_tags(df)
    assert out["id"].tolist() == ["s0", "s0", "s1"]
    assert out["tag"].tolist()[:2] == ["a", "b"] and pd.isna(out["tag"].iloc[2])


def test_daily_summary_by_utc_day():
    df = frame([(["a"], "p1", 1, 1.0), (["a"], "p1", 1, 3.0), ([], None, 2, 2.0)])
    out = daily_summary(df)
    assert out["sessions"].tolist() == [2, 1]
    assert out["total_cost"].tolist() == [4.0, 2.0]
    assert out.index[0] == pd.Timestamp("2026-10-01", tz="UTC")


def test_unknown_match_is_refused():
    with pytest.raises(ValueError, match="match must be"):
        filter_sessions(frame([]), tags=["a"], match="some")


def test_repeated_tags_with_match_all_still_match():
    df = frame([(["a"], "p1", 1, 0.0), (["b"], "p1", 1, 0.0)])
    assert filter_sessions(df, tags=["a", "a"], match="all")["id"].tolist() == ["s0"]
    with pytest.warns(orq_nb.errors.UnknownTagWarning, match="'zz'"):
        assert filter_sessions(df, tags=["a", "zz"], match="all").empty


def test_an_unknown_tag_warns_and_names_the_closest_ones():
    df = orq_nb.load_sample()
    with pytest.warns(orq_nb.errors.UnknownTagWarning, match=r"'voise' \(closest: 'voice'"):
        picked = orq_nb.filter_sessions(df, tags=["voice", "voise"])
    assert len(picked) == len(orq_nb.filter_sessions(df, tags="voice"))  # the known one still counts
    with pytest.warns(orq_nb.errors.UnknownTagWarning, match="'zzz-nothing-like-it'$"):
        orq_nb.filter_sessions(df, exclude_tags="zzz-nothing-like-it")


def test_daily_summary_gives_every_day_of_the_range():
    df = frame([(["a"], "p1", 1, 1.0), (["a"], "p1", 4, 3.0)])  # the 1st and the 4th
    out = daily_summary(df)
    assert out.index.strftime("%d").tolist() == ["01", "02", "03", "04"]
    assert out["sessions"].tolist() == [1, 0, 0, 1] and out["sessions"].dtype == "int64"
    assert out["total_cost"].tolist() == [1.0, 0.0, 0.0, 3.0]
    assert out["median_cost"].isna().tolist() == [False, True, True, False]
    window = daily_summary(df, start="2026-09-30", end="2026-10-03")
    assert window.index.strftime("%m-%d").tolist() == ["09-30", "10-01", "10-02"]
    assert window["sessions"].tolist() == [0, 1, 0]
    sample = orq_nb.load_sample()
    span = (sample.started_at.max().floor("D") - sample.started_at.min().floor("D")).days + 1
    assert len(daily_summary(sample)) == span


def test_a_tag_typo_in_another_case_suggests_the_tag_that_exists():
    df = orq_nb.load_sample()
    with pytest.warns(orq_nb.errors.UnknownTagWarning, match=r"'RAG' \(closest: 'rag'"):
        assert orq_nb.filter_sessions(df, tags="RAG").empty
    with pytest.warns(orq_nb.errors.UnknownTagWarning, match=r"'Voic' \(closest: 'voice'"):
        orq_nb.filter_sessions(df, tags="Voic")
