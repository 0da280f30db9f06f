"""Times given by users: one reading of "a naive timestamp means UTC"."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["utc_timestamp", "unix_ms"]


def utc_timestamp(value: Any) -> pd.Timestamp:
    """Return ``value`` (datetime, Timestamp, ISO string) as a UTC Timestamp; naive means UTC.

    Examples
    --------
    >>> utc_timestamp("2026-10-01")
    Timestamp('2026-10-01 00:00:00+0000', tz='UTC')
    >>> utc_timestamp("2026-10-01T02:00:00+02:00")
    Timestamp('2026-10-01 00:00:00+0000', tz='UTC')
    """
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def unix_ms(value: Any) -> str:
    """Return ``value`` as Unix milliseconds in a string, as the API's windows take them."""
    return str(utc_timestamp(value).value // 1_000_000)
