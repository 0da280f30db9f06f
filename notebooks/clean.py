"""Keep saved notebooks free of widget state: ``python notebooks/clean.py notebooks/*.ipynb``.

A widget is live only with a kernel. Its state is the kernel's to rebuild (the
explorer's would add megabytes), and a saved *view* of it without that state
makes JupyterLab show "Error displaying widget: model not found" on opening.
So both go: the notebook's ``widgets`` metadata, and every output's
``application/vnd.jupyter.widget-view+json`` entry, keeping its ``text/plain``
(which is what nbval compares; it ignores widget views anyway).
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


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps(clean(notebook), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
