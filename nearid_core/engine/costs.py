"""What a sweep costs: peak memory of its process tree, and seconds, from its config alone.

Pure arithmetic on ``SweepConfig`` (no torch, nothing runs), so a page can show it on every
rerun. The model follows what a sweep does (``sweep.train_sweep``, ``jobs.run_sweep_job``):

1. training: each of ``workers`` pool processes (forked from a fork server that imported
   torch) builds the data once, then trains chunks of at most ``MAX_ENSEMBLE`` models, one
   after another, each as one batched ensemble, and measures B(z) (Jacobians in blocks of
   4,096 held-out points) and the held-out reconstruction; the main process writes each
   chunk's arrays to the store as it ends and keeps its latents and B(z) only;
2. analysis: the main process, which built the data too, sends one task per model and per
   leak back to the pool.

Memory is the sum of the resident sizes of every process of the tree (what ``ps`` adds up:
pages shared by several processes count once per process), at the larger of the two phases.
Constants marked "measured" come from this repository's machine (2 cores x86_64, torch
2.13 CPU, Python 3.11; see BENCHMARKS.md, "Resource budget"); byte counts per element follow
the code and were checked against peak RSS of one worker on configs that isolate each part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nearid_core.config import SweepConfig

MB = 2**20
# Measured: RSS after `import torch, nearid_core.studies.sweep` (283 MB); the fork server and every
# pool worker start from it.
BASE_TORCH = 270 * MB
# Measured: scipy + scikit-learn + the analysis modules on top (436 MB in all); the fork
# server imports them for its workers. The main process no longer imports scikit-learn
# (issue 13), so for it this is an upper bound.
BASE_ANALYSIS = 150 * MB
# Measured: a worker's RSS above BASE_TORCH after training and measuring the smallest
# chunk (torch.func, autograd and LAPACK buffers, the 64 MB of free heap training keeps).
WORKER_WORK = 115 * MB
ANALYSIS_WORK = 40 * MB  # measured: analysing one model or pair at up to 80,000 rows
DATA_TRANSIENT = 24 * MB  # float64 blocks while building the observations (data.observe)
MEASURE_CHUNK = 4096  # held-out points per block of Jacobians / reconstructions
# Bytes per element, counted in the code and checked against measured peaks:
ACT_PER_OBS = 3 * 4  # (M, B, d_x) float32 tensors alive in one step: batch, recon, diff
ACT_PER_WIDTH = 15 * 4  # (M, B, w) float32 tensors alive in one step, over the 4 hidden layers
PARAM_COPIES = 7 * 4  # float32 weight, grad, 2 Adam moments, 2 foreach temporaries, QR
JACOBIAN_BYTES = 24  # per (model, point, d_x, d_z): float32 jacfwd, its copy, float64 + SVD
RECON_BYTES = 16  # per (model, point, d_x): float32 output, square, float64 sum
WORKER_OUT_BYTES = (56, 32)  # per (model, held-out point): 56 * d_z + 32 (latents, SVs, B...)
# In the main process, per (model, held-out point): 36 * d_z + 28 + 16 * d_u (latents, B,
# ICA sources and their analysis); the weights, singular values and distortions of a chunk
# are dropped once written to the store (``jobs``), so at most one chunk's weights are held.
MAIN_OUT_BYTES = (36, 28, 16)


@dataclass(frozen=True)
class Shape:
    """The sizes every cost depends on, read off a SweepConfig."""

    n: int
    n_train: int
    n_test: int
    d_x: int
    d_u: int
    d_z: int
    width: int
    batch: int
    models: int
    leaks: int
    params: int  # per model
    weights: tuple[tuple[int, int], ...]  # (in, out) of every layer, encoder then decoder
    orthogonal: bool

    @classmethod
    def of(cls, cfg: SweepConfig) -> Shape:
        # models.layer_widths, repeated so that no torch is imported here (a test checks)
        d_x, d_z, w = cfg.data.obs_dim, cfg.model.latent_dim(cfg.data), cfg.model.width
        enc, dec = [d_x, w, w, d_z], [d_z, w, w, d_x]
        layers = tuple(zip(enc[:-1], enc[1:], strict=True)) + tuple(
            zip(dec[:-1], dec[1:], strict=True))
        n_test = round(cfg.data.n * cfg.train.holdout)
        return cls(n=cfg.data.n, n_train=cfg.data.n - n_test, n_test=n_test,
                   d_x=cfg.data.obs_dim, d_u=cfg.data.d_u, d_z=cfg.model.latent_dim(cfg.data),
                   width=cfg.model.width, batch=cfg.train.batch_size, models=cfg.n_models,
                   leaks=len(cfg.leaks), params=sum(i * o + o for i, o in layers),
                   weights=layers, orthogonal=cfg.model.decoder == "orthogonal")


# Models per batched ensemble at most. The cost per model-step grows with the ensemble
# (6 factors, width 128: 3.9-4.6 ms at 12-24 models, 5.7 at 96, 7.0 at 192;
# bench/bench_ensemble_size.py), so a large grid is cut into more chunks than workers
# (``sweep.plan_chunks``), and a worker's memory stops growing with the grid.
MAX_ENSEMBLE = 48


def chunk_count(n_models: int, workers: int) -> int:
    """How many chunks a grid is cut into (``sweep.plan_chunks``): one per worker, or more
    when a chunk would hold over ``MAX_ENSEMBLE`` models; never more than the models."""
    return max(1, min(max(workers, -(-n_models // MAX_ENSEMBLE)), n_models))


def chunk_sizes(n_models: int, workers: int) -> list[int]:
    """Models per chunk, as ``sweep.plan_chunks`` cuts the grid: near-equal, largest first."""
    k = chunk_count(n_models, workers)
    return [n_models // k + (i < n_models % k) for i in range(k)]


# ---------------------------------------------------------------------------- memory

def data_bytes(s: Shape) -> int:
    """One process's copy of the data: x float32, u float64, the split's indices."""
    return s.n * s.d_x * 4 + s.n * s.d_u * 8 + s.n * 8


def train_bytes(s: Shape, m: int) -> int:
    """A worker training m models, above its data: the training copy of x, the epoch's batch
    orders, parameters with gradients and Adam state, one step's activations."""
    x_train = s.n_train * s.d_x * 4
    orders = 16 * m * s.n_train  # (m, n_train) int64, and its stacked copy
    params = PARAM_COPIES * m * s.params
    acts = m * s.batch * (ACT_PER_OBS * s.d_x + ACT_PER_WIDTH * s.width)
    return x_train + orders + params + acts


def measure_bytes(s: Shape, m: int) -> int:
    """A worker measuring m trained models on the held-out points, above its data."""
    c = min(s.n_test, MEASURE_CHUNK)
    block = max(JACOBIAN_BYTES * m * c * s.d_x * s.d_z,  # B(z): Jacobians of one block
                RECON_BYTES * m * c * s.d_x,  # reconstruction error of one block
                3 * 4 * m * c * s.width)  # encoder activations of one block
    per_point = WORKER_OUT_BYTES[0] * s.d_z + WORKER_OUT_BYTES[1]
    return s.n_test * s.d_x * 4 + m * s.n_test * per_point + 3 * 4 * m * s.params + block


def main_bytes(s: Shape) -> int:
    """Peak RSS of the main process during saving and analysis (it waits while training)."""
    per_point = MAIN_OUT_BYTES[0] * s.d_z + MAIN_OUT_BYTES[1] + MAIN_OUT_BYTES[2] * s.d_u
    return (BASE_TORCH + BASE_ANALYSIS + ANALYSIS_WORK + data_bytes(s) + DATA_TRANSIENT
            + s.n_test * s.d_x * 4 + s.models * s.n_test * per_point
            + min(s.models, MAX_ENSEMBLE) * 2 * 4 * s.params)


def coordinator_memory(cfg: SweepConfig) -> Memory:
    """Peak bytes on this machine when the workers are a Dask cluster's: the coordinator
    alone (it builds the data, receives every model's held-out arrays and writes them)."""
    s = Shape.of(cfg)
    parts = {"processes": BASE_TORCH + BASE_ANALYSIS + ANALYSIS_WORK,
             "data": data_bytes(s) + DATA_TRANSIENT + s.n_test * s.d_x * 4}
    parts["analysis"] = main_bytes(s) - sum(parts.values())
    return Memory(main_bytes(s), "analysis", tuple(parts.items()))


def analysis_worker_bytes(s: Shape, holds_data: bool) -> int:
    """A pool worker running analysis tasks (it keeps the data it trained on)."""
    return (BASE_TORCH + WORKER_WORK + BASE_ANALYSIS + ANALYSIS_WORK
            + (data_bytes(s) if holds_data else 0) + 40 * 8 * s.n_test * (s.d_z + s.d_u))


@dataclass(frozen=True)
class Memory:
    """Peak bytes of a sweep's process tree, the phase that sets it, and what it is made of.

    parts : "processes" (interpreters, torch and libraries), "data" (every process's copy
    of the data), "training" (batch orders, parameters and Adam state, activations),
    "jacobians" (B(z) and reconstruction blocks, held-out outputs), "analysis" (the arrays
    of every model gathered in the main process and the analysis tasks).
    """

    peak: int
    phase: str
    parts: tuple[tuple[str, int], ...]

    def largest(self) -> str:
        """The part that weighs most, other than the processes themselves."""
        return max((p for p in self.parts if p[0] != "processes"), key=lambda p: p[1])[0]


def memory(cfg: SweepConfig, workers: int) -> Memory:
    """Peak resident bytes, summed over the sweep's process tree.

    Parameters
    ----------
    cfg : SweepConfig
    workers : size of the process pool.

    Notes
    -----
    Within about 1.5x of the measured peak on the benchmarked sizes (BENCHMARKS.md); it
    does not know what else the machine runs, nor what a long-lived runner kept from an
    earlier sweep.
    """
    s = Shape.of(cfg)
    # One process per chunk while training, at most `workers` at once: the largest chunks
    # set each one's peak (a worker keeps no chunk's arrays once it has returned them).
    sizes = chunk_sizes(s.models, workers)[:max(1, workers)]
    pool = max(1, min(workers, s.models + s.leaks))  # processes once analysis tasks arrive
    data = data_bytes(s) + DATA_TRANSIENT
    work = {"training": 0, "jacobians": 0}
    for m in sizes:
        t, ms = train_bytes(s, m), measure_bytes(s, m)
        work["training" if t >= ms else "jacobians"] += max(t, ms)
    train = {"processes": BASE_TORCH * (2 + len(sizes)) + BASE_ANALYSIS
             + WORKER_WORK * len(sizes), "data": data * len(sizes), **work}
    total = main_bytes(s) + BASE_TORCH + sum(
        analysis_worker_bytes(s, i < len(sizes)) for i in range(pool))
    analyse = {"processes": BASE_TORCH * (2 + pool) + BASE_ANALYSIS * (1 + pool)
               + WORKER_WORK * pool + ANALYSIS_WORK * (1 + pool),
               "data": data + data_bytes(s) * min(pool, len(sizes))}
    analyse["analysis"] = total - sum(analyse.values())
    phase, parts = max((("training", train), ("analysis", analyse)),
                       key=lambda p: sum(p[1].values()))
    return Memory(sum(parts.values()), phase, tuple(parts.items()))


# ---------------------------------------------------------------------------- time

@dataclass(frozen=True)
class Rates:
    """How fast this machine trains, relative to the one the constants come from.

    overhead_s : fixed cost of one optimisation step (Python, dispatch, batch gather).
    scale : compute time relative to the reference machine (2 = twice as slow).
    """

    overhead_s: float = 0.0029  # measured on the reference machine
    scale: float = 1.0


# Reference machine, one thread (measured; fitted on 24 step timings of 1 to 32 models,
# widths 4 to 512, d_x 8 to 1,024, within 1.3x): matmul FLOP/s, elementwise activation
# values per second, QR work (out * in^2 per decoder layer) per second.
R_MATMUL, R_ELEMENT, R_QR = 41e9, 3.3e8, 4.9e9
POINT_S, ENTRY_S = 1.2e-6, 45e-9  # B(z): per (model, point) and per Jacobian entry
DATA_S = 20e-9  # building the data, per value of x (mostly first touch of its pages)
# Measured, on the reference machine shared with other work (load average about 2):
# Start-up refitted 2026-11-29 (issue 13, `bench/bench_cli.py`, medians of 5): the command
# takes the sweep 1.8 s after it starts (interpreter, torch, the store), while the fork
# server it started imports torch, the analysis and scikit-learn beside it; the first step
# follows 2.0 s later, once that is done; workers start their first analysis task warm.
START_S = 1.8
POOL_S = 2.0
SAVE_S = 0.02  # per model: its arrays and weights into the store
# Analysing one model: fixed + per d_z * d_u, at 1,638 held-out rows; one pair of seeds:
# fixed + per held-out row. Refitted 2026-11-29 (issue 13: InfoE's fits flush subnormals):
# the default sweep's analysis in one process took 2.82 s (`bench/bench_analysis.py`,
# median of 5), of which its 36 pairs 0.09-0.15 s. Each chunk's models are analysed as the
# chunk ends, beside the other chunks' training: the estimate still counts all of the
# analysis after training (an upper bound).
MODEL_S = (0.068, 0.011)
PAIR_S, PAIR_ROW_S = 0.001, 1.5e-6

def step_work(s: Shape, m: int) -> float:
    """Seconds of one optimisation step of m models on the reference machine, less its
    fixed overhead."""
    flops = 6 * m * s.batch * sum(i * o for i, o in s.weights)  # forward 2, backward 4
    values = m * s.batch * (4 * s.width + s.d_z + 3 * s.d_x)
    qr = m * sum(o * i * i for i, o in s.weights[len(s.weights) // 2:]) if s.orthogonal else 0
    return flops / R_MATMUL + values / R_ELEMENT + qr / R_QR


def seconds(cfg: SweepConfig, workers: int, cpus: int, rates: Rates,
            load: float = 0.0, *, warm: bool = False) -> dict[str, float]:
    """Wall-clock seconds of a sweep, by stage ("start", "training", "saving", "analysis")
    and in all ("total").

    Parameters
    ----------
    cfg : SweepConfig
    workers, cpus : the pool's size and the machine's cores.
    rates : this machine's speed (``calibration.rates()``).
    load : runnable processes of other work (the load average before the sweep starts).
    warm : run by a warm runner (the app's: its interpreter, pool and first analysis calls
        already paid), so without ``START_S`` and ``POOL_S`` (every worker starts its
        first analysis task warm either way: the fork server preloads the science).

    Notes
    -----
    Steps per second come from ``rates``; the other stages are reference timings scaled by
    ``rates.scale``. When the sweep's busy processes and the other load outnumber the cores,
    each stage slows down in proportion. Within about 1.5x on the benchmarked sizes; load
    that starts or stops during the sweep changes its time.
    """
    s, k = Shape.of(cfg), rates.scale

    def share(busy: int) -> float:  # slowdown of `busy` processes of ours among the load
        return max(1.0, (busy + max(load, 0.0)) / max(cpus, 1))

    sizes = chunk_sizes(s.models, workers)
    busy = min(len(sizes), max(1, workers))  # chunks training at once
    rounds = math.ceil(len(sizes) / busy)  # chunks one worker trains one after another
    steps = cfg.train.epochs * math.ceil(s.n_train / s.batch)
    dec = sum(i * o for i, o in s.weights[len(s.weights) // 2:])
    data = k * DATA_S * s.n * s.d_x
    m = sizes[0]
    measure = k * m * s.n_test * (POINT_S + ENTRY_S * s.d_x * s.d_z
                                  + (2 * dec * s.d_z + 4 * s.params) / R_MATMUL)
    cold = 0.0 if warm else 1.0
    train = cold * k * POOL_S * share(1) + share(busy) * (
        data + rounds * (steps * (rates.overhead_s + k * step_work(s, m)) + measure))
    pairs = s.leaks * (s.models // s.leaks) * (s.models // s.leaks - 1) // 2
    per_model = (MODEL_S[0] + MODEL_S[1] * s.d_z * s.d_u) * max(1.0, s.n_test / 1638) ** 0.2
    pool = max(1, min(workers, s.models + s.leaks))
    work = s.models * per_model + pairs * (PAIR_S + PAIR_ROW_S * s.n_test)
    out = {"start": cold * k * START_S * share(1), "training": train,
           "saving": (data + k * SAVE_S * s.models) * share(1),
           "analysis": k * work / pool * share(pool)}
    return {**out, "total": sum(out.values())}
