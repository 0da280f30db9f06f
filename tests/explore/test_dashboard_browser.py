"""The Voila dashboard in a real headless Chromium: filter by tag; select, relabel on the fake server, undo;
the compare panel's ratios, intervals and adjusted p in view, its forest plot at its natural size.

Needs Debian's ``chromium`` (never a downloaded browser). Without it the test
skips, unless ``ORQ_NB_REQUIRE_BROWSER`` is set (as ``.ci/run`` does): then a
missing browser fails it.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import orq_nb
from orq_nb.analysis.compare.comparison import compare_cohorts
from orq_nb.analysis.filters import filter_sessions
from orq_nb.explore.compare_panel import PLOT_WIDTH, comparison_table
from orq_nb.explore.explorer import summary_text
from orq_nb.explore.spend_panel import spend_rows
from orq_nb.testing import FakeOrqServer

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-quic",
         "--no-first-run",
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


def start_voila(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # As make demo serves it: the repository's Voila template, which loads nothing from a CDN.
    env = {**os.environ, "JUPYTER_PATH": str(ROOT / "share" / "jupyter"), **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
         "--template=orq", "notebooks/dashboard.ipynb"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            if proc.poll() is not None:
                pytest.fail("voila exited: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.3)
    proc.kill()
    pytest.fail("voila did not start within 60 s")


@pytest.fixture
def voila():
    proc, url = start_voila({"ORQ_NB_OFFLINE": "1"})
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def fake():
    with FakeOrqServer() as server:  # the bundled sample, served on loopback
        yield server


@pytest.fixture
def voila_on_fake(fake):
    env = {"ORQ_API_KEY": fake.api_key, "ORQ_BASE_URL": fake.url}
    env = {k: v for k, v in {**os.environ, **env}.items() if k != "ORQ_NB_OFFLINE"}
    proc, url = start_voila(env)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def quiet_console(messages: list) -> list:
    # Voila 0.5 ships its own JupyterLab core, older than the widgets' (voila-dashboards/voila#1514):
    # those version notices are the only warnings allowed, by their exact wording.
    # Software WebGL (no GPU here) reports its own slow paths as "[.WebGL-...] GL Driver Message".
    allowed = ("Unsatisfied version ", "No satisfying version ", "[.WebGL-")
    return [m for m in messages if m[0] == "error" or (m[0] == "warning" and not m[1].startswith(allowed))]


def open_page(p, url: str, width: int, messages: list, failed: list):
    browser = p.chromium.launch(executable_path=chromium(), args=FLAGS)
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.on("console", lambda m: messages.append((m.type, m.text)))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(url, timeout=120_000)
    return browser, page


def overflowing(page) -> list[str]:
    """Widgets reaching past the window's right edge, or scrolling sideways (tables scroll by design)."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth, bad = [];
        const page = document.documentElement.scrollWidth;
        if (page > width) bad.push("page " + page);
        for (const el of document.querySelectorAll(".jupyter-widgets, .js-plotly-plot")) {
            if (el.closest(".dt-scroll")) continue;
            const r = el.getBoundingClientRect();
            if (r.width && r.right > width + 1) bad.push(el.className + " right " + r.right);
            if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible")
                bad.push(`${el.className} scrolls: ${el.innerText.slice(0, 40)}`);
        }
        return bad;
    }""")


def drag_box(page, timeout: float = 60_000) -> None:
    """Box-select with a real mouse drag across the middle of the explorer's plot."""
    # The plot marks itself ready once its events are wired: a drag before that draws nothing.
    page.locator("[data-ready='true'] .orq-scatter .nsewdrag").first.wait_for(timeout=timeout)
    page.locator(".orq-scatter").first.scroll_into_view_if_needed()
    area = page.locator(".orq-scatter .nsewdrag").first.bounding_box()
    x0, y0 = area["x"] + area["width"] * 0.35, area["y"] + area["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + area["width"] * 0.3, y0 + area["height"] * 0.4, steps=12)
    page.mouse.up()


def test_dashboard_filters_by_tag_in_a_real_browser(voila):
    from playwright.sync_api import sync_playwright

    sample = orq_nb.load_sample()
    everything = summary_text(len(sample), sample["total_cost"].sum(), sample["duration_ms"].median(),
                              sample["total_tokens"].sum())
    voice = filter_sessions(sample, tags="voice")
    filtered = summary_text(len(voice), voice["total_cost"].sum(), voice["duration_ms"].median(),
                            voice["total_tokens"].sum())
    start = time.monotonic()
    messages, failed = [], []
    with sync_playwright() as p:
        browser, page = open_page(p, voila, 1400, messages, failed)
        page.get_by_text(everything).wait_for(timeout=120_000)
        title = page.locator(".js-plotly-plot .gtitle")
        title.wait_for(timeout=60_000)
        assert title.text_content() == f"Duration vs cost: {len(sample):,} sessions"
        # Session data never leaves: no modebar button uploads the chart (plotly.js offers one by default).
        buttons = page.eval_on_selector_all(".orq-scatter .modebar-btn",
                                            "els => els.map(e => e.dataset.title)")
        assert "Box Select" in buttons and "Lasso Select" in buttons, buttons
        assert not [b for b in buttons if re.search("share|cloud|chart studio", b or "", re.I)], buttons
        tags = page.get_by_placeholder("type a tag to require")
        tags.fill("voice")
        tags.press("Enter")
        page.get_by_text(filtered).wait_for(timeout=30_000)
        page.get_by_text("filters: tags: any of voice").wait_for(timeout=30_000)
        page.locator(".js-plotly-plot .gtitle", has_text=f"Duration vs cost: {len(voice):,} sessions"
                     ).wait_for(timeout=30_000)
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "dashboard.png"))  # the README's picture (docs/_static)
        # Spend watch: a click on the strongest anomaly shows that group's sessions of that day.
        top = spend_rows(sample).iloc[0]
        day = f"{top['day']:%Y-%m-%d}"
        page.locator(".orq-spend tbody tr").first.click()
        what = "tags: any of " if top["kind"] == "tag" else "projects: "
        page.get_by_text(f"filters: {what}{top['group']}; from {day}; to {day}").wait_for(timeout=30_000)
        # ... and explains that day against its average baseline day, by model (the sample's spans).
        kind = "tag" if top["kind"] == "tag" else "project"
        why = page.locator(".orq-spend", has_text=f"Why {kind} {top['group']} cost what it did on {day}")
        why.wait_for(timeout=30_000)
        assert why.locator(".orq-waterfall .orq-step").count() == 6
        assert "by model)" in why.inner_text()
        browser.close()
    assert not quiet_console(messages), quiet_console(messages)
    assert not failed, f"requests that failed (nothing may be fetched from outside): {failed}"
    print(f"browser test took {time.monotonic() - start:.1f} s")


def server_tags(fake: FakeOrqServer) -> dict[str, list[str]]:
    return {r["_id"]: list(r.get("tags") or []) for r in fake.sessions()}


def test_select_on_the_plot_relabel_on_the_server_and_undo(fake, voila_on_fake):
    """Box-select in Chromium, Apply a tag to orq.ai (the fake), check exactly those changed, undo."""
    from playwright.sync_api import sync_playwright

    client = orq_nb.OrqClient(api_key=fake.api_key, base_url=fake.url)
    df = client.query_sessions(interval="last_1_month", progress=False)  # what the dashboard loads
    before = server_tags(fake)
    everything = summary_text(len(df), df["total_cost"].sum(), df["duration_ms"].median(),
                              df["total_tokens"].sum())
    messages, failed = [], []
    shots = ROOT / "test-artifacts"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser, page = open_page(p, voila_on_fake, 1400, messages, failed)
        page.get_by_text(everything).wait_for(timeout=120_000)
        page.locator(".js-plotly-plot .gtitle").wait_for(timeout=60_000)
        page.get_by_text("No sessions selected").wait_for(timeout=30_000)
        assert page.title() == "orq.ai sessions explorer"  # the tab says what the page is
        drag_box(page)
        head = page.locator(".orq-selection")
        head.wait_for(timeout=30_000)
        x_lo, x_hi, y_lo, y_hi = ast.literal_eval(head.get_attribute("data-box"))
        want = orq_nb.select_box(df, duration=(x_lo, x_hi), cost=(y_lo, y_hi), log_x=True, log_y=True)
        assert len(want) > 0
        assert head.inner_text().startswith(
            f"{len(want):,} selected · total cost ${want.total_cost.sum():,.2f}"
            f" · median duration {want.duration_ms.median() / 1000:,.1f} s")
        page.get_by_text(f"of {len(want):,} entries").first.wait_for(timeout=30_000)  # the table's count
        # The traces panel lists the selection's traces, fetched from orq.ai (the fake) with the client.
        from orq_nb.explore.traces_panel import MOST

        shown = want.head(MOST)  # the panel reads the first MOST sessions of a larger selection
        plural = "s" if len(shown) != 1 else ""
        cut = f" (the first {MOST:,} selected)" if len(want) > MOST else ""
        said = f"Traces of {len(shown):,} session{plural}{cut}: {int(shown['traces_count'].sum()):,} traces"
        page.locator(".orq-traces", has_text=said).wait_for(timeout=60_000)
        page.locator(".orq-traces .orq-conversation", has_text="user").wait_for(timeout=60_000)
        # Narrowing the window with a selection keeps the plot's height (plotly.js sized it at 0 once).
        page.set_viewport_size({"width": 1024, "height": 1000})
        for _ in range(2):
            page.wait_for_timeout(1500)
            assert page.locator(".orq-scatter").first.bounding_box()["height"] > 400
        page.set_viewport_size({"width": 1400, "height": 1000})
        # A click on a column's name sorts by it; the numbers stand before the tags.
        table = page.locator(".jupyter-widgets", has=head).locator("xpath=following::table[.//th]").first
        headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
        assert headers.index("cost (USD)") < headers.index("tags") and headers[-1] == "tags", headers
        table.locator("thead th span.dt-column-title", has_text="cost (USD)").click()
        column = headers.index("cost (USD)") + 1
        page.wait_for_timeout(500)
        shown = [float(c) for c in table.locator(f"tbody tr td:nth-child({column})").all_inner_texts()]
        assert shown == sorted(shown) == sorted(want["total_cost"].round(6))[: len(shown)], shown
        with page.expect_download() as download:  # every selected row, not only the page shown
            page.locator(".jupyter-widgets", has=head).locator("xpath=following::button[.='Download CSV']"
                                                             ).first.click()
        rows = download.value.path().read_text(encoding="utf-8").strip().splitlines()
        assert len(rows) == len(want) + 1
        assert {r.split(",")[0].strip('"') for r in rows[1:]} == set(want["id"])
        # Is the selection really different from the rest? The panel answers with a table and a plot.
        page.get_by_role("button", name="Compare").click()
        page.get_by_text("the selection against the rest, among the sessions shown").wait_for(timeout=60_000)
        panel = page.locator(".orq-compare")
        panel.locator("td", has_text="cost_per_1k_tokens").first.wait_for(timeout=30_000)
        panel.locator("img").first.wait_for(timeout=30_000)  # the forest plot
        page.get_by_text("write to orq.ai", exact=True).click()
        add = page.get_by_placeholder("tag to add")
        add.fill("review-browser")
        add.press("Enter")
        preview = f"{len(want):,} sessions: +review-browser; 0 already tagged"
        page.get_by_text(preview).wait_for(timeout=30_000)
        page.get_by_role("button", name="Apply").click()
        page.get_by_text("Applied +review-browser on orq.ai").wait_for(timeout=60_000)
        after = server_tags(fake)
        changed = {i for i in before if after[i] != before[i]}
        assert changed == set(want["id"])
        assert all(after[i] == [*before[i], "review-browser"] for i in changed)
        page.screenshot(path=str(shots / "dashboard-1400.png"), full_page=True)
        assert not overflowing(page), overflowing(page)
        page.get_by_role("button", name="Undo").click()
        page.get_by_text("Undid on orq.ai").wait_for(timeout=60_000)
        assert server_tags(fake) == before
        # The selection into an evaluation dataset: a dry run first, then Add (the switch is on), then
        # Add again: nothing doubles.
        name = page.get_by_placeholder("dataset: a name (new or existing) or id")
        name.fill("browser-triage")
        page.get_by_role("button", name="Preview dataset").click()
        page.get_by_text(f"Dry run, nothing written: 'browser-triage' (a new dataset): would add "
                         f"{len(want):,} datapoints").wait_for(timeout=120_000)
        assert fake.datasets.datasets == {}
        page.get_by_role("button", name="Add to dataset").click()
        page.get_by_text(f"On orq.ai: 'browser-triage' (a new dataset): added {len(want):,} datapoints"
                         ).wait_for(timeout=180_000)
        page.get_by_role("button", name="Add to dataset").click()
        page.get_by_text(f"added 0 datapoints ({len(want):,} already there").wait_for(timeout=180_000)
        (points,) = fake.datasets.datapoints.values()
        assert sorted(p["inputs"]["orq_session_id"] for p in points) == sorted(want["id"])
        for width in (800, 1024):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(1500)
            page.screenshot(path=str(shots / f"dashboard-{width}.png"), full_page=True)
            assert not overflowing(page), (width, overflowing(page))
            if width == 800:  # narrow: the plot comes first, not under the whole control panel
                assert page.locator(".orq-scatter").first.bounding_box()["y"] < 400
                # ... so the intro may not send the reader "to the left" for filters that are below.
                assert "on the left" not in page.locator("body").inner_text()
        browser.close()
    assert not quiet_console(messages), quiet_console(messages)
    assert not failed, f"requests that failed (nothing may be fetched from outside): {failed}"


#: Where the compare panel's cells and forest plot are, as the browser laid them out.
COMPARE_LAYOUT = """() => {
    const panel = document.querySelector(".orq-compare"), box = panel.querySelector(".orq-compare-table");
    const left = panel.getBoundingClientRect().left + panel.clientLeft;
    const cells = [...panel.querySelectorAll("td.orq-ratio, td.orq-p")].map(td => {
        const r = td.getBoundingClientRect();
        return {kind: td.classList.contains("orq-ratio") ? "ratio" : "p", text: td.innerText.trim(),
                left: r.left, right: r.right};
    });
    const img = panel.querySelector("img"), shown = img.getBoundingClientRect();
    return {left, right: left + panel.clientWidth, window: document.documentElement.clientWidth,
            scrollWidth: box.scrollWidth, clientWidth: box.clientWidth, cells,
            headers: [...box.querySelectorAll("th")].map(th => th.innerText.replace(/\\s+/g, " ").trim()),
            natural: [img.naturalWidth, img.naturalHeight], shown: [shown.width, shown.height],
            imgRight: shown.right};
}"""


def test_compare_panel_shows_each_ratio_interval_and_p_without_scrolling(voila):
    """At 1024 and 1400 px: every ratio with its interval and every adjusted p inside the panel, the table's
    box not scrolling sideways, the forest plot shown at its natural size (drawn at 96 dpi with labels of
    9 points or more: 12 px and over, as test_compare_panel checks)."""
    from playwright.sync_api import sync_playwright

    sample = orq_nb.load_sample()  # what the dashboard compares: no filter, so every session
    want = comparison_table(compare_cohorts(sample, "prompt-v2", "prompt-v1", random_state=0))
    messages, failed = [], []
    with sync_playwright() as p:
        browser, page = open_page(p, voila, 1024, messages, failed)
        panel = page.locator(".orq-compare")
        panel.wait_for(timeout=120_000)
        page.locator(".js-plotly-plot .gtitle").wait_for(timeout=60_000)
        panel.locator("select").nth(0).select_option("tag")
        panel.locator("select").nth(1).select_option("tag")
        for box, tag in zip(panel.get_by_placeholder("tag or project").all(), ("prompt-v2", "prompt-v1"),
                            strict=True):
            box.fill(tag)
            box.press("Enter")
        panel.get_by_role("button", name="Compare").click()
        said = "tag prompt-v2 against tag prompt-v1, among the sessions shown"
        page.get_by_text(said).wait_for(timeout=60_000)
        page.wait_for_function("() => { const i = document.querySelector('.orq-compare img');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
        shots = ROOT / "test-artifacts"
        shots.mkdir(exist_ok=True)
        for width in (1024, 1400):
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(1000)
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(shots / f"compare-{width}.png"))
            seen = page.evaluate(COMPARE_LAYOUT)
            assert "ratio a/b [95% interval]" in seen["headers"] and "p adjusted" in seen["headers"], seen
            ratios = [c["text"] for c in seen["cells"] if c["kind"] == "ratio"]
            ps = [c["text"] for c in seen["cells"] if c["kind"] == "p"]
            assert ratios == want["ratio [interval]"].tolist() and ps == want["p adjusted"].tolist(), seen
            assert all(re.fullmatch(r"\S+ \[\S+, \S+\]", r) for r in ratios), ratios  # 0.651 [0.558, 0.762]
            right = min(seen["right"], seen["window"])
            outside = [c for c in seen["cells"] if c["left"] < seen["left"] - 1 or c["right"] > right + 1]
            assert not outside, (width, outside, seen["left"], right)
            table = (seen["scrollWidth"], seen["clientWidth"])
            assert table[0] <= table[1], (width, table)  # no sideways scrolling
            assert seen["natural"][0] == PLOT_WIDTH, seen["natural"]
            assert all(abs(n - s) <= 2 for n, s in zip(seen["natural"], seen["shown"], strict=True)), seen
            assert seen["imgRight"] <= seen["window"], seen
            assert not overflowing(page), (width, overflowing(page))  # nor any widget around them
            print(f"{width} px: panel {seen['right'] - seen['left']:.0f} px, table {table[0]} px in "
                  f"{table[1]} px, plot {seen['natural']} shown {seen['shown']}")
        browser.close()
    assert not quiet_console(messages), quiet_console(messages)
    assert not failed, f"requests that failed (nothing may be fetched from outside): {failed}"
