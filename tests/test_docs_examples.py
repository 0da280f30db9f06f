"""Every Python example in the README, the user guide and the design notes runs as written.

The guide's pages are executed notebooks (MyST ``{code-cell}`` blocks): ``make docs`` runs them and shows
their outputs, and ``docs/check_outputs.py`` fails the build if a page shows none. The README's and the
design notes' ``python`` blocks run here, as a user pasting them into a new notebook would.

Each file's ```python blocks run in order in one namespace (a fresh one per file), in a new interpreter
started in an empty temporary folder, offline (``ORQ_NB_OFFLINE=1``, no ``ORQ_API_KEY``), with
matplotlib's Agg backend: what a user pasting them into a new notebook gets, minus the display. A block
that needs the API starts a ``FakeOrqServer`` itself. A failure names the file, the block and its line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs" / "guide").glob("*.md")), ROOT / "docs" / "design.md"]
#: What a backtick or tilde fence may say. Only python runs; text and console are shown as they are.
#: (MyST directives use colon fences, ``:::{note}``, so that a python block inside one is still run.)
LANGUAGES = {"python", "{code-cell} ipython3", "text", "console"}
_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")

# Runs in the new interpreter: the blocks come on stdin as JSON. Each is compiled under the markdown
# file's own name, shifted to its line there, so that a traceback points into the page and quotes it.
_RUNNER = """
import json, sys
path, blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for number, (line, code) in enumerate(blocks, 1):
    try:
        exec(compile("\\n" * (line - 1) + code, path, "exec"), namespace)
    except BaseException:
        print(f"{path}: block {number} (line {line}) failed", file=sys.stderr)
        raise
"""


@dataclass
class Block:
    info: str
    line: int  # of the block's first line of code, counted from 1
    code: str


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced block of a markdown text, nested in a list item or not, its code dedented."""
    blocks, opened = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if opened is None:
            found = _OPEN.match(line)
            if found and not (found["fence"][0] == "`" and "`" in found["info"]):
                opened = (len(found["indent"]), found["fence"], found["info"].strip(), number + 1, [])
            continue
        indent, fence, info, first, lines = opened
        stripped = line.strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            blocks.append(Block(info, first, "\n".join(lines) + "\n"))
            opened = None
        else:
            lines.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
    assert opened is None, f"a fence opened on line {opened[3] - 1} is never closed"
    return blocks


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_fence_says_python_text_or_console(path):
    blocks = fenced_blocks(path.read_text(encoding="utf-8"))
    odd = [(b.line - 1, b.info) for b in blocks if b.info not in LANGUAGES]
    assert not odd, f"{_name(path)}: fences (line, info) neither run as python nor text/console: {odd}"


@pytest.mark.parametrize("path", [ROOT / "README.md", ROOT / "docs" / "design.md"], ids=_name)
def test_the_python_blocks_run_in_order(path, tmp_path):
    blocks = [(b.line, b.code) for b in fenced_blocks(path.read_text(encoding="utf-8")) if b.info == "python"]
    if not blocks:
        assert path.name != "README.md", "the README shows one example that runs as pasted"
        pytest.skip(f"{_name(path)} has no python block")
    env = {k: v for k, v in os.environ.items() if k not in ("ORQ_API_KEY", "ORQ_BASE_URL", "MPLBACKEND")}
    env.update(ORQ_NB_OFFLINE="1", MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps([str(path), blocks]),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode:
        pytest.fail(f"{_name(path)}: an example failed\n{done.stderr[-6000:]}", pytrace=False)


def test_fenced_blocks_finds_nested_and_tilde_fences_and_keeps_line_numbers():
    text = ("# t\n\n- item\n\n  ```python\n  x = 1\n    y = 2\n  ```\n\n"
            "~~~console\n$ make\n~~~\n````text\n```\n````\n")
    blocks = fenced_blocks(text)
    assert [(b.info, b.line, b.code) for b in blocks] == [
        ("python", 6, "x = 1\n  y = 2\n"), ("console", 11, "$ make\n"), ("text", 14, "```\n")]
    with pytest.raises(AssertionError, match="never closed"):
        fenced_blocks("```python\nx = 1\n")


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "guide").glob("*.md")), ids=_name)
def test_every_guide_page_is_executed_at_build_and_imports_nothing_private(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\nfile_format: mystnb\n"), f"{_name(path)} is not executed by myst-nb"
    code = [b.code for b in fenced_blocks(text) if b.info == "{code-cell} ipython3"]
    assert code, f"{_name(path)} has no code cell"
    private = re.findall(r"^\s*(?:from|import) (orq_nb\.(?!errors|schemas|types|testing)[\w.]+)",
                         "".join(code), flags=re.M)
    assert not private, f"{_name(path)} imports non-public modules {private}"


def test_the_output_check_fails_a_page_without_outputs(tmp_path):
    sys.path.insert(0, str(ROOT / "docs"))
    from check_outputs import problems

    (tmp_path / "guide").mkdir()
    cell = '<div class="cell docutils container">x</div>'
    (tmp_path / "guide" / "a.html").write_text(cell + '<div class="cell_output docutils container">1</div>')
    assert problems(tmp_path) == []
    (tmp_path / "guide" / "b.html").write_text(cell + "# NBVAL_IGNORE_OUTPUT")
    assert problems(tmp_path) == ["guide/b.html: 1 code cells and not one output",
                                  "guide/b.html: shows a test-harness marker (NBVAL_)"]
