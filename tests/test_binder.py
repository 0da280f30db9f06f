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


def test_binder_builds_in_a_fresh_venv_without_errors(tmp_path):
    """What repo2docker does, minus Docker: the pinned requirements, then postBuild, in a new venv."""
    import os
    import subprocess
    import venv

    env_dir = tmp_path / "binder-env"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    environ = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               "VIRTUAL_ENV": str(env_dir)}
    environ.pop("PYTHONPATH", None)
    steps = [
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "-r",
         str(ROOT / "binder" / "requirements.txt")],
        ["bash", str(ROOT / "binder" / "postBuild")],
        [str(bin_dir / "python"), "-c", "import orq_nb, voila, deltalake, distributed; orq_nb.load_sample()"],
        [str(bin_dir / "jupyter"), "server", "extension", "list"],
    ]
    log = []
    for step in steps:
        done = subprocess.run(step, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=900)
        log.append(done.stdout + done.stderr)
        assert done.returncode == 0, "\n".join(log)
    errors = [line for line in "\n".join(log).splitlines()
              if ("error" in line.lower() or "could not be found" in line) and "Location" not in line]
    assert not errors, errors
    assert "voila.server_extension" in log[-1] and "enabled" in log[-1]
    assert (env_dir / "share" / "jupyter" / "voila" / "templates" / "orq" / "index.html.j2").exists()
    config = env_dir / "etc" / "jupyter" / "jupyter_server_config.d" / "orq_nb_voila.json"
    assert json.loads(config.read_text())["MappingKernelManager"]["cull_idle_timeout"] == 600
