"""select_box and select_lasso against brute force, on linear and log axes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orq_nb

values = st.one_of(st.floats(min_value=-10, max_value=1000, allow_nan=False), st.just(0.0))
positive = st.floats(min_value=1e-3, max_value=1000)


def frame(points: list[tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"s{i}" for i in range(len(points))],
                         "duration_ms": [x * 1000 for x, _ in points], "total_cost": [y for _, y in points]})


def on_plot(x: float, y: float, log_x: bool, log_y: bool) -> tuple[float, float] | None:
    if (log_x and x <= 0) or (log_y and y <= 0):
        return None
    return (math.log10(x) if log_x else x, math.log10(y) if log_y else y)


def inside(point, polygon) -> bool:
    """Even-odd ray casting, one edge at a time."""
    (px, py), hit = point, False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > py) != (y2 > py) and px < x1 + (py - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def near_an_edge(point, polygon, tolerance=1e-6) -> bool:
    px, py = point
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy or 1)))
        if math.hypot(px - x1 - t * dx, py - y1 - t * dy) < tolerance:
            return True
    return False


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(values, values), max_size=30), st.tuples(values, values), st.tuples(values, values),
       st.booleans(), st.booleans())
def test_box_selects_exactly_the_points_inside(points, xs, ys, log_x, log_y):
    got = set(orq_nb.select_box(frame(points), duration=xs, cost=ys, log_x=log_x, log_y=log_y)["id"])
    (x0, x1), (y0, y1) = sorted(xs), sorted(ys)
    want = {f"s{i}" for i, (x, y) in enumerate(points)
            # seconds as the frame holds them (milliseconds / 1000)
            if on_plot(x, y, log_x, log_y) is not None and x0 <= x * 1000 / 1000 <= x1 and y0 <= y <= y1}
    assert got == want


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(values, values), max_size=40),
       st.lists(st.tuples(positive, positive), min_size=3, max_size=8), st.booleans(), st.booleans())
def test_lasso_selects_exactly_the_points_inside(points, polygon, log_x, log_y):
    got = set(orq_nb.select_lasso(frame(points), polygon=polygon, log_x=log_x, log_y=log_y)["id"])
    drawn = [on_plot(x, y, log_x, log_y) for x, y in polygon]
    for i, (x, y) in enumerate(points):
        where = on_plot(x, y, log_x, log_y)
        if where is None:
            assert f"s{i}" not in got  # not on the plot, never selected
        elif not near_an_edge(where, drawn):
            assert (f"s{i}" in got) == inside(where, drawn), (where, drawn)


def test_a_lasso_needs_a_polygon_that_exists_on_the_axes():
    with pytest.raises(ValueError, match="at least three"):
        orq_nb.select_lasso(frame([(1, 1)]), polygon=[(1, 1), (2, 2)])
    with pytest.raises(ValueError, match="above zero"):
        orq_nb.select_lasso(frame([(1, 1)]), polygon=[(0, 1), (2, 2), (2, 1)], log_x=True)
    assert np.array_equal(orq_nb.select_box(orq_nb.load_sample(), duration=(0, 1e9), cost=(0, 1e9)).index,
                          orq_nb.load_sample().index)
