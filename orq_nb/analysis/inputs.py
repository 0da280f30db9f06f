"""What every analysis function takes: a pandas frame, a Dask frame, or a store.

A store (anything with ``to_pandas(columns=...)``, such as :class:`orq_nb.SessionStore`; the analysis
layer never imports the store) is read with only the columns a function needs. Functions that run
partition by partition (spend watch) read it through ``to_dask()`` when Dask is installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["is_dask", "is_frame", "sessions_input"]


def is_dask(df: Any) -> bool:
    """Whether ``df`` is a Dask DataFrame or Series (then work goes partition by partition)."""
    return type(df).__module__.split(".")[0] == "dask"


def is_frame(df: Any) -> bool:
    """Whether ``df`` is a pandas or Dask DataFrame (rather than a store, or anything else)."""
    return isinstance(df, pd.DataFrame) or (is_dask(df) and type(df).__name__ == "DataFrame")


def sessions_input(df: Any, columns: Sequence[str] | None = None, *, lazy: bool = False) -> Any:
    """``df`` as a pandas or Dask sessions frame holding at least ``columns`` (all when None).

    A frame missing one of ``columns`` is a ValueError naming it; a store is read (``lazy``: through
    ``to_dask()`` where Dask is installed, only ``columns``); anything else is a TypeError.
    """
    if is_frame(df):
        missing = [c for c in columns or () if c not in df.columns]
        if missing:
            raise ValueError(f"df has no column {', '.join(map(repr, missing))}: it must be a sessions frame")
        return df
    if callable(getattr(df, "to_pandas", None)):
        if lazy and callable(getattr(df, "to_dask", None)) and importlib.util.find_spec("dask") is not None:
            frame = df.to_dask()
            return frame if columns is None else frame[list(columns)]
        return df.to_pandas(columns=None if columns is None else list(columns))
    raise TypeError(f"df must be a pandas or Dask sessions frame, or a SessionStore; not {type(df).__name__}")
