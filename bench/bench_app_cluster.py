"""The research-sized grid from the app, trained on a Dask cluster: 12 leaks x S seeds on
6 factors (d_x 128, width 128), submitted with the Train page's button.

    python bench/bench_app_cluster.py --seeds 32      # the 12 x 32 grid (about 25 min here)
    python bench/bench_app_cluster.py --seeds 4       # a quick try of the same path

Starts a ``distributed.LocalCluster`` (2 worker processes, one thread each) and the real
server (``streamlit run``, 127.0.0.1) with ``NEARID_SCHEDULER`` set to it, so the app's
background runner sends the sweep's chunks and analysis tasks to the cluster. In Debian's
Chromium: open the Train page with the grid's settings in its link, press **Train**, wait
for the store to say done, then open Identifiability and wait for its first chart. Prints
the time from the click to done and to the chart, and the sweep's own stage times.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_app import start_server  # noqa: E402
from bench_grid import LEAKS  # noqa: E402

from nearid_core.runs.store import RunStore  # noqa: E402
from nearid_ui.serve import _wait_healthy, free_port, launch_chromium  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--timeout-min", type=float, default=90)
    args = ap.parse_args()
    from distributed import LocalCluster
    from playwright.sync_api import sync_playwright

    query = urlencode({"kind": "rolled", "d_u": 6, "d_x": 128, "width": 128,
                       "leakmode": "list of leaks", "leaklist": LEAKS, "seeds": args.seeds})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, \
            tempfile.TemporaryDirectory() as tmp:
        os.environ["NEARID_SCHEDULER"] = cluster.scheduler_address
        home, port = Path(tmp), free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(home, port)
        try:
            _wait_healthy(url, proc, 120)
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}/Train?{query}")
                button = page.get_by_role("button", name="Train", exact=True)
                button.wait_for(timeout=120_000)
                t_click = time.time()
                button.click()
                store, sweep = RunStore(home), None
                while time.time() - t_click < args.timeout_min * 60:
                    rows = store.list_sweeps()
                    if rows and rows[0]["status"] not in ("queued", "running"):
                        sweep = rows[0]
                        break
                    time.sleep(2)
                if sweep is None:
                    print("the sweep did not end in time", flush=True)
                    return 1
                t_done = time.time() - t_click
                page.goto(f"{url}/Identifiability?sweep={sweep['id']}")
                page.locator(".js-plotly-plot").first.wait_for(timeout=600_000)
                t_chart = time.time() - t_click
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    cfg, t = sweep["config"], sweep.get("timings") or {}
    print(f"sweep {sweep['id']} ({len(cfg['leaks'])} leaks x {cfg['seeds']} seeds, d_u "
          f"{cfg['data']['d_u']}, width {cfg['model']['width']}) ended {sweep['status']}: "
          f"click -> done {t_done:.1f} s, -> first Identifiability chart {t_chart:.1f} s; "
          f"training {t.get('train_s', float('nan')):.1f} s, analysis "
          f"{t.get('analysis_s', float('nan')):.1f} s")
    return 0 if sweep["status"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
