"""README and the loading guide stay true: the guide's column table and required fields match the package,
the README's commands the Makefile, its badges and links the files they point to."""

from __future__ import annotations

import re
from pathlib import Path

import orq_nb

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
LOADING = (ROOT / "docs" / "guide" / "loading.md").read_text()


def section(text: str, heading: str) -> str:
    """The section under ``heading``, up to the next heading of its level or the end."""
    part = text[text.index(heading):]
    end = part.find("\n## ", 1)
    return part if end < 0 else part[:end]


def test_column_table_matches_the_schema_derived_columns():
    columns = section(LOADING, "\n## Columns\n")
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", columns, flags=re.M)
    assert [name for name, _ in rows] == list(orq_nb.schemas.COLUMN_NAMES)
    for name, dtype in rows:
        assert str(orq_nb.schemas.DTYPES[name]) == dtype.split(" (")[0].strip()


def test_readme_commands_exist_in_the_makefile():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "bench", "notebooks"):
        assert f"make {target}" in README
        assert re.search(rf"^{target}:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_binder_badges_open_the_quickstart_and_the_dashboard():
    assert "?labpath=notebooks%2F01_quickstart.ipynb" in README
    assert "?urlpath=voila/render/notebooks/dashboard.ipynb" in README
    for name in ("01_quickstart.ipynb", "dashboard.ipynb"):
        assert (ROOT / "notebooks" / name).exists()


def test_the_required_fields_named_are_the_schemas():
    from orq_nb.load.schemas import SessionSchema, wire_key

    named = LOADING[LOADING.index("Validation rules: the fields the API requires"):]
    named = re.findall(r"`(\w+)`", named[named.index("required fields:"): named.index(")")])
    required = [wire_key(name, field) for name, field in SessionSchema().fields.items() if field.required]
    assert named == required


def test_the_readme_links_into_files_that_exist():
    links = re.findall(r"\]\(((?!https?:)[^)#\s]+)[^)]*\)", README)
    assert {"docs/guide/loading.md", "docs/design.md"} <= set(links)
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
