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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_run_and_saved_by_jupyterlab_a_notebook_is_unchanged(path, tmp_path):
    """What ``make lab`` does on save: Jupyter's own contents manager, with notebooks/clean.py's hook. A
    notebook run in the editor comes back with widget views in its outputs and editor metadata in its
    cells; saved, the file is byte for byte what git holds."""
    contents = pytest.importorskip("jupyter_server.services.contents.filemanager")
    (tmp_path / path.name).write_bytes(path.read_bytes())
    manager = contents.FileContentsManager(root_dir=str(tmp_path), pre_save_hook=clean.pre_save)
    model = manager.get(path.name)
    for number, cell in enumerate(model["content"]["cells"]):  # what running and clicking leave behind
        cell["metadata"].update(scrolled=True, collapsed=False, execution={"iopub.status.idle": "2026"})
        for output in cell.get("outputs", ()):  # a widget's output, run live, carries its view
            if output.get("output_type") in ("display_data", "execute_result"):
                output["data"][clean.WIDGET_VIEW] = {"model_id": f"m{number}", "version_major": 2}
    model["content"]["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    manager.save({"type": "notebook", "format": "json", "content": model["content"]}, path.name)
    saved = (tmp_path / path.name).read_text(encoding="utf-8")
    widget_free = clean.dumps(json.loads(path.read_text(encoding="utf-8")))
    assert saved == widget_free == path.read_text(encoding="utf-8"), "run make notebooks (or clean.py)"
