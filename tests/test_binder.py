"""Binder stays runnable: every package the notebooks import is pinned for it."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Import names whose distribution has another name.
DISTRIBUTIONS = {"IPython": "ipython", "PIL": "pillow", "sklearn": "scikit-learn"}


def notebook_imports() -> set[str]:
    found = set()
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            lines = source.splitlines()
            source = "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    found.add(node.module.split(".")[0])
    return found


def pins() -> dict[str, str]:
    """What Binder installs: the names in requirements.txt, each pinned in constraints.txt."""
    def lines(name: str) -> list[str]:
        text = (ROOT / "binder" / name).read_text().splitlines()
        return [line.strip() for line in text if line.strip() and not line.startswith("#")]

    pairs = [re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line) for line in lines("constraints.txt")]
    assert all(pairs), "pin every constraint with =="
    pinned = {p.group(1).lower(): p.group(2) for p in pairs}
    wanted = lines("requirements.txt")
    assert wanted[0] == "-c constraints.txt", "requirements.txt takes its versions from constraints.txt"
    assert {name.lower() for name in wanted[1:]} <= set(pinned), "pin every requirement in constraints.txt"
    return {name.lower(): pinned[name.lower()] for name in wanted[1:]}


def test_every_notebook_import_is_pinned_for_binder():
    third_party = {name for name in notebook_imports() if name not in sys.stdlib_module_names}
    assert {"orq_nb", "IPython"} <= third_party
    pinned = pins()
    missing = [m for m in third_party - {"orq_nb"} if DISTRIBUTIONS.get(m, m).lower() not in pinned]
    assert not missing, f"add to binder/requirements.txt: {missing}"


def test_binder_pins_cover_the_core_dependencies_and_voila():
    setup = (ROOT / "setup.cfg").read_text()
    core = re.search(r"install_requires =\n((?:    .+\n)+)", setup).group(1).split()
    names = {re.split(r"[<>=!]", req)[0].lower() for req in core}
    assert names | {"voila", "jupyterlab"} <= set(pins())
    post = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps ." in post and "voila" in post
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
