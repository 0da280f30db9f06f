"""Example notebooks never write to a real account by accident."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from orq_nb.testing import FakeOrqServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["03_orq_api.ipynb"])
def test_with_a_key_the_api_notebook_reads_but_writes_nothing(name, monkeypatch):
    """A key in the environment makes the notebook use "the real API": here a fake one, watched."""
    with FakeOrqServer(api_key="looks-real") as server:
        monkeypatch.setenv("ORQ_API_KEY", "looks-real")
        monkeypatch.setenv("ORQ_BASE_URL", server.url)
        monkeypatch.delenv("ORQ_NB_OFFLINE", raising=False)
        notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        where = {"metadata": {"path": str(ROOT / "notebooks")}}
        NotebookClient(notebook, timeout=120, resources=where).execute()
        methods = [method for method, _ in server.requests]
    assert methods.count("GET") > 0 and "POST" in methods  # it did read
    assert "PATCH" not in methods and "DELETE" not in methods  # and wrote nothing
    text = "\n".join(str(o.get("text", "")) for c in notebook.cells for o in c.get("outputs", ()))
    assert "a dry run, nothing written" in text
