"""Saved notebooks open clean: no widget state, and no widget view whose state is gone."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
spec = importlib.util.spec_from_file_location("clean", ROOT / "notebooks" / "clean.py")
clean = importlib.util.module_from_spec(spec)
spec.loader.exec_module(clean)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_saved_notebook_keeps_a_widget_view_or_widget_state(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in notebook["metadata"]
    views = [cell.get("id") for cell in notebook["cells"] for output in cell.get("outputs", ())
             if clean.WIDGET_VIEW in output.get("data", {})]
    assert not views, f"cells {views} keep a widget view (JupyterLab: 'model not found'); run make notebooks"
    assert clean.clean(notebook) == notebook  # what make notebooks saves is what is there


def test_cleaning_drops_views_and_state_and_keeps_the_text():
    view = {"output_type": "display_data", "metadata": {},
            "data": {"text/plain": "SessionExplorer(...)", clean.WIDGET_VIEW: {"model_id": "abc"}}}
    only_view = {"output_type": "display_data", "metadata": {},
                 "data": {clean.WIDGET_VIEW: {"model_id": "x"}}}
    text = {"output_type": "stream", "name": "stdout", "text": "4000 sessions\n"}
    notebook = {"metadata": {"widgets": {"state": {}}, "kernelspec": {"name": "python3"}}, "nbformat": 4,
                "cells": [{"cell_type": "code", "source": "x", "outputs": [view, only_view, text]},
                          {"cell_type": "markdown", "source": "# hi"}]}
    cleaned = clean.clean(notebook)
    assert cleaned["metadata"] == {"kernelspec": {"name": "python3"}}
    assert cleaned["cells"][0]["outputs"] == [{**view, "data": {"text/plain": "SessionExplorer(...)"}}, text]
    assert cleaned["cells"][1] == notebook["cells"][1]
