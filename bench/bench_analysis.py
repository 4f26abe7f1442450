"""Analysis of one stored sweep in one process, for one or more source trees, side by side.

The same latents (a store's first sweep; by default a default sweep trained here first) are
analysed as a sweep's analysis does it (``analyse_model`` per model, ``analyse_pairs`` per
leak), in one process with one thread, so the time is the analysis's CPU cost: the pool
divides it between its workers. Runs alternate between the trees (``git worktree add``),
each in a fresh process whose first (import-warming) pass is not timed.

    .venv/bin/python bench/bench_analysis.py --repeat 5
    .venv/bin/python bench/bench_analysis.py --trees /tmp/nb_before /tmp/nb_after --store S
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Run in each tree: time one full analysis of the store's first sweep (after one untimed).
_ONCE = r"""
import os, sys, time
from nearid_core.runs.store import RunStore
from nearid_core.config import sweep_from_dict
from nearid_core.studies.analysis import analyse_model, analyse_pairs
from nearid_core.studies.sweep import dataset_for
st = RunStore(sys.argv[1])
sw = st.list_sweeps()[0]
u = dataset_for(sweep_from_dict(st.get_sweep(sw["id"])["config"])).u_test
zs = [(r["leak"], st.load_arrays(r["id"], "heldout")["latents"]) for r in st.list_runs(sw["id"])]
def once():
    for _, z in zs:
        analyse_model(z, u, seed=0)
    for leak in sorted({a for a, _ in zs}):
        analyse_pairs([z for a, z in zs if a == leak], seed=0)
once()
t = time.perf_counter(); once(); print(time.perf_counter() - t)
"""


def _dies_with_us() -> None:
    sys.path.insert(0, str(ROOT))
    from nearid_core.engine.lifecycle import die_with_parent

    die_with_parent(signal.SIGTERM)


def _default_store(home: str) -> None:
    subprocess.run([sys.executable, "-m", "nearid_core", "sweep", "--quiet"], cwd=ROOT,
                   env=dict(os.environ, NEARID_HOME=home, OMP_NUM_THREADS="1"), check=True,
                   stdout=subprocess.DEVNULL, preexec_fn=_dies_with_us)


def run_once(tree: Path, store: str) -> float:
    out = subprocess.run([sys.executable, "-c", _ONCE, store], cwd=tree, check=True,
                         env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True,
                         text=True, preexec_fn=_dies_with_us)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trees", nargs="*", default=[str(ROOT)])
    p.add_argument("--store", help="a store whose first sweep is analysed (default: a new "
                                   "default sweep)")
    p.add_argument("--repeat", type=int, default=5, help="runs per tree")
    args = p.parse_args(argv)
    trees = [Path(t).resolve() for t in args.trees]
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store
        if store is None:
            store = tmp
            _default_store(store)
        times: dict[Path, list[float]] = {t: [] for t in trees}
        for i in range(args.repeat):
            for tree in trees:
                times[tree].append(run_once(tree, store))
                print(f"{tree.name} run {i + 1}: {times[tree][-1]:.2f} s", flush=True)
    meds = {t: statistics.median(v) for t, v in times.items()}
    for tree, med in meds.items():
        print(f"median {tree.name}: {med:.2f} s (one process, one thread)")
    if len(trees) == 2:
        a, b = trees
        ratios = [x / y for x, y in zip(times[a], times[b], strict=True)]
        print(f"{a.name} / {b.name}: median ratio of paired runs {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
