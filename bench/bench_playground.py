"""Playground speed: slider release to every chart updated, in Debian's Chromium at 1024×768.

    python bench/bench_playground.py                 # empty temp store: the grid trains first
    python bench/bench_playground.py --rounds 5      # 5 rounds of 10 moves, one page each
    python bench/bench_playground.py --present       # in presentation mode
    python bench/bench_playground.py --neighbour     # + another session's page loads

The app is served as a user starts it (``streamlit run``, warm runner, 127.0.0.1). The first
visit trains the reference grid (timed: first visit to first charts). Each round then opens
a fresh page at α = 0.5 and moves the slider 10 times with the keyboard, two steps right and
two left, waiting after each release until the B(z) chart and the error-vs-L chart show
the new α (``nearid_ui.browser``). Prints every latency, each round's median and the median
of all; the lead records them in BENCHMARKS.md.

``--neighbour``: another browser (its own process) reloads the Bi-Lipschitz page of the grid
again and again, timing each load to its first chart, first while nobody moves the slider,
then during the rounds: the ratio says how much a Playground session slows another session.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nearid_ui import browser  # noqa: E402
from nearid_ui.serve import launch_chromium, serve_app  # noqa: E402

VIEW = {"width": 1024, "height": 768}


def wait_warm(log: Path, offset: int, timeout: float = 120.0) -> bool:
    """Until the app's warm runner (started with the server) reports its pool warm: rounds
    then measure a warm server, not one sharing its cores with the runner's start-up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.is_file() and "runner: warm" in log.read_bytes()[offset:].decode(errors="replace"):
            return True
        time.sleep(0.2)
    return False


def neighbour_loads(url: str, seconds: float, out) -> None:
    """In its own process: reload a result page for ``seconds``; put each load's time."""
    from playwright.sync_api import sync_playwright

    from nearid_core.engine.lifecycle import die_with_parent

    die_with_parent()  # a killed benchmark leaves no browser session behind

    times = []
    with sync_playwright() as pw:
        chromium = launch_chromium(pw)
        page = chromium.new_page(viewport=VIEW)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            page.goto(f"{url}/Bi-Lipschitz")
            page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            times.append(time.perf_counter() - t0)
        chromium.close()
    out.put(times)


def _neighbour(url: str, seconds: float):
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=neighbour_loads, args=(url, seconds, q), daemon=True)
    proc.start()
    return proc, q


def run(home: Path, rounds: int, moves: int, present: bool,
        neighbour: bool = False) -> list[float]:
    from playwright.sync_api import sync_playwright

    query = "?leak=0.5" + ("&present=1" if present else "")
    every: list[float] = []
    log = home / "runner.log"
    offset = log.stat().st_size if log.is_file() else 0
    with serve_app(home) as url, sync_playwright() as pw:
        chromium = launch_chromium(pw)
        page = chromium.new_page(viewport=VIEW)
        t0 = time.perf_counter()
        page.goto(f"{url}/Playground{query}")
        browser.wait_for_leak(page, 0.5, timeout_ms=900_000)
        print(f"first visit to first charts (grid trained if missing): "
              f"{time.perf_counter() - t0:.1f} s")
        page.close()
        warm = wait_warm(log, offset)
        print("runner warm" if warm else "runner did not report warm within 120 s")
        if neighbour:
            proc, q = _neighbour(url, 40.0)
            alone = q.get()
            proc.join()
            proc, q = _neighbour(url, 40.0)
        for r in range(rounds):
            page = chromium.new_page(viewport=VIEW)
            page.goto(f"{url}/Playground{query}")
            browser.wait_for_leak(page, 0.5)
            time.sleep(2.0)  # the page's first run and its prefetch are over
            lat = browser.moves(page, 0.5, moves)
            every += lat
            print(f"round {r + 1}: median {statistics.median(lat):.3f} s "
                  f"(min {min(lat):.3f}, max {max(lat):.3f}); "
                  + " ".join(f"{x:.3f}" for x in lat))
            page.close()
        if neighbour:
            during = q.get()
            proc.join()
            print(f"another session's Bi-Lipschitz load: median {statistics.median(alone):.3f} s "
                  f"alone ({len(alone)} loads), {statistics.median(during):.3f} s while the "
                  f"slider moves ({len(during)} loads): ratio "
                  f"{statistics.median(during) / statistics.median(alone):.2f}")
        chromium.close()
    return every


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--store", help="a store that has the grid (default: a fresh temp store)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--moves", type=int, default=10)
    p.add_argument("--present", action="store_true", help="in presentation mode")
    p.add_argument("--neighbour", action="store_true",
                   help="time another session's page loads, alone and during the moves")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.store) if args.store else Path(tmp) / "store"
        every = run(home, args.rounds, args.moves, args.present, args.neighbour)
    print(f"all {len(every)} moves: median {statistics.median(every):.3f} s, "
          f"90th percentile {statistics.quantiles(every, n=10)[-1]:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
