"""The research-sized grid: 12 leaks x S seeds on 6 factors (d_x 128, width 128), through
the local process pool and through a Dask LocalCluster (2 worker processes, one thread each).

    python bench/bench_grid.py --engine local --seeds 32      # the 12 x 32 grid, local pool
    python bench/bench_grid.py --engine dask --seeds 32       # the same through a LocalCluster
    python bench/bench_grid.py --engine both --seeds 8 --runs 2
        # side by side, alternating local and Dask: medians and the Dask / local ratio

Each run is ``python -m nearid_core sweep ... --quiet --json`` in a fresh process and a
temporary store; the wall time is the command's, the stage times are the sweep's own.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _dies_with_us() -> None:
    """In the child: SIGTERM when this script ends, however it ends (a sweep then records
    itself interrupted and stops its workers)."""
    from nearid_core.engine.lifecycle import die_with_parent

    die_with_parent(signal.SIGTERM)
LEAKS = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95,1"
GRID = ["--d-u", "6", "--d-x", "128", "--width", "128", "--leaks", LEAKS]


def run(seeds: int, scheduler: str | None = None) -> dict:
    """One sweep of the grid in a fresh process and store: wall and stage seconds."""
    with tempfile.TemporaryDirectory() as home:
        out = Path(home) / "sweep.json"
        cmd = [sys.executable, "-m", "nearid_core", "sweep", *GRID, "--seeds", str(seeds),
               "--max-memory", "16G", "--quiet", "--json", str(out)]
        if scheduler:
            cmd += ["--scheduler", scheduler]
        env = {**os.environ, "NEARID_HOME": home, "OMP_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, preexec_fn=_dies_with_us)
        wall = time.perf_counter() - t0
        doc = json.loads(out.read_text())
    t = doc["timings"]
    return {"wall_s": wall, "train_s": t["train_s"], "analysis_s": t["analysis_s"],
            "status": doc.get("status", "")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("local", "dask", "both"), default="both")
    ap.add_argument("--seeds", type=int, default=32)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    engines = ("local", "dask") if args.engine == "both" else (args.engine,)
    results: dict[str, list[dict]] = {e: [] for e in engines}
    cluster = None
    if "dask" in engines:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    try:
        for i in range(args.runs):
            for e in engines:  # alternating, so both see the same machine
                r = run(args.seeds, cluster.scheduler_address if e == "dask" else None)
                results[e].append(r)
                print(f"run {i + 1} {e}: wall {r['wall_s']:.1f} s (training "
                      f"{r['train_s']:.1f} s, analysis {r['analysis_s']:.1f} s)", flush=True)
    finally:
        if cluster is not None:
            cluster.close()
    med = {e: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "train_s",
                                                                 "analysis_s")}
           for e, rs in results.items()}
    for e, m in med.items():
        print(f"{e}: median of {args.runs}: wall {m['wall_s']:.1f} s, training "
              f"{m['train_s']:.1f} s, analysis {m['analysis_s']:.1f} s")
    if len(med) == 2:
        print("Dask / local (wall): "
              f"{med['dask']['wall_s'] / med['local']['wall_s']:.2f}")


if __name__ == "__main__":
    main()
