"""The real app in Debian's Chromium: the warm-up button, trained by the background runner,
ends on the Identifiability page's chart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nearid_core.store import RunStore
from nearid_ui.serve import CHROMIUM, launch_chromium, serve_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing (Debian: apt-get install chromium)"),
]
WAIT_MS = 180_000  # the tiny preset trains in seconds; leave room for a busy machine


def test_warmup_button_to_identifiability_chart(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    home, shots = tmp_path / "store", tmp_path / "shots"
    shots.mkdir()
    with serve_app(home, log_path=tmp_path / "server.log") as url, \
            sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/?preset=tiny")
            button = page.get_by_role("button", name="Reproduce the paper's warm-up")
            button.wait_for(timeout=60_000)
            assert page.get_by_text("tiny preset").first.is_visible()
            button.click()
            page.wait_for_url(re.compile(r".*/Identifiability\?sweep=\w+"), timeout=60_000)
            page.locator(".js-plotly-plot").first.wait_for(timeout=WAIT_MS)
            page.get_by_text("Statistical ℓ2 error against L").first.wait_for(timeout=60_000)
            page.screenshot(path=str(shots / "identifiability.png"), full_page=True)
        finally:
            browser.close()
    (sweep,) = RunStore(home).list_sweeps()
    assert sweep["status"] == "done" and sweep["name"] == "paper warm-up (tiny preset)"
    assert (shots / "identifiability.png").stat().st_size > 10_000
