"""The bundled sample: shape, realism, both key styles, and reproducibility."""

from __future__ import annotations

import gzip
import json

import orq_nb
from orq_nb.load.sample import SAMPLE_PATH
from orq_nb.testing.synthetic import generate_sessions, write_sample


def test_sample_loads_clean_with_the_fixed_layout():
    df = orq_nb.load_sample()
    assert len(df) >= 3000 and df["id"].is_unique
    assert df.dtypes.to_dict() == orq_nb.schemas.DTYPES


def test_sample_is_realistic():
    df = orq_nb.load_sample()
    span = df["started_at"].max() - df["started_at"].min()
    assert 85 <= span.days <= 90
    assert df["project_id"].nunique() >= 4 and df["project_id"].isna().any()
    tags = df["tags"].explode().value_counts()
    assert len(tags) >= 12
    assert tags.iloc[0] >= 5 * tags.iloc[-1], "tag frequencies should be skewed"
    assert (df["tags"].str.len() == 0).any()
    assert df["duration_ms"].quantile(0.99) > 10 * df["duration_ms"].median(), "heavy tail"
    assert df["total_cost"].rank().corr(df["total_tokens"].rank()) > 0.5, "cost follows tokens"


def test_raw_sample_mixes_both_key_styles():
    with gzip.open(SAMPLE_PATH, "rt") as f:
        keys = [frozenset(json.loads(line)) for line in f]
    assert any("_id" in k and "external_id" in k for k in keys)
    assert any("id" in k and "externalId" in k for k in keys)


def test_sample_file_is_rebuilt_byte_for_byte(tmp_path):
    assert write_sample(tmp_path / "s.jsonl.gz").read_bytes() == SAMPLE_PATH.read_bytes()


def test_generator_is_deterministic_by_seed():
    assert generate_sessions(50, seed=1) == generate_sessions(50, seed=1)
    assert generate_sessions(50, seed=1) != generate_sessions(50, seed=2)
