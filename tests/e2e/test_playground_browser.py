"""The teaching path in Debian's Chromium at 1024×768, against the real app: the Playground
trains its grid on first visit and then answers ten slider moves (latency recorded, never
asserted), a link to a playground state or a lesson step reproduces it in a fresh browser,
the lesson is walked end to end, and presentation mode keeps each page's main chart above
the fold with tick labels of 16 px or more."""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path

import pytest

from nearid_core.views import lesson
from nearid_ui import browser
from nearid_ui.serve import CHROMIUM, launch_chromium, serve_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing (Debian: apt-get install chromium)"),
]
VIEW = {"width": 1024, "height": 768}
GRID_MS = 600_000  # first visit: the runner warms up and trains 60 small models
LESSON_MS = 600_000  # the lesson's three extra sweeps train after the grid
PRESENT = ["Playground", "Lesson?step=3", "Data", "Train", "Bi-Lipschitz", "Identifiability",
           "ICA"]
# JS: where the page's first chart sits, and the smallest tick label of every chart.
MEASURE = """() => {
  const charts = Array.from(document.querySelectorAll('.js-plotly-plot'));
  if (!charts.length) return null;
  const r = charts[0].getBoundingClientRect();
  const ticks = charts.flatMap(c => Array.from(c.querySelectorAll(
      '.xtick text, .ytick text, .xaxislayer-above text, .yaxislayer-above text')))
    .map(t => parseFloat(getComputedStyle(t).fontSize));
  return {top: r.top, bottom: r.bottom, ticks: ticks.length, min_tick: Math.min(...ticks)};
}"""


def idle(page, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    time.sleep(0.5)
    while time.monotonic() < deadline and page.locator(
            '[data-testid="stStatusWidget"]').count():
        time.sleep(0.3)


def slider_moves(page, start: float, count: int = 10) -> list[float]:
    """Alternate two steps right, two left; every move must end on the right leak (the
    slider, the charts and the URL)."""
    latencies = browser.moves(page, start, count)
    assert re.search(r"leak=0\.6(&|$)", page.url), page.url  # 0.5 +2 -2 +2 -2 +2 steps
    return latencies


def walk_lesson(page, url: str) -> None:
    page.goto(f"{url}/?lesson=1")  # the link a lecturer gives: any page, lesson mode
    page.get_by_role("heading", name=re.compile(r"^1\. ")).wait_for(timeout=60_000)
    for k, step in enumerate(lesson.STEPS, start=1):
        page.get_by_role("heading", name=f"{k}. {step.title}").wait_for(timeout=LESSON_MS)
        page.locator(".js-plotly-plot").first.wait_for(timeout=LESSON_MS)
        answer = step.question.options[step.question.answer]
        page.get_by_text(answer, exact=True).first.click()
        idle(page)
        page.get_by_text("Reveal", exact=True).click()
        page.get_by_text("What to notice").first.wait_for(timeout=60_000)
        assert page.get_by_text("as the theory predicts").count()
        assert f"step={k}" in page.url
        if k < len(lesson.STEPS):
            page.get_by_role("button", name="Next ▶").click()


def test_playground_lesson_and_presentation(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = tmp_path / "shots"
    shots.mkdir()
    with serve_app(tmp_path / "store", log_path=tmp_path / "server.log") as url, \
            sync_api.sync_playwright() as pw:
        chromium = launch_chromium(pw)
        try:
            page = chromium.new_page(viewport=VIEW)
            page.goto(f"{url}/Playground")
            browser.wait_for_leak(page, 0.5, timeout_ms=GRID_MS)  # grid trained, drawn
            idle(page)
            latencies = slider_moves(page, 0.5)
            (tmp_path / "latency.json").write_text(json.dumps(latencies))
            print(f"slider to charts, 10 moves: median {statistics.median(latencies):.3f} s, "
                  f"all {[round(x, 3) for x in latencies]}")

            fresh = chromium.new_context(viewport=VIEW).new_page()  # a link, a new browser
            fresh.goto(f"{url}/Playground?leak=0.35&pair=u-1&colour=1")
            browser.wait_for_leak(fresh, 0.35)
            assert browser.slider_value(fresh) == 0.35
            assert fresh.get_by_text("true factors u vs seed 1").count()
            fresh.goto(f"{url}/Lesson?step=4")
            fresh.get_by_role("heading", name=f"4. {lesson.STEPS[3].title}").wait_for(
                timeout=60_000)

            walk_lesson(page, url)
            page.screenshot(path=str(shots / "lesson_6.png"))

            for path in PRESENT:
                sep = "&" if "?" in path else "?"
                page.goto(f"{url}/{path}{sep}present=1")
                page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
                idle(page)
                time.sleep(1.0)
                m = page.evaluate(MEASURE)
                page.screenshot(path=str(shots / f"present_{path.split('?')[0]}.png"))
                assert m["bottom"] <= VIEW["height"], (path, m)  # main chart above the fold
                assert m["ticks"] == 0 or m["min_tick"] >= 16, (path, m)
                assert not page.locator('[data-testid="stSidebar"][aria-expanded="true"]'
                                        ).count(), "the sidebar starts collapsed"
        finally:
            chromium.close()
