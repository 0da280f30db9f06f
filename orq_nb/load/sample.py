"""The bundled sample: realistic sessions to try orq_nb without an API key."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from orq_nb.load.readers import read_sessions

__all__ = ["load_sample", "SAMPLE_PATH"]

SAMPLE_PATH = Path(__file__).with_name("data") / "sample_sessions.jsonl.gz"


def load_sample() -> pd.DataFrame:
    """Return the bundled sample sessions as a DataFrame.

    4,000 deterministic synthetic sessions over the 90 days before
    2026-11-01 UTC: five projects, a model tag plus Zipf-distributed labels,
    heavy-tailed durations and costs that follow token counts, a few sessions
    without tags or project. The raw file mixes wire-form and Node SDK records.
    ``python -m orq_nb.testing.synthetic`` rebuilds it.

    Returns
    -------
    DataFrame
        As :func:`orq_nb.sessions_frame` returns it.
    """
    return read_sessions(SAMPLE_PATH)
