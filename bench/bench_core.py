"""Core speed benchmark: ensemble training vs a plain per-model DataLoader loop, B(z), peak
FLOP/s, and the default ``sweep`` command end to end. Prints a Markdown table; with
``--profile``, also one training step's operators under torch.profiler.

    .venv/bin/python bench/bench_core.py [--repeats 3] [--skip-cli] [--profile]

Everything is timed in this one run, so the ratios compare like with like on a shared,
noisy machine; medians over ``--repeats`` runs. One torch thread throughout.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from nearid_core.config import SweepConfig  # noqa: E402
from nearid_core.science.lipschitz import decoder_bilipschitz  # noqa: E402
from nearid_core.science.models import layer_widths  # noqa: E402
from nearid_core.science.training import encode, train_ensemble  # noqa: E402
from nearid_core.studies.sweep import dataset_for, train_sweep  # noqa: E402

torch.set_num_threads(1)


def plain_autoencoder(cfg: SweepConfig, leak: float) -> nn.Module:
    """The same architecture written the ordinary way: nn.Linear, nn.LeakyReLU and
    torch's orthogonal parametrization on the decoder."""
    enc_w, dec_w = layer_widths(cfg.model, cfg.data)

    def stack(widths, orthogonal):
        layers = []
        for k, (i, o) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            lin = nn.Linear(i, o)
            if orthogonal:
                lin = nn.utils.parametrizations.orthogonal(lin)
            layers.append(lin)
            if k < len(widths) - 2:
                layers.append(nn.LeakyReLU(1 - leak))
        return nn.Sequential(*layers)

    return nn.Sequential(stack(enc_w, False), stack(dec_w, cfg.model.decoder == "orthogonal"))


def train_plain(cfg: SweepConfig, x_train: torch.Tensor, leak: float, seed: int) -> None:
    torch.manual_seed(seed)
    model = plain_autoencoder(cfg, leak)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    loader = DataLoader(TensorDataset(x_train), batch_size=cfg.train.batch_size, shuffle=True)
    for _ in range(cfg.train.epochs):
        for (xb,) in loader:
            opt.zero_grad()
            nn.functional.mse_loss(model(xb), xb).backward()
            opt.step()


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def peak_flops(repeats: int) -> float:
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    return 2 * 2048**3 / median_time(lambda: a @ b, repeats + 2)


def ensemble_flops(cfg: SweepConfig, steps: int) -> float:
    """Matmul FLOPs of training: forward 2*B*sum(in*out) per model, backward twice that."""
    enc_w, dec_w = layer_widths(cfg.model, cfg.data)
    per_sample = sum(i * o for w in (enc_w, dec_w) for i, o in zip(w[:-1], w[1:], strict=True))
    return 3 * 2 * per_sample * cfg.train.batch_size * cfg.n_models * steps


def matmul_step(cfg: SweepConfig, repeats: int) -> float:
    """Seconds of one training step's matrix products alone, at the ensemble's own shapes:
    for each layer of all M models, the forward product and the two of the backward pass,
    as batched matmuls of (M, B, in) activations. No bias, activation, QR or optimiser:
    the most the ensemble's FLOP rate could reach if everything else took no time."""
    enc_w, dec_w = layer_widths(cfg.model, cfg.data)
    m, b = cfg.n_models, cfg.train.batch_size
    layers = [(i, o) for w in (enc_w, dec_w) for i, o in zip(w[:-1], w[1:], strict=True)]
    xs = [torch.randn(m, b, i) for i, _ in layers]
    ws = [torch.randn(m, i, o) for i, o in layers]
    gs = [torch.randn(m, b, o) for _, o in layers]

    def products(n: int = 100) -> None:
        for _ in range(n):
            for x, w, g in zip(xs, ws, gs, strict=True):
                torch.bmm(x, w)
                torch.bmm(g, w.mT)
                torch.bmm(x.mT, g)

    products()
    return median_time(products, repeats + 2) / 100


def profile_step(cfg: SweepConfig, x: torch.Tensor, steps: int = 100, top: int = 14) -> str:
    """Where one training step of the default sweep's 24 models goes: torch.profiler's
    self CPU time per operator over ``steps`` steps (after 30 unmeasured ones), as a
    Markdown table. The profiler's own overhead is included in every row."""
    import numpy as np
    from torch.profiler import ProfilerActivity, profile

    from nearid_core.science.models import EnsembleAE
    from nearid_core.science.training import _optimizer, _step

    grid = cfg.grid()
    model = EnsembleAE(cfg.model, cfg.data, [a for a, _ in grid], [s for _, s in grid])
    opt, alive = _optimizer(model, cfg.train), np.ones(len(grid), dtype=bool)
    gen = torch.Generator().manual_seed(0)
    idx = torch.stack([torch.randperm(len(x), generator=gen)[:cfg.train.batch_size]
                       for _ in grid])
    xb = torch.index_select(x, 0, idx.reshape(-1)).view(*idx.shape, x.shape[1])
    for _ in range(30):
        _step(model, opt, xb, alive)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            _step(model, opt, xb, alive)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    lines = [f"\nOne step of (a) under torch.profiler ({steps} steps; "
             f"{total / steps / 1e3:.2f} ms a step with the profiler's overhead)\n",
             "| operator | calls a step | ms a step | share |", "|---|---|---|---|"]
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]:
        lines.append(f"| {e.key} | {e.count / steps:.0f} | "
                     f"{e.self_cpu_time_total / steps / 1e3:.3f} | "
                     f"{100 * e.self_cpu_time_total / total:.1f}% |")
    return "\n".join(lines)


def cli_sweep(repeats: int) -> tuple[float, float]:
    """Median wall time of the default sweep command, and the largest process's peak RSS."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, NEARID_HOME=home)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nearid_core", "sweep", "--quiet"], env=env,
                           check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return statistics.median(times), rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="also print where a training step goes, operator by operator")
    args = ap.parse_args()
    cfg = SweepConfig()
    ds = dataset_for(cfg)
    x = ds.x[ds.train_idx]
    leaks, seeds = [a for a, _ in cfg.grid()], [s for _, s in cfg.grid()]
    result = {}

    def ensemble():
        result["res"] = train_ensemble(x, cfg.model, cfg.data, cfg.train, leaks, seeds)

    x_t = torch.as_tensor(x, dtype=torch.float32)
    t_ens = median_time(ensemble, args.repeats)
    # As the default sweep runs it: one chunk per core in a process pool (incl. start-up).
    t_pool = median_time(lambda: train_sweep(cfg), args.repeats)
    t_plain = median_time(lambda: [train_plain(cfg, x_t, a, s) for a, s in cfg.grid()],
                          args.repeats)
    model = result["res"].model
    # 2,000 latents (the held-out split has 1,638; the cost depends only on the count)
    z = encode(model, ds.x[:2000])
    t_b = median_time(lambda: decoder_bilipschitz(model, z), args.repeats + 2)
    flops = peak_flops(args.repeats)
    steps = result["res"].steps
    achieved = ensemble_flops(cfg, steps) / t_ens
    t_mm = matmul_step(cfg, args.repeats)
    mm_rate = ensemble_flops(cfg, 1) / t_mm
    rows = [
        ("(a) ensemble training, 24 models, one process, one thread", f"{t_ens:.2f} s"),
        ("(b) same 24 models one after another, nn.Module + DataLoader", f"{t_plain:.2f} s"),
        ("speed-up (b)/(a)", f"{t_plain / t_ens:.1f}x"),
        (f"(a2) the same ensemble as the default sweep trains it: {os.cpu_count()} worker "
         "processes, one thread each, pool start-up and B(z) included", f"{t_pool:.2f} s"),
        ("speed-up (b)/(a2)", f"{t_plain / t_pool:.1f}x"),
        ("(c) peak matmul, 2048^2 float32, one thread", f"{flops / 1e9:.1f} GFLOP/s"),
        ("ensemble achieved (matmul FLOPs / time)", f"{achieved / 1e9:.2f} GFLOP/s "
                                                    f"({100 * achieved / flops:.1f}% of c)"),
        ("(d) one step of (a): its matrix products alone, at its shapes (batched matmuls)",
         f"{1e3 * t_mm:.2f} ms of {1e3 * t_ens / steps:.2f} ms a step "
         f"({100 * t_mm * steps / t_ens:.0f}%)"),
        ("the ceiling that sets on (a): (d)'s FLOP rate", f"{mm_rate / 1e9:.1f} GFLOP/s "
                                                         f"({100 * mm_rate / flops:.1f}% of c)"),
        (f"B(z), {z.shape[1]} latents x 24 models (Jacobians + SVD)", f"{t_b:.3f} s"),
    ]
    if not args.skip_cli:
        t_cli, rss = cli_sweep(args.repeats)
        rows += [("default `sweep` command end to end (train + analyse + store)",
                  f"{t_cli:.1f} s"), ("peak RSS of the largest process", f"{rss:.0f} MB")]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, Python {platform.python_version()}; "
          f"median of {args.repeats}\n")
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    if args.profile:
        print(profile_step(cfg, x_t))


if __name__ == "__main__":
    main()
