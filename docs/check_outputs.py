"""Fail the manual's build when a guide page or an example shows code without its answers.

Run by ``make docs`` on the built HTML: every page under ``guide/`` and ``examples/`` must hold at least
one executed cell's output (``cell_output``); a harness marker (``NBVAL_``) must never show, nor a
kernel's widget state be embedded.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def problems(html_root: Path) -> list[str]:
    """What is wrong with the built pages under ``html_root``, one line each."""
    found = []
    pages = sorted((html_root / "guide").glob("*.html")) + sorted((html_root / "examples").glob("*.html"))
    if not pages:
        return [f"no guide or example pages under {html_root}"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        name = page.relative_to(html_root).as_posix()
        cells = len(re.findall(r'class="cell docutils container"', text))
        outputs = len(re.findall(r'class="cell_output docutils container"', text))
        if not cells:
            found.append(f"{name}: no executed code cell")
        elif not outputs:
            found.append(f"{name}: {cells} code cells and not one output")
        if "NBVAL_" in text:
            found.append(f"{name}: shows a test-harness marker (NBVAL_)")
        if "application/vnd.jupyter.widget-state+json" in text:
            found.append(f"{name}: embeds a kernel's widget state (megabytes, and no kernel to use it)")
    return found


if __name__ == "__main__":
    wrong = problems(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html"))
    for line in wrong:
        print(line, file=sys.stderr)
    sys.exit(1 if wrong else 0)
