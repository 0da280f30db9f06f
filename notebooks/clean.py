"""Keep saved notebooks free of widget state: ``python notebooks/clean.py notebooks/*.ipynb``.

A widget is live only with a kernel. Its state is the kernel's to rebuild (the
explorer's would add megabytes), and a saved *view* of it without that state
makes JupyterLab show "Error displaying widget: model not found" on opening.
So both go: the notebook's ``widgets`` metadata, and every output's
``application/vnd.jupyter.widget-view+json`` entry, keeping its ``text/plain``
(which is what nbval compares; it ignores widget views anyway).

The files are written as Jupyter writes them (``nbformat``'s JSON: sorted keys, one-space indent), and
``make lab`` runs :func:`pre_save` on every save: opening, running and saving an example notebook in
JupyterLab then leaves ``git status`` clean, with no widget views, or editor metadata added.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def clean(notebook: dict) -> dict:
    """``notebook`` (nbformat 4 JSON) without widget state or widget views; outputs left with no data
    at all are dropped."""
    notebook = {**notebook, "metadata": {k: v for k, v in notebook["metadata"].items() if k != "widgets"}}
    for cell in notebook["cells"]:
        if "outputs" not in cell:
            continue
        outputs = []
        for output in cell["outputs"]:
            if WIDGET_VIEW in output.get("data", {}):
                output = {**output, "data": {k: v for k, v in output["data"].items() if k != WIDGET_VIEW}}
                if not output["data"]:
                    continue
            outputs.append(output)
        cell["outputs"] = outputs
    return notebook


#: Cell metadata the editor adds as you work (folding, scrolling, timings); none of it belongs in git.
EDITOR_METADATA = ("collapsed", "scrolled", "execution", "jupyter", "editable", "deletable", "trusted")


def tidy(notebook: dict) -> dict:
    """:func:`clean`, and the editor's own marks gone: the cell metadata it adds (cell ids stay: they are
    the notebook's own, nbformat 4.5)."""
    notebook = clean(notebook)
    for cell in notebook["cells"]:
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k not in EDITOR_METADATA}
    return notebook


def dumps(notebook: dict) -> str:
    """The file's text, as nbformat writes it (so that a save by Jupyter changes no byte)."""
    return json.dumps(tidy(notebook), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def pre_save(model: dict, **_: object) -> None:
    """Jupyter's ``ContentsManager.pre_save_hook``: tidy a notebook before it is written."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        model["content"] = tidy(model["content"])


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(dumps(notebook), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
