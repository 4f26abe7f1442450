"""Estimated against measured: peak memory of the whole process tree and wall time of sweeps.

For five sizes (the tiny preset, the default sweep, one about 4x the default, one whose
data dominate, one whose B(z) Jacobians dominate) this runs the real command line,
``python -m nearid_core sweep --quiet ...``, with a temporary store, and samples every 0.1 s
the resident memory of the command and all its descendants (summed, from /proc) beside
``budget.estimate`` of the same config. Optionally the default sweep again
under ``/usr/bin/time -v`` (the largest single process).

    .venv/bin/python bench/bench_budget.py --repeats 2 --pause 60 --recalibrate --time-v

On a machine shared with other work, the estimate takes the load average before each size
(``budget.current_load``) into account; ``--pause`` keeps the previous sweep out of it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nearid_core import calibration  # noqa: E402
from nearid_core.config import DataConfig, SweepConfig, TrainConfig  # noqa: E402
from nearid_core.engine.budget import estimate  # noqa: E402
from nearid_core.studies.presets import PRESETS, cli_flags  # noqa: E402

SIZES = {
    "tiny preset": (PRESETS["tiny"], cli_flags("tiny").split()),
    "default": (SweepConfig(), []),
    "4x default (8 seeds, n = 32,768)": (SweepConfig(data=DataConfig(n=32768), seeds=8),
                                         ["--n", "32768", "--seeds", "8"]),
    "data-heavy (n = 200,000, d_x = 1,024, 1 epoch, 2 x 2)": (
        SweepConfig(data=DataConfig(n=200_000, d_x=1024), train=TrainConfig(epochs=1),
                    leaks=(0.0, 0.5), seeds=2),
        ["--n", "200000", "--d-x", "1024", "--epochs", "1", "--leaks", "0,0.5", "--seeds", "2"]),
    "B(z)-heavy (the bug report's n and d_x, default grid, 1 epoch)": (
        SweepConfig(data=DataConfig(n=200_000, d_x=1024), train=TrainConfig(epochs=1)),
        ["--n", "200000", "--d-x", "1024", "--epochs", "1"]),
}


def format_bytes(n: float) -> str:
    return f"{n / 2**30:.2f} GB"


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def _rss(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) * 1024 if match else 0


def tree_rss(root: int) -> tuple[int, int, int]:
    """(sum of RSS, largest RSS, processes) of root and all its descendants."""
    kids, todo, sizes = _children(), [root], []
    while todo:
        pid = todo.pop()
        sizes.append(_rss(pid))
        todo.extend(kids.get(pid, []))
    return sum(sizes), max(sizes), len(sizes)


def run_once(args: list[str]) -> dict:
    """Run one sweep; its wall time and the peaks of the sampled process tree."""
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, NEARID_HOME=home, OMP_NUM_THREADS="1")
        peak = {"sum": 0, "largest": 0, "procs": 0}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "nearid_core", "sweep", "--quiet",
                                 *args], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)

        def sample() -> None:
            while proc.poll() is None:
                total, largest, n = tree_rss(proc.pid)
                peak.update(sum=max(peak["sum"], total), largest=max(peak["largest"], largest),
                            procs=max(peak["procs"], n))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        seconds = time.perf_counter() - t0
        sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"sweep {args} failed ({proc.returncode}): {err.strip()[-500:]}")
    return {"seconds": seconds, **peak}


def time_v(args: list[str]) -> int:
    """Maximum resident set size (bytes) that /usr/bin/time -v reports for the sweep."""
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, NEARID_HOME=home, OMP_NUM_THREADS="1")
        res = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "nearid_core",
                              "sweep", "--quiet", *args], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True)
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)[1]) * 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--time-v", action="store_true", help="also run the default under time -v")
    p.add_argument("--only", default="", help="run only sizes whose name contains this")
    p.add_argument("--pause", type=float, default=0.0,
                   help="seconds to wait before each size, so that the load average no "
                        "longer counts the previous sweep")
    p.add_argument("--recalibrate", action="store_true",
                   help="measure the rates again just before each size (a shared machine's "
                        "load changes) instead of using the cached calibration")
    opts = p.parse_args()
    print("| sweep | models | estimated memory | measured tree peak (largest process) "
          "| ratio | estimated time | measured time | ratio | load before |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (cfg, args) in SIZES.items():
        if opts.only not in name:
            continue
        time.sleep(opts.pause)
        load = os.getloadavg()[0]
        est = estimate(cfg, rates=calibration.measure() if opts.recalibrate else None)
        runs = [run_once(args)]
        for _ in range(opts.repeats - 1):
            time.sleep(opts.pause)
            runs.append(run_once(args))
        mem = statistics.median(r["sum"] for r in runs)
        largest = statistics.median(r["largest"] for r in runs)
        secs = statistics.median(r["seconds"] for r in runs)
        print(f"| {name} | {cfg.n_models} | {format_bytes(est.peak_bytes)} "
              f"({est.phase}) | {format_bytes(mem)} ({format_bytes(largest)}, "
              f"{max(r['procs'] for r in runs)} processes) | {est.peak_bytes / mem:.2f} "
              f"| {est.seconds:.1f} s | {secs:.1f} s | {est.seconds / secs:.2f} | {load:.1f} |",
              flush=True)
    if opts.time_v:
        print(f"\ndefault sweep, /usr/bin/time -v maximum resident set size: "
              f"{format_bytes(time_v(SIZES['default'][1]))}")


if __name__ == "__main__":
    main()
