"""The triage-loop notebook in a real JupyterLab, in headless Chromium: it opens without widget errors,
runs, and its explorer selects on the plot.

Needs Debian's ``chromium`` (as the dashboard's browser test) and JupyterLab (the test extra has it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_dashboard_browser import FLAGS, chromium, drag_box, free_port

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "05_triage_loop.ipynb"
WIDGET_ERRORS = ("Error displaying widget", "model not found")


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on loopback over a copy of the notebooks (running one must not change the repository's)."""
    pytest.importorskip("jupyterlab", reason="the test extra installs jupyterlab")
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(notebook, tmp_path / notebook.name)
    port = free_port()
    env = {**os.environ, "ORQ_NB_OFFLINE": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"),
           "JUPYTER_DATA_DIR": str(tmp_path / ".data"), "JUPYTER_RUNTIME_DIR": str(tmp_path / ".runtime")}
    env.pop("ORQ_API_KEY", None)
    # Trusted, as make lab and Binder leave them: JupyterLab then renders saved widget views (an untrusted
    # notebook shows their text instead, which would hide the "model not found" error).
    subprocess.run([sys.executable, "-m", "jupyter", "trust", *map(str, tmp_path.glob("*.ipynb"))], env=env,
                   check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         "--allow-root", f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("jupyter lab exited: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("jupyter lab did not start within 90 s")
    try:
        yield f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_triage_notebook_opens_clean_runs_and_selects_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(lab, timeout=120_000)
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
        # The widget manager looks for a saved view's model once the kernel is up: wait for it, then look.
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)
        page.wait_for_timeout(3000)
        text = page.locator(".jp-Notebook").inner_text()
        assert not [e for e in WIDGET_ERRORS if e in text], "an opened, not-run notebook shows a widget error"
        # Run all, from the menu, as a user would.
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        drag_box(page, timeout=180_000)
        head = page.locator(".orq-selection").first
        head.wait_for(timeout=60_000)
        selected = int(head.inner_text().split(" selected")[0].replace(",", ""))
        assert selected > 0
        page.get_by_text(f"of {selected:,} entries").first.wait_for(timeout=30_000)  # the table filled
        text = page.locator(".jp-Notebook").inner_text()
        assert not [e for e in WIDGET_ERRORS if e in text]
        browser.close()
