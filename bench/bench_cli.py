"""The default `sweep` command end to end, as a timeline, for one or more source trees.

Each run is a fresh ``python -m nearid_core sweep --quiet`` in a fresh store, started in the
given tree (so ``--trees /tmp/before /tmp/after`` compares two commits side by side: make
them with ``git worktree add``). Runs alternate between the trees. Printed per run, in
seconds after the command was started: the sweep's own marks (``runs.jobs.TIMELINE``) and
the command's exit, and the CPU seconds its processes used (sampled every 20 ms): the
command itself, the pool's fork server (its imports of torch and the science), the pool's
workers (training and analysis), other (multiprocessing's resource tracker), and their
total divided by the cores, the least wall time that work can take on this machine however
well it overlaps; then the medians per tree, and with two trees the paired ratio.

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


CPU_ROLES = ("command", "fork server", "workers", "other")


def _role(proc, root: int) -> str:
    """Which of the command's processes ``proc`` is (see ``CPU_ROLES``); "other" for the
    resource tracker and anything else."""
    if proc.pid == root:
        return "command"
    cmd = " ".join(proc.cmdline())
    if "forkserver" not in cmd:
        return "other"
    return "fork server" if proc.ppid() == root else "workers"


def _cpu_seconds(proc, every: float = 0.02) -> dict[str, float]:
    """CPU seconds (user + system) of ``proc`` and its descendants by role, sampled until
    it exits (a process's last 20 ms can be missed)."""
    import psutil

    root, seen = psutil.Process(proc.pid), {}
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for q in procs:
            try:
                t = q.cpu_times()
                # not cached: a fork server's command line is its parent's until it execs
                seen[q.pid] = (_role(q, root.pid), t.user + t.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        time.sleep(every)
    out = dict.fromkeys(CPU_ROLES, 0.0)
    for role, cpu in seen.values():
        out[role] = out.get(role, 0.0) + cpu
    return out


def run_once(tree: Path, extra: list[str]) -> dict[str, float]:
    """One sweep command started in ``tree``: its marks and exit, seconds after the start,
    and its processes' CPU seconds ("cpu " + role, "cpu total")."""
    from nearid_core.runs.store import RunStore

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, NEARID_HOME=home, OMP_NUM_THREADS="1")
        t0 = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "nearid_core", "sweep", "--quiet",
                                 *extra], cwd=tree, env=env, stdout=subprocess.DEVNULL,
                                preexec_fn=_dies_with_us)
        cpu = _cpu_seconds(proc)
        exit_s = time.time() - t0
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, proc.args)
        store = RunStore(home)
        sweep = store.get_sweep(store.list_sweeps()[0]["id"])
        marks = (sweep.get("timings") or {}).get("marks", {})  # none before 344f132
        return ({k: marks[k] - t0 for k in MARKS if k in marks} | {"exit": exit_s}
                | {f"cpu {k}": v for k, v in cpu.items()} | {"cpu total": sum(cpu.values())})


def _cell(r: dict, key: str, sign: str = "") -> str:
    return f"{sign}{r[key]:.2f}" if key in r else "n/a"


def _span(r: dict, start: str, end: str) -> str:
    """Seconds from mark ``start`` to mark ``end``; "n/a" for a commit without marks."""
    return f"{r[end] - r[start]:.2f}" if start in r and end in r else "n/a"


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
    cpus = (*(f"cpu {k}" for k in CPU_ROLES), "cpu total")
    cores = os.cpu_count() or 1
    print("| tree | run | " + " | ".join(cols) + " | training | analysis | CPU s: "
          + " | ".join(c[4:] for c in cpus) + f" | total / {cores} cores |")
    print("|---" * (len(cols) + len(cpus) + 5) + "|")
    for i in range(args.repeat):
        for tree in trees:
            r = run_once(tree, args.sweep_args)
            runs[tree].append(r)
            print(f"| {tree.name} | {i + 1} | " + " | ".join(_cell(r, c, "+") for c in cols)
                  + f" | {_span(r, 'first_step', 'trained')} | "
                  f"{_span(r, 'trained', 'analysed')} | "
                  + " | ".join(f"{r[c]:.2f}" for c in cpus)
                  + f" | {r['cpu total'] / cores:.2f} |", flush=True)
    print("\nmedians:")
    for tree, rs in runs.items():
        line = f"  {tree.name}: exit {statistics.median(r['exit'] for r in rs):.2f} s"
        if all("stored" in r for r in rs):
            med = {c: statistics.median(r[c] for r in rs) for c in cols}
            train = statistics.median(r["trained"] - r["first_step"] for r in rs)
            analysis = statistics.median(r["analysed"] - r["trained"] for r in rs)
            line += (f", started +{med['started']:.2f}, training {train:.2f} s, analysis "
                     f"{analysis:.2f} s, stored → exit "
                     f"{statistics.median(r['exit'] - r['stored'] for r in rs):.2f} s")
        print(line)
        cpu = {c: statistics.median(r[c] for r in rs) for c in cpus}
        print("    CPU seconds: " + ", ".join(f"{c[4:]} {v:.2f}" for c, v in cpu.items())
              + f"; the total on {cores} cores takes at least {cpu['cpu total'] / cores:.2f} s")
    if len(trees) == 2:
        a, b = trees
        ratios = [x["exit"] / y["exit"] for x, y in zip(runs[a], runs[b], strict=True)]
        print(f"  {a.name} / {b.name}: median ratio of paired runs (exit) "
              f"{statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
