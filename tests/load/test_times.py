"""One reading of "a naive time means UTC", shared by the filters and the API's request bodies."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import orq_nb
from orq_nb.api.bodies import filters_body
from orq_nb.load.times import unix_ms, utc_timestamp

INSTANT = pd.Timestamp("2026-10-01T06:00:00Z")


@pytest.mark.parametrize("value", [
    "2026-10-01T06:00:00", "2026-10-01 06:00", "2026-10-01T08:00:00+02:00", dt.datetime(2026, 10, 1, 6),
    dt.datetime(2026, 10, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5))), pd.Timestamp("2026-10-01 06:00"),
])
def test_every_form_of_one_instant_reads_the_same(value):
    assert utc_timestamp(value) == INSTANT and str(utc_timestamp(value).tz) == "UTC"
    assert unix_ms(value) == str(INSTANT.value // 1_000_000)


def test_filters_and_request_bodies_agree_on_naive_times():
    df = orq_nb.load_sample()
    naive, aware = "2026-10-01T06:00:00", "2026-10-01T06:00:00+00:00"
    assert filters_body(start=naive)["start_date"] == filters_body(start=aware)["start_date"]
    picked = orq_nb.filter_sessions(df, start=naive)
    pd.testing.assert_frame_equal(picked, orq_nb.filter_sessions(df, start=aware))
    assert (picked["started_at"] >= INSTANT).all() and 0 < len(picked) < len(df)
