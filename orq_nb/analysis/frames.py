"""What kind of frame a function was given: pandas, or Dask (without importing Dask)."""

from __future__ import annotations

from typing import Any

__all__ = ["is_dask"]


def is_dask(df: Any) -> bool:
    """Whether ``df`` is a Dask DataFrame or Series (then work goes partition by partition)."""
    return type(df).__module__.split(".")[0] == "dask"
