"""How a sweep's cost grows: training and analysis time and the coordinator's peak memory
against models M, samples n, factors/width, and workers, with fitted log-log exponents.

    python bench/bench_scale.py --axis models            # M = 24, 48, 96, 192, 384
    python bench/bench_scale.py --axis samples           # n = 8k .. 128k
    python bench/bench_scale.py --axis size              # d_u/width 2/32 .. 6/128
    python bench/bench_scale.py --axis workers           # 1, 2 local; 2 Dask workers
    python bench/bench_scale.py --axis models --quick    # the first three points only
    python bench/bench_scale.py ... --plot docs/bench_scale.html

Each point is one ``python -m nearid_core sweep --quiet --json`` in a fresh process and a
temporary store (train_s and analysis_s from the sweep's own timings; peak RSS of the
command's process from ``/usr/bin/time``, the coordinator that holds the results). The
exponent is the slope of log(time) against log(x) by least squares; seed pairs, not
models, are the analysis's x (they grow as seeds² per leak). Prints one line per point and
the exponents; the lead records them in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASE = ["--leaks", "0,0.2,0.4,0.6,0.8,1", "--quiet"]
AXES = {  # name -> [(x, extra sweep arguments)]
    "models": [(6 * s, ["--seeds", str(s)]) for s in (4, 8, 16, 32, 64)],
    "samples": [(n, ["--n", str(n)]) for n in (8192, 16384, 32768, 65536, 131072)],
    "size": [(d, ["--d-u", str(d), "--d-x", str(16 * d), "--width", str(w)])
             for d, w in ((2, 32), (3, 48), (4, 64), (6, 128))],
    "workers": [(w, ["--workers", str(w)]) for w in (1, 2)],
}


def run_point(extra: list[str], scheduler: str | None = None) -> dict:
    """One sweep in a fresh process and store: its timings and the peak RSS (MB)."""
    with tempfile.TemporaryDirectory() as home:
        out = Path(home) / "sweep.json"
        cmd = [sys.executable, "-m", "nearid_core", "sweep", *BASE, *extra, "--json",
               str(out), "--max-memory", "20G", "--max-models", "4096"]
        if scheduler:
            cmd += ["--scheduler", scheduler]
        env = {**os.environ, "NEARID_HOME": home, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=True)
        doc = json.loads(out.read_text())
        rss_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
    t = doc["timings"]
    return {"train_s": t["train_s"], "analysis_s": t["analysis_s"], "rss_mb": rss_mb}


def exponent(xs, ys) -> float:
    """The slope of log(y) against log(x) (least squares)."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def pairs(models: int, leaks: int = 6) -> int:
    seeds = models // leaks
    return leaks * seeds * (seeds - 1) // 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--axis", choices=sorted(AXES), required=True)
    ap.add_argument("--quick", action="store_true", help="the first three points only")
    ap.add_argument("--plot", metavar="FILE.html", help="write a log-log plot")
    args = ap.parse_args()
    points = AXES[args.axis][:3] if args.quick else AXES[args.axis]
    rows = []
    for x, extra in points:
        r = {"x": x, **run_point(extra)}
        rows.append(r)
        print(f"{args.axis}={x}: train {r['train_s']:.1f} s, analysis {r['analysis_s']:.1f} s,"
              f" peak RSS {r['rss_mb']:.0f} MB", flush=True)
    if args.axis == "workers":
        rows.append({"x": "dask-2", **_dask_point()})
        print(f"workers=2 Dask (LocalCluster): train {rows[-1]['train_s']:.1f} s, analysis "
              f"{rows[-1]['analysis_s']:.1f} s", flush=True)
        return
    xs = [r["x"] for r in rows]
    ax = [pairs(x) for x in xs] if args.axis == "models" else xs
    print(f"exponents over {args.axis}: training {exponent(xs, [r['train_s'] for r in rows]):.2f}"
          f", analysis {exponent(ax, [r['analysis_s'] for r in rows]):.2f}"
          f"{' (against seed pairs)' if args.axis == 'models' else ''}, peak RSS "
          f"{exponent(xs, [r['rss_mb'] for r in rows]):.2f}")
    if args.plot:
        _plot(args.axis, rows, args.plot)


def _dask_point() -> dict:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        return run_point([], scheduler=cluster.scheduler_address)


def _plot(axis: str, rows: list[dict], path: str) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    for key, name in (("train_s", "training (s)"), ("analysis_s", "analysis (s)"),
                      ("rss_mb", "peak RSS (MB)")):
        fig.add_scatter(x=[r["x"] for r in rows], y=[r[key] for r in rows], name=name,
                        mode="lines+markers")
    fig.update_layout(xaxis={"type": "log", "title": axis}, yaxis={"type": "log"},
                      template="plotly_white", title=f"sweep cost against {axis}")
    Path(path).write_text(fig.to_html(include_plotlyjs=True))


if __name__ == "__main__":
    main()
