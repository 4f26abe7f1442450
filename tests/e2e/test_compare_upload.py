"""The Compare page in Debian's Chromium: two .npy files through the real upload widget, the
Compare button, the table with rigid ≈ 0 for B = A Q, and no request off this machine."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from nearid_ui.serve import CHROMIUM, launch_chromium, serve_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing (Debian: apt-get install chromium)"),
]
WAIT_MS = 180_000  # a cold worker imports scikit-learn first; leave room for a busy machine
LOCAL = {"127.0.0.1"}
N, D = 2000, 64
# JS: the text of the results table's cells, or null before it is there. st.dataframe draws
# on a canvas and mirrors its cells in a hidden accessible table: textContent, not innerText.
TABLE_CELLS = """() => {
  const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')];
  const grid = grids.find(g => g.textContent.includes('A (reference)'));
  const cells = grid ? [...grid.querySelectorAll('td')].map(c => c.textContent.trim()) : [];
  return cells.length ? cells : null;
}"""


def rotated_files(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    A = rng.laplace(size=(N, D))
    Q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    a, b = folder / "a.npy", folder / "b.npy"
    np.save(a, A)
    np.save(b, A @ Q)
    return a, b


def test_two_uploads_compare_to_rigid_zero_on_this_machine(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    a, b = rotated_files(tmp_path)
    requests: list[str] = []
    with serve_app(tmp_path / "store", log_path=tmp_path / "server.log") as url, \
            sync_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.on("request", lambda r: requests.append(r.url))
            # Home first: a fresh server's first request for a page URL gets Streamlit's
            # "Page not found" dialog over the page (tests/e2e/test_browser.py).
            page.goto(url)
            page.get_by_text("nearid — near-identifiability").first.wait_for(timeout=60_000)
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Compare",
                                                                    exact=True).click()
            page.get_by_text("Compare representations").first.wait_for(timeout=60_000)
            page.locator(".st-key-cmp_files input[type=file]").set_input_files([str(a), str(b)])
            button = page.locator(".st-key-cmp_go_upload button")
            button.wait_for(timeout=60_000)
            t0 = time.monotonic()
            button.click()
            page.get_by_text("Results — uploaded: a.npy, b.npy").wait_for(timeout=WAIT_MS)
            page.wait_for_function(TABLE_CELLS, timeout=60_000)
            seconds = time.monotonic() - t0
            cells = page.evaluate(TABLE_CELLS)
            page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
        finally:
            browser.close()
    print(f"click -> table: {seconds:.1f} s for two {N:,} x {D} files")
    # B = A Q: the rigid fit is exact up to float rounding, so every shown digit is 0.
    assert "0.000 [0.000, 0.000]" in cells, cells
    assert "a.npy" in cells and "b.npy" in cells
    assert (tmp_path / "compare.png").stat().st_size > 10_000
    outside = sorted({u for u in requests if urlsplit(u).hostname not in LOCAL
                      and not u.startswith(("data:", "blob:"))})
    assert requests and outside == [], f"requests to other hosts: {outside}"
