"""Training cost per model-step against the ensemble's size M, in one process.

    python bench/bench_ensemble_size.py                       # 6 factors, d_x 128, width 128
    python bench/bench_ensemble_size.py --d-u 2 --d-x 32 --width 32

One epoch of ``train_ensemble`` on 4,096 rows (the sweep's batch size) for M = 6 .. 192
models in one batched computation, one torch thread: seconds, milliseconds per model-step,
and the log-log exponent of time against M (1 = linear). A sweep gives each worker one
chunk of M / workers models, so this is the training part of the sweep's cost in M.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig  # noqa: E402
from nearid_core.science.training import train_ensemble  # noqa: E402
from nearid_core.studies.sweep import dataset_for  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-u", type=int, default=6)
    ap.add_argument("--d-x", type=int, default=128)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--sizes", default="6,12,24,48,96,192")
    args = ap.parse_args()
    cfg = SweepConfig(data=DataConfig(d_u=args.d_u, d_x=args.d_x),
                      model=ModelConfig(width=args.width))
    ds = dataset_for(cfg)
    x = ds.x[ds.train_idx][:4096]  # (4096, d_x)
    train = TrainConfig(epochs=1, batch_size=cfg.train.batch_size)
    steps = int(np.ceil(x.shape[0] / train.batch_size))
    sizes, seconds = [int(m) for m in args.sizes.split(",")], []
    for m in sizes:
        t0 = time.perf_counter()
        train_ensemble(x, cfg.model, cfg.data, train, [0.5] * m, list(range(m)))
        seconds.append(time.perf_counter() - t0)
        print(f"M={m:4d}: {seconds[-1]:6.2f} s, {1000 * seconds[-1] / steps / m:.2f} ms per "
              "model-step", flush=True)
    slope = np.polyfit(np.log(sizes), np.log(seconds), 1)[0]
    print(f"exponent of time against M: {slope:.2f}")


if __name__ == "__main__":
    main()
