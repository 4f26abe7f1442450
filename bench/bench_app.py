"""App speed: cold start, warm-up button to finished charts, time to first chart per page.

    python bench/bench_app.py                  # empty temp store: trains the paper warm-up
    python bench/bench_app.py --store PATH     # reuse a store with a done default sweep
    python bench/bench_app.py --warmup-only tiny --repeat 5   # only the warm-up button

Measured in Debian's Chromium against the real server (``streamlit run``, 127.0.0.1):
- cold start: process start -> health check answers, and -> Home drawn (its button);
- warm-up: click "Reproduce the paper's warm-up" (paper settings) on Home, once the app's
  warm runner is ready and Home has been read for ``READ_S`` (5 s) -> the first
  Identifiability chart is drawn (training by the runner included); ``--warmup-only``
  prints the timeline of each click from the store's marks;
- per page: sidebar navigation -> first chart (first table for Paper), and the same for a
  full page reload (new session: the frontend bundle and plotly.js are parsed again); the
  median of ``--loads`` loads after one unmeasured load, so caches are warm as in use;
- per page, server side: the median script run under AppTest (no browser).
Prints a table; the lead records it in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nearid_core.runs.store import RunStore  # noqa: E402
from nearid_ui.serve import (  # noqa: E402
    _server_dies_with_parent,
    _wait_healthy,
    free_port,
    launch_chromium,
)

PAGES = {  # URL path: (title, what counts as the first result drawn)
    "Data": ("Data: factors u", ".js-plotly-plot"),
    "Train": ("Train a leak", ".js-plotly-plot"),
    "Bi-Lipschitz": ("How close to an isometry", ".js-plotly-plot"),
    "Identifiability": ("Identifiability error against L", ".js-plotly-plot"),
    "ICA": ("Factors before and after ICA", ".js-plotly-plot"),
    "Paper": ("The paper's numbers", '[data-testid="stDataFrame"]'),
}
FILES = {"Data": "data_page", "Train": "train_page", "Bi-Lipschitz": "bilipschitz_page",
         "Identifiability": "identifiability_page", "ICA": "ica_page", "Paper": "paper_page"}


def start_server(home: Path, port: int, root: Path = ROOT) -> subprocess.Popen:
    """The app of the source tree ``root`` (another commit: ``git worktree add``)."""
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1", PYTHONPATH=str(root))
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.address",
         "127.0.0.1", "--server.port", str(port), "--server.headless", "true"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_server_dies_with_parent)


def timed_load(page, url: str, selector: str, timeout_ms: int = 120_000) -> float:
    """Full page load (new session, frontend bundle parsed again) -> first result."""
    t0 = time.perf_counter()
    page.goto(url)
    page.locator(selector).first.wait_for(timeout=timeout_ms)
    return time.perf_counter() - t0


def _show(page, name: str, timeout_ms: int = 120_000) -> None:
    """Go to a page through the sidebar and wait until its script has finished."""
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{name}"]').click()
    page.locator("h1", has_text=PAGES[name][0]).first.wait_for(timeout=timeout_ms)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached",
                                                               timeout=timeout_ms)


def timed_switch(page, name: str, timeout_ms: int = 120_000) -> float:
    """In-app navigation (same session, sidebar link) -> first result drawn.

    Starts from a page that has none of the target's results (Paper has no chart, Data no
    table), so a result left over from the previous page cannot be counted.
    """
    title, selector = PAGES[name]
    _show(page, "Data" if name == "Paper" else "Paper")
    page.wait_for_function(f"document.querySelectorAll('{selector}').length === 0",
                           timeout=timeout_ms)
    t0 = time.perf_counter()
    page.locator(f'[data-testid="stSidebarNav"] a[href$="/{name}"]').click()
    page.locator("h1", has_text=title).first.wait_for(timeout=timeout_ms)
    page.locator(selector).first.wait_for(timeout=timeout_ms)
    return time.perf_counter() - t0


def browser_bench(url: str, page, sweep: str, loads: int,
                  pages: list[str]) -> dict[str, tuple[float, float]]:
    """Page -> (median in-app navigation, median full page load), after one warm load."""
    out = {}
    for name in pages:
        selector = PAGES[name][1]
        target = f"{url}/{name}?sweep={sweep}"
        timed_load(page, target, selector)  # first load of the process: caches fill
        reloads = [timed_load(page, target, selector) for _ in range(loads)]
        switches = [timed_switch(page, name) for _ in range(loads)]
        out[name] = (statistics.median(switches), statistics.median(reloads))
    return out


def apptest_bench(home: Path, sweep: str, loads: int, pages: list[str]) -> dict[str, float]:
    os.environ.update(NEARID_HOME=str(home), NEARID_APP_RUNNER="0")
    from streamlit.testing.v1 import AppTest

    out = {}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["sweep"] = sweep
    at.run()
    for name in pages:
        at.switch_page(f"app_pages/{FILES[name]}.py").run()  # first load
        times = []
        for _ in range(loads):
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


READ_S = 5.0  # a user reads Home at least this long before pressing the button


def open_home(page, url: str, preset: str = "paper") -> float:
    """Home with ``preset`` chosen, drawn; returns the time it was drawn (perf_counter)."""
    page.goto(f"{url}/?preset={preset}")
    page.get_by_role("button", name="Reproduce the paper's warm-up").wait_for(timeout=120_000)
    return time.perf_counter()


def press(page) -> tuple[float, float, float, str]:
    """Click the warm-up button on the Home page shown; return (click epoch, s to the
    results' heading, s to the first chart, sweep id)."""
    button = page.get_by_role("button", name="Reproduce the paper's warm-up")
    t_click, t0 = time.time(), time.perf_counter()
    button.click()
    page.wait_for_url("**/Identifiability?sweep=*", timeout=60_000)
    page.get_by_text("Statistical ℓ2 error against L").first.wait_for(timeout=600_000)
    heading = time.perf_counter() - t0
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    chart = time.perf_counter() - t0
    return t_click, heading, chart, page.url.rsplit("sweep=", 1)[1].split("&")[0]


def _read(drawn: float) -> None:
    """Wait until the user has read Home for ``READ_S`` seconds."""
    time.sleep(max(0.0, READ_S - (time.perf_counter() - drawn)))


def _timeline(sweep: dict, t_click: float, heading: float, chart: float) -> str:
    """Where the seconds went after the click, from the store's own timestamps."""
    from nearid_core.runs.jobs import TIMELINE

    marks = (sweep.get("timings") or {}).get("marks", {})
    points = [("submitted", sweep.get("created_at"))]
    points += [(k, marks.get(k)) for k in TIMELINE]
    cells = [f"{name} {t - t_click:+.2f}" for name, t in points if isinstance(t, (int, float))]
    return ", ".join(cells + [f"results shown {heading:+.2f}", f"first chart {chart:+.2f} s"])


def _wait_warm(home: Path, timeout: float) -> float | None:
    """Seconds until the app's warm runner reports its pool warm (None: it did not)."""
    t0 = time.perf_counter()
    log = home / "runner.log"
    while time.perf_counter() - t0 < timeout:
        if log.is_file() and "runner: warm" in log.read_text(errors="replace"):
            return time.perf_counter() - t0
        time.sleep(0.1)
    return None


def warmup_only(preset: str, repeat: int, cold: bool, trees: list[Path] | None = None) -> int:
    """Button -> charts, each time on a fresh server and an empty store. The button is
    pressed once the warm runner is ready (a user reading Home first), or at once with
    ``cold``. With several source ``trees`` the presses alternate between them."""
    trees = trees or [ROOT]
    times: dict[Path, list[float]] = {t: [] for t in trees}
    for _ in range(repeat):
        for tree in trees:
            chart = _one_warmup(preset, cold, tree)
            times[tree].append(chart)
            label = f"{tree.name}, " if len(trees) > 1 else ""
            print(f"  {label}{preset}: button -> first chart {chart:.1f} s", flush=True)
    for tree, ts in times.items():
        label = f" [{tree.name}]" if len(trees) > 1 else ""
        print(f"warm-up ({preset} preset, {'cold' if cold else 'warm'} runner){label}, button "
              f"-> first Identifiability chart: median {statistics.median(ts):.1f} s of "
              f"{repeat} ({os.cpu_count()} CPUs)")
    if len(trees) == 2:
        a, b = trees
        ratios = [x / y for x, y in zip(times[a], times[b], strict=True)]
        print(f"{a.name} / {b.name}: median ratio of paired presses "
              f"{statistics.median(ratios):.2f}")
    return 0


def _one_warmup(preset: str, cold: bool, tree: Path) -> float:
    """One press on a fresh server of ``tree``; prints its timeline, returns the seconds
    from the press to the first chart."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t_start = time.perf_counter()
        proc = start_server(Path(tmp), port, tree)
        try:
            _wait_healthy(url, proc, 120)
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                drawn = open_home(page, url, preset)
                if not cold:
                    warm = _wait_warm(Path(tmp), 120)
                    ready = (f"{time.perf_counter() - t_start:.1f} s after the server "
                             "started" if warm is not None else "never")
                    print(f"    runner warm: {ready}")
                    _read(drawn)
                t_click, heading, chart, sweep = press(page)
                browser.close()
            print("    " + _timeline(RunStore(Path(tmp)).get_sweep(sweep), t_click,
                                     heading, chart))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return chart


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="nearid app benchmark")
    p.add_argument("--store", help="a store with a done default sweep (skips the warm-up)")
    p.add_argument("--loads", type=int, default=5, help="measured loads per page")
    p.add_argument("--pages", nargs="*", default=list(PAGES), choices=list(PAGES),
                   help="pages to measure (default: all)")
    p.add_argument("--warmup-only", choices=("paper", "tiny"),
                   help="only time the warm-up button of this preset, on fresh servers")
    p.add_argument("--repeat", type=int, default=5, help="warm-ups for --warmup-only")
    p.add_argument("--cold", action="store_true", help="with --warmup-only: press the button "
                   "as soon as Home is drawn, before the warm runner is ready")
    p.add_argument("--trees", nargs="*", type=Path, help="with --warmup-only: source trees to "
                   "press in turn (default: this one), e.g. two `git worktree`s")
    args = p.parse_args(argv)
    if args.warmup_only:
        return warmup_only(args.warmup_only, args.repeat, args.cold,
                           [t.resolve() for t in args.trees or []])
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(args.store) if args.store else Path(tmp) / "store"
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        proc = start_server(home, port)
        try:
            _wait_healthy(url, proc, 120)
            rows.append(("cold start: server answers", time.perf_counter() - t0))
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                drawn = open_home(page, url)
                rows.append(("cold start: Home drawn", time.perf_counter() - t0))
                if args.store:
                    done = [s for s in RunStore(home).list_sweeps() if s["status"] == "done"]
                    sweep = done[0]["id"]
                else:
                    _wait_warm(home, 120)
                    _read(drawn)
                    _, _, seconds, sweep = press(page)
                    rows.append(("warm-up (paper settings): button -> first chart", seconds))
                for name, (switch, reload) in browser_bench(url, page, sweep, args.loads,
                                                            args.pages).items():
                    rows.append((f"first result, sidebar navigation: {name}", switch))
                    rows.append((f"first result, full page reload: {name}", reload))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        for name, s in apptest_bench(home, sweep, args.loads, args.pages).items():
            rows.append((f"script run, AppTest: {name}", s))
        cfg = RunStore(home).get_sweep(sweep)["config"]
    print(f"\nnearid app benchmark ({os.cpu_count()} CPUs, median of {args.loads} loads)")
    print(f"sweep {sweep}: {len(cfg['leaks'])} leaks x {cfg['seeds']} seeds, "
          f"n = {cfg['data']['n']}, {cfg['train']['epochs']} epochs")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  seconds")
    for name, s in rows:
        print(f"{name:<{width}}  {s:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
