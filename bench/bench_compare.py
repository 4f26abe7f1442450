"""Compare and "Table 1 on digits": time and peak memory. Prints a Markdown table.

    .venv/bin/python bench/bench_compare.py [--dims 64 768 4096] [--repeats 3] [--skip-digits]

Each case runs in a fresh child process (so its peak RSS is its own): two embeddings of
n = 10,000 rows (Laplace sources on a decaying spectrum, B = A Q + noise, as real embeddings
have a few large directions), ``compare`` with the default settings and two worker threads,
one BLAS thread each. Wall time is the median of ``--repeats`` runs (d = 4,096 runs once: it
takes minutes). The digits study (``run_realdata`` with its defaults) likewise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD_COMPARE = """
import json, resource, sys, time, warnings
import numpy as np
from nearid_core.studies.compare import CompareConfig, compare
n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
spectrum = 1.0 / np.sqrt(1.0 + np.arange(d))
A = (rng.laplace(size=(n, d)) * spectrum) @ np.linalg.qr(rng.standard_normal((d, d)))[0]
B = A @ np.linalg.qr(rng.standard_normal((d, d)))[0] + 0.1 * spectrum.mean() * rng.standard_normal((n, d))
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = compare({"A": A, "B": B}, CompareConfig())
wall = time.perf_counter() - t0
r = res.rows[0]
print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rigid": r["rigid"], "ica_k": res.ica_components["A"], "n_boot": res.config.n_boot}))
"""

CHILD_DIGITS = """
import json, resource, time
from nearid_core.studies.realdata import RealDataConfig, run_realdata
t0 = time.perf_counter()
run_realdata(RealDataConfig())
print(json.dumps({"wall": time.perf_counter() - t0,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dims", type=int, nargs="*", default=[64, 768, 4096])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-digits", action="store_true")
    args = p.parse_args(argv)
    print(f"\nnearid compare benchmark ({os.cpu_count()} CPUs, {platform.processor() or 'cpu'},"
          f" one BLAS thread per worker)\n")
    print("| case | wall (median) | runs | peak RSS | notes |\n|---|---|---|---|---|")
    for d in args.dims:
        runs = [child(CHILD_COMPARE, str(args.n), str(d))
                for _ in range(1 if d > 2048 else args.repeats)]
        walls = [r["wall"] for r in runs]
        last = runs[-1]
        print(f"| compare, n = {args.n:,}, d = {d:,}, 2 embeddings | "
              f"{statistics.median(walls):.1f} s | {', '.join(f'{w:.1f}' for w in walls)} | "
              f"{max(r['rss_mb'] for r in runs):,.0f} MB | {last['n_boot']} re-drawn splits, "
              f"ICA on {last['ica_k']} PCs, rigid {last['rigid']:.3g} |", flush=True)
    if not args.skip_digits:
        runs = [child(CHILD_DIGITS) for _ in range(args.repeats)]
        walls = [r["wall"] for r in runs]
        print(f"| Table 1 on digits (defaults: 3 families x 4 seeds) | "
              f"{statistics.median(walls):.1f} s | {', '.join(f'{w:.1f}' for w in walls)} | "
              f"{max(r['rss_mb'] for r in runs):,.0f} MB | training and comparison |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
