"""The default `sweep` command end to end, as a timeline, for one or more source trees.

Each run is a fresh ``python -m nearid_core sweep --quiet`` in a fresh store, started in the
given tree (so ``--trees /tmp/before /tmp/after`` compares two commits side by side: make
them with ``git worktree add``). Runs alternate between the trees. Printed per run, in
seconds after the command was started: the sweep's own marks (``runs.jobs.TIMELINE``) and
the command's exit; then the medians per tree.

    .venv/bin/python bench/bench_cli.py --repeat 5
    .venv/bin/python bench/bench_cli.py --trees /tmp/nb_before /tmp/nb_after --repeat 3
"""

from __future__ import annotations

import argparse
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

MARKS = ("started", "first_step", "trained", "analysed", "stored")


def _dies_with_us() -> None:
    """In the child: SIGTERM when this script ends, however it ends."""
    from nearid_core.engine.lifecycle import die_with_parent

    die_with_parent(signal.SIGTERM)


def run_once(tree: Path, extra: list[str]) -> dict[str, float]:
    """One sweep command started in ``tree``: its marks and exit, seconds after the start."""
    from nearid_core.runs.store import RunStore

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, NEARID_HOME=home, OMP_NUM_THREADS="1")
        t0 = time.time()
        subprocess.run([sys.executable, "-m", "nearid_core", "sweep", "--quiet", *extra],
                       cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL,
                       preexec_fn=_dies_with_us)
        exit_s = time.time() - t0
        store = RunStore(home)
        sweep = store.get_sweep(store.list_sweeps()[0]["id"])
        marks = sweep["timings"]["marks"]
        return {k: marks[k] - t0 for k in MARKS if k in marks} | {"exit": exit_s}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trees", nargs="*", default=[str(ROOT)],
                   help="source trees to run the command in, alternating (default: this one)")
    p.add_argument("--repeat", type=int, default=5, help="runs per tree")
    p.add_argument("sweep_args", nargs="*", help="extra arguments for `sweep` (after --)")
    args = p.parse_args(argv)
    trees = [Path(t).resolve() for t in args.trees]
    runs: dict[Path, list[dict]] = {t: [] for t in trees}
    cols = (*MARKS, "exit")
    print("| tree | run | " + " | ".join(cols) + " | training | analysis |")
    print("|---" * (len(cols) + 4) + "|")
    for i in range(args.repeat):
        for tree in trees:
            r = run_once(tree, args.sweep_args)
            runs[tree].append(r)
            print(f"| {tree.name} | {i + 1} | " + " | ".join(f"+{r[c]:.2f}" for c in cols)
                  + f" | {r['trained'] - r['first_step']:.2f} | "
                  f"{r['analysed'] - r['trained']:.2f} |", flush=True)
    print("\nmedians:")
    for tree, rs in runs.items():
        med = {c: statistics.median(r[c] for r in rs) for c in cols}
        train = statistics.median(r["trained"] - r["first_step"] for r in rs)
        analysis = statistics.median(r["analysed"] - r["trained"] for r in rs)
        print(f"  {tree.name}: exit {med['exit']:.2f} s, started +{med['started']:.2f}, "
              f"training {train:.2f} s, analysis {analysis:.2f} s, "
              f"stored → exit {statistics.median(r['exit'] - r['stored'] for r in rs):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
