"""The Voila dashboard in a real headless Chromium: load, read the summary, pick a tag.

Needs Debian's ``chromium`` (never a downloaded browser). Without it the test
skips, unless ``ORQ_NB_REQUIRE_BROWSER`` is set (as ``.ci/run`` does): then a
missing browser fails it.
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

import orq_nb
from orq_nb.analysis.filters import filter_sessions
from orq_nb.explore.widgets import summary_text

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = ""
    if not os.path.exists(path):
        if os.environ.get("ORQ_NB_REQUIRE_BROWSER"):
            pytest.fail("ORQ_NB_REQUIRE_BROWSER is set but chromium or playwright is missing")
        pytest.skip("Debian's chromium is not installed")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def voila():
    port = free_port()
    # As make demo serves it: the repository's Voila template, which loads nothing from a CDN.
    env = {**os.environ, "ORQ_NB_OFFLINE": "1", "JUPYTER_PATH": str(ROOT / "share" / "jupyter")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
         "--template=orq", "notebooks/dashboard.ipynb"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("voila exited: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.3)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_dashboard_filters_by_tag_in_a_real_browser(voila):
    from playwright.sync_api import sync_playwright

    path = chromium()
    sample = orq_nb.load_sample()
    everything = summary_text(len(sample), sample["total_cost"].sum(), sample["duration_ms"].median(),
                              sample["total_tokens"].sum())
    voice = filter_sessions(sample, tags="voice")
    filtered = summary_text(len(voice), voice["total_cost"].sum(), voice["duration_ms"].median(),
                            voice["total_tokens"].sum())
    start = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        messages, failed = [], []
        page.on("console", lambda m: messages.append((m.type, m.text)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.goto(voila, timeout=120_000)
        page.get_by_text(everything).wait_for(timeout=120_000)
        plot = page.locator("img[alt^='Duration vs cost']")
        assert plot.get_attribute("alt") == f"Duration vs cost: {len(sample):,} sessions"
        page.locator(".widget-select-multiple select").first.select_option(
            label=f"voice ({len(voice):,})")
        page.get_by_text(filtered).wait_for(timeout=30_000)
        page.locator(f"img[alt='Duration vs cost: {len(voice):,} sessions']").wait_for(timeout=30_000)
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
        browser.close()
    # Voila 0.5 ships its own JupyterLab core, older than the widgets' (voila-dashboards/voila#1514):
    # those version notices are the only warnings allowed, by their exact wording.
    allowed = ("Unsatisfied version ", "No satisfying version ")
    noisy = [m for m in messages if m[0] == "error" or (m[0] == "warning" and not m[1].startswith(allowed))]
    assert not noisy, noisy
    assert not failed, f"requests that failed (nothing may be fetched from outside): {failed}"
    print(f"browser test took {time.monotonic() - start:.1f} s")
