"""Drive the real app in Chromium through every page and save PNGs for the README tour.

    python scripts/screenshots.py                 # trains small sweeps in a temp store
    python scripts/screenshots.py --store .nearid # uses the newest done sweep of a store

Every page in presentation mode (``?present=1``) at 1024×768, as a projector shows it: the
screenshot is the visible window, so it also shows what is above the fold. Writes
docs/screenshots/<n>_<page>.png. Needs /usr/bin/chromium (Debian's package).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig  # noqa: E402
from nearid_core.runs.jobs import run_sweep_job, submit_sweep  # noqa: E402
from nearid_core.runs.store import RunStore  # noqa: E402
from nearid_core.runs.study_jobs import run_study_job, submit_study  # noqa: E402
from nearid_core.studies import playground as pg  # noqa: E402
from nearid_ui.serve import launch_chromium, serve_app  # noqa: E402

DEMO = SweepConfig(data=DataConfig(n=2048), train=TrainConfig(epochs=12, batch_size=128),
                   leaks=(0.0, 0.3, 0.6, 0.9), seeds=3)
# Square images need more data and epochs than the rolled demo to disentangle (~10 s).
SQUARE = SweepConfig(data=DataConfig(kind="square", n=4096, square_size=6.0),
                     model=ModelConfig(width=64), train=TrainConfig(epochs=100, batch_size=128),
                     leaks=(0.5,), seeds=2)
# (file stem, URL path, query, what to wait for: number of plotly charts)
PAGES = [
    ("01_home", "", "", 0), ("02_playground", "Playground", "?leak=0.5", 4),
    ("03_lesson", "Lesson", "?step=3", 1), ("04_data", "Data", "", 2),
    ("05_train", "Train", "", 1), ("06_bi-lipschitz", "Bi-Lipschitz", "", 2),
    ("07_identifiability", "Identifiability", "", 4), ("08_ica", "ICA", "", 6),
    ("09_paper", "Paper", "", 0), ("10_compare", "Compare", "", 0),
    ("11_glossary", "Glossary", "?term=b-z", 0),
    ("13_disentanglement", "Disentanglement", "", 2), ("14_batch-effects", "Batch-effects", "", 2),
]
VIEW = {"width": 1024, "height": 768}  # a projector


def make_store(home: Path) -> tuple[str, str]:
    store = RunStore(home)
    ids = []
    grid = pg.grid_config("rolled")  # the Playground's and the lesson's reference grid
    for cfg, name in ((grid, pg.sweep_name(grid)), (SQUARE, "square images"),
                      (DEMO, "demo warm-up")):
        sid = submit_sweep(store, cfg, name=name)
        run_sweep_job(store, sid, executor=ThreadPoolExecutor(1))
        ids.append(sid)
    for kind in ("disentangle", "batch"):  # the Tables 2-4 studies at their defaults
        run_study_job(store, submit_study(store, kind, {}, name=f"{kind} defaults"),
                      executor=ThreadPoolExecutor(1))
    return ids[2], ids[1]


def wait_for_page(page, charts: int, timeout: float = 60.0) -> None:
    """Until the page has a title, ``charts`` plotly charts, and the script has stopped."""
    page.wait_for_selector("h1", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count()
        n = page.locator(".js-plotly-plot").count()
        if n >= charts and not running:
            break
        time.sleep(0.3)
    time.sleep(1.5)  # let plotly finish its transitions


def shoot(url: str, out: Path, sweep: str, square: str | None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport=VIEW)
        shots = [(stem, path, query or f"?sweep={sweep}", n) for stem, path, query, n in PAGES]
        if square:
            shots.append(("12_ica_square", "ICA", f"?sweep={square}", 8))
        for stem, path, query, n in shots:
            page.goto(f"{url}/{path}{query}&present=1")
            wait_for_page(page, n)
            target = out / f"{stem}.png"
            page.screenshot(path=str(target))
            written.append(target)
            print(f"wrote {target}")
        browser.close()
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", help="an existing store (default: train demo sweeps in a temp dir)")
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = p.parse_args(argv)
    if not Path("/usr/bin/chromium").exists():
        print("screenshots: /usr/bin/chromium is missing (apt-get install chromium)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        if args.store:
            home = Path(args.store)
            done = [s for s in RunStore(home).list_sweeps() if s["status"] == "done"]
            if not done:
                print(f"screenshots: no done sweep in {home}", file=sys.stderr)
                return 2
            sweep, square = done[0]["id"], None
        else:
            home = Path(tmp) / "store"
            print("training two small sweeps for the screenshots…")
            sweep, square = make_store(home)
        with serve_app(home, env={"NEARID_APP_RUNNER": "0"}) as url:
            shoot(url, Path(args.out), sweep, square)
    return 0


if __name__ == "__main__":
    sys.exit(main())
