"""Run time of the Tables 2–4 studies with their default settings.

    python bench/bench_studies.py                  # both studies, 3 runs each, both paths
    python bench/bench_studies.py --runs 5 --only batch --path cli

Two paths, as users meet them:

- ``cli``: ``python -m nearid_core disentangle|batch --quiet`` in a fresh process, wall time
  from start to exit (imports, storing the study, its tables printed), into a temp store.
- ``runner``: the app's path: the study queued in a temp store and run by
  ``run_study_job`` on a started 2-worker process pool, as the warm runner does (the pool's
  start is not counted: the app's runner keeps it warm), with the owner's ICA result cache
  emptied before each run (a repeated identical study would otherwise be served from it).

Prints every time and the median per study and path; the lead records them in BENCHMARKS.md.
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
STUDIES = ("disentangle", "batch")


def cli_seconds(kind: str, home: str) -> float:
    env = {**os.environ, "NEARID_HOME": home, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nearid_core", kind, "--quiet"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def runner_seconds(kind: str, home: str, pool) -> float:
    from nearid_core.runs.store import RunStore
    from nearid_core.runs.study_jobs import run_study_job, submit_study
    from nearid_core.science import ica
    from nearid_core.science.ica_kernels import ResultCache

    ica._CACHE = ResultCache()  # cold: the owner's ICA cache would serve a repeated study
    store = RunStore(home)
    sid = submit_study(store, kind, {})
    t0 = time.perf_counter()
    run_study_job(store, sid, executor=pool)
    seconds = time.perf_counter() - t0
    assert store.get_sweep(sid)["status"] == "done"
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=STUDIES)
    ap.add_argument("--path", choices=("cli", "runner"))
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    kinds = [args.only] if args.only else list(STUDIES)
    paths = [args.path] if args.path else ["cli", "runner"]
    pool = None
    if "runner" in paths:
        from nearid_core.runs.jobs import warm_pool

        pool = warm_pool(2)
    try:
        for path in paths:
            for kind in kinds:
                times = []
                for _ in range(args.runs):
                    with tempfile.TemporaryDirectory() as home:
                        times.append(cli_seconds(kind, home) if path == "cli"
                                     else runner_seconds(kind, home, pool))
                shown = ", ".join(f"{t:.1f}" for t in times)
                print(f"{kind:12s} {path:7s} median {statistics.median(times):5.1f} s "
                      f"({shown})", flush=True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


if __name__ == "__main__":
    main()
