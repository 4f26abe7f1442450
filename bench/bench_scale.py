"""How a sweep's cost grows: training and analysis time and the coordinator's peak memory
against models M, samples n, factors/width, and workers, with fitted log-log exponents.

    python bench/bench_scale.py --axis models            # M = 24, 48, 96, 192, 384
    python bench/bench_scale.py --axis samples           # n = 8k .. 128k
    python bench/bench_scale.py --axis size              # d_u/width 2/32 .. 6/128
    python bench/bench_scale.py --axis workers           # 1, 2 local; 2 Dask workers
    python bench/bench_scale.py --axis models --quick    # the first three points only
    python bench/bench_scale.py --axis models samples size workers --save scale.json \
        --plot docs/bench_scale.png                      # everything, and the plots
    python bench/bench_scale.py --load scale.json --plot docs/bench_scale.png

Each point is one ``python -m nearid_core sweep --quiet --json`` in a fresh process and a
temporary store (train_s and analysis_s from the sweep's own timings; peak RSS of the
command's process, the coordinator that holds the results, and of its whole process tree
summed, sampled every 0.2 s). The
exponent is the slope of log(time) against log(x) by least squares; seed pairs, not
models, are the analysis's x (they grow as seeds² per leak). Prints one line per point and
the exponents over all points and over the last three (where fixed costs weigh least);
the lead records them in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _dies_with_us() -> None:
    """In the child: SIGTERM when this script ends, however it ends (a sweep then records
    itself interrupted and stops its workers)."""
    from nearid_core.engine.lifecycle import die_with_parent

    die_with_parent(signal.SIGTERM)
BASE = ["--leaks", "0,0.2,0.4,0.6,0.8,1", "--quiet"]
AXES = {  # name -> [(x, extra sweep arguments)]
    "models": [(6 * s, ["--seeds", str(s)]) for s in (4, 8, 16, 32, 64)],
    "samples": [(n, ["--n", str(n)]) for n in (8192, 16384, 32768, 65536, 131072)],
    # d_x = 16 d_u, or the width where that is larger (the orthogonal decoder's widths
    # cannot shrink from latent to data)
    "size": [(d, ["--d-u", str(d), "--d-x", str(max(16 * d, w)), "--width", str(w)])
             for d, w in ((2, 32), (3, 48), (4, 64), (6, 128))],
    "workers": [(w, ["--workers", str(w)]) for w in (1, 2)],
}


def run_point(extra: list[str], scheduler: str | None = None) -> dict:
    """One sweep in a fresh process and store: its timings, the coordinator's peak RSS and
    the peak of the whole process tree's RSS summed (MB, sampled every 0.2 s)."""
    import psutil  # installed with distributed

    with tempfile.TemporaryDirectory() as home:
        out = Path(home) / "sweep.json"
        cmd = [sys.executable, "-m", "nearid_core", "sweep", *BASE, *extra, "--json",
               str(out), "--max-memory", "20G", "--max-models", "4096"]
        if scheduler:
            cmd += ["--scheduler", scheduler]
        env = {**os.environ, "NEARID_HOME": home, "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=_dies_with_us)
        top, own, tree = psutil.Process(proc.pid), 0, 0
        while proc.poll() is None:
            try:
                rss = top.memory_info().rss
                kids = sum(c.memory_info().rss for c in top.children(recursive=True))
            except psutil.Error:  # a process ended between the listing and the reading
                continue
            own, tree = max(own, rss), max(tree, rss + kids)
            time.sleep(0.2)
        if proc.returncode:
            raise SystemExit(f"the sweep failed ({proc.returncode}): {' '.join(extra)}")
        doc = json.loads(out.read_text())
    t = doc["timings"]
    return {"train_s": t["train_s"], "analysis_s": t["analysis_s"], "rss_mb": own / 2**20,
            "tree_mb": tree / 2**20}


def exponent(xs, ys) -> float:
    """The slope of log(y) against log(x) (least squares)."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def pairs(models: int, leaks: int = 6) -> int:
    seeds = models // leaks
    return leaks * seeds * (seeds - 1) // 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--axis", choices=sorted(AXES), nargs="+", default=[])
    ap.add_argument("--quick", action="store_true", help="the first three points only")
    ap.add_argument("--save", metavar="FILE.json", help="write every point's numbers")
    ap.add_argument("--load", metavar="FILE.json", help="plot points saved before instead")
    ap.add_argument("--plot", metavar="FILE.png|FILE.html", help="write log-log plots")
    args = ap.parse_args()
    if not args.axis and not args.load:
        ap.error("give --axis (one or more) or --load")
    results = json.loads(Path(args.load).read_text()) if args.load else {}
    for axis in args.axis:
        results[axis] = run_axis(axis, args.quick)
        if args.save:
            Path(args.save).write_text(json.dumps(results, indent=1))
    for axis, rows in results.items():
        if axis != "workers":
            print_exponents(axis, rows)
    if args.plot:
        plot({a: r for a, r in results.items() if a != "workers"}, args.plot)


def run_axis(axis: str, quick: bool) -> list[dict]:
    points = AXES[axis][:3] if quick else AXES[axis]
    rows = []
    for x, extra in points:
        rows.append({"x": x, **run_point(extra)})
        _print_point(axis, rows[-1])
    if axis == "workers":
        rows.append({"x": "dask-2", **_dask_point()})
        _print_point(axis, rows[-1])
    return rows


def _print_point(axis: str, r: dict) -> None:
    print(f"{axis}={r['x']}: train {r['train_s']:.1f} s, analysis {r['analysis_s']:.1f} s, "
          f"peak RSS {r['rss_mb']:.0f} MB (coordinator), {r['tree_mb']:.0f} MB (process "
          "tree)", flush=True)


def print_exponents(axis: str, rows: list[dict]) -> None:
    for label, part in (("all points", rows), ("the last three", rows[-3:])):
        xs = [r["x"] for r in part]
        ax = [pairs(x) for x in xs] if axis == "models" else xs
        print(f"exponents over {axis}, {label}: training "
              f"{exponent(xs, [r['train_s'] for r in part]):.2f}, analysis "
              f"{exponent(ax, [r['analysis_s'] for r in part]):.2f}"
              f"{' (against seed pairs)' if axis == 'models' else ''}, peak RSS "
              f"{exponent(xs, [r['rss_mb'] for r in part]):.2f} (coordinator), "
              f"{exponent(xs, [r['tree_mb'] for r in part]):.2f} (tree)")


def _dask_point() -> dict:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        return run_point([], scheduler=cluster.scheduler_address)


SERIES = (("train_s", "training (s)"), ("analysis_s", "analysis (s)"),
          ("rss_mb", "coordinator peak RSS (MB)"), ("tree_mb", "process tree peak RSS (MB)"))
X_TITLES = {"models": "models M (6 leaks)", "samples": "samples n",
            "size": "factors d_u (width 32..128, d_x = max(16 d_u, width))"}


def plot(results: dict[str, list[dict]], path: str) -> None:
    """One log-log panel per axis; a .png is drawn by Chromium from the plotly figure."""
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    axes = list(results)
    fig = make_subplots(rows=1, cols=len(axes), subplot_titles=[X_TITLES[a] for a in axes])
    for col, axis in enumerate(axes, start=1):
        rows = results[axis]
        for (key, name), colour in zip(SERIES, qualitative.Plotly, strict=False):
            fig.add_scatter(x=[r["x"] for r in rows], y=[r[key] for r in rows], name=name,
                            mode="lines+markers", line={"color": colour}, legendgroup=key,
                            showlegend=col == 1, row=1, col=col)
        fig.update_xaxes(type="log", row=1, col=col)
        fig.update_yaxes(type="log", row=1, col=col)
    fig.update_layout(template="plotly_white", width=420 * len(axes), height=460,
                      title="sweep cost against each axis (log-log; seconds and MB)",
                      legend={"orientation": "h", "y": -0.15})
    if not path.endswith(".png"):
        Path(path).write_text(fig.to_html(include_plotlyjs=True))
        return
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from nearid_ui.serve import launch_chromium

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        html = Path(tmp) / "plot.html"
        html.write_text(fig.to_html(include_plotlyjs=True, full_html=True))
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 420 * len(axes) + 40, "height": 500})
        page.goto(html.as_uri())
        page.locator(".js-plotly-plot .main-svg").first.wait_for()
        page.locator(".js-plotly-plot").first.screenshot(path=path)
        browser.close()


if __name__ == "__main__":
    main()
