"""Leak x seed sweeps: train the grid through an executor and measure every model.

The grid is cut into one chunk per worker, or more when that would put more than
``MAX_ENSEMBLE`` models in one; each chunk is an ensemble trained as one batched
computation (``training.train_ensemble``), then encoded and measured (B(z), held-out
reconstruction) in the worker, so only small arrays travel back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass, field

import numpy as np

from nearid_core.config import DataConfig, SweepConfig, sweep_from_dict, to_dict
from nearid_core.engine.executors import (
    Channel,
    executor_or_default,
    executor_workers,
    task_channel,
)
from nearid_core.science.data import Dataset, make_data
from nearid_core.science.lipschitz import decoder_bilipschitz, orthogonal_bound
from nearid_core.science.training import DONE, FAILED, encode, reconstruction_mse, train_ensemble

PROGRESS_EVERY = 0.01  # share of the steps between two progress messages
# Models per batched ensemble at most. The cost per model-step grows with the ensemble
# (6 factors, width 128: 3.9-4.6 ms at 12-24 models, 5.7 at 96, 7.0 at 192;
# bench/bench_ensemble_size.py), so a large grid is cut into more chunks than workers.
# A member's arithmetic does not depend on the others: the cut changes results only at
# float32 rounding (test_sweep), and a given grid and worker count always cuts the same.
MAX_ENSEMBLE = 48


@dataclass
class ModelOutcome:
    """One trained model of a sweep and what was measured on the held-out inputs.

    latents : (n_test, d_z); b, distortion : (n_test,); singular_values : (n_test, d_z).
    """

    index: int
    leak: float
    seed: int
    status: str
    reason: str
    loss_history: np.ndarray
    recon_mse: float
    latents: np.ndarray
    b: np.ndarray
    distortion: np.ndarray
    singular_values: np.ndarray
    lipschitz: dict[str, float]
    state: dict = field(repr=False, default_factory=dict)
    seconds: float = 0.0


@dataclass
class Progress:
    """Training progress of a whole sweep: share of steps done and latest loss per model."""

    fraction: float
    losses: dict[int, float]
    message: str = ""


def dataset_for(cfg: SweepConfig) -> Dataset:
    """The sweep's data, built once per process (the last one is kept: every chunk of a
    sweep, its saving and its analysis share one copy)."""
    return _dataset(cfg.data, cfg.train.holdout)


@functools.lru_cache(maxsize=1)
def _dataset(data: DataConfig, holdout: float) -> Dataset:
    return make_data(data, holdout=holdout)


def train_chunk(cfg_dict: dict, indices: list[int], channel=None) -> list[ModelOutcome]:
    """Train and measure the models ``indices`` of a sweep (runs inside a worker).

    ``channel`` comes from ``Channel.endpoints()`` (or None); progress goes to its queue
    as (token, indices, step, total_steps, losses) and training stops when its event is set.
    """
    cfg = sweep_from_dict(cfg_dict)
    ds = dataset_for(cfg)
    grid = [cfg.grid()[i] for i in indices]
    ends = task_channel(channel)
    on_step = _reporter(indices, *ends) if ends is not None else None
    res = train_ensemble(ds.x[ds.train_idx], cfg.model, cfg.data, cfg.train,
                         [a for a, _ in grid], [s for _, s in grid], on_step=on_step)
    z = encode(res.model, ds.x_test)  # (M, n_test, d_z)
    z = np.where(np.isfinite(z), z, np.nan)
    bl = decoder_bilipschitz(res.model, np.nan_to_num(z))
    mse = reconstruction_mse(res.model, ds.x_test)
    k = res.model.n_hidden_decoder
    out = []
    for m, i in enumerate(indices):
        lip = bl.summary(m) if res.status[m] != FAILED else {}
        if cfg.model.decoder == "orthogonal":
            lip["bound"] = orthogonal_bound(grid[m][0], k)
        out.append(ModelOutcome(
            i, grid[m][0], grid[m][1], res.status[m], res.reasons[m], res.loss_history[m],
            float(mse[m]), z[m], bl.b[m], bl.distortion[m], bl.singular_values[m], lip,
            res.model.member_state(m), res.seconds / len(indices)))
    return out


def _reporter(indices: list[int], q, stop, token: str) -> Callable:
    state = {"next": 0}

    def on_step(info) -> bool:
        if info.step >= state["next"] or info.step == info.total_steps:
            state["next"] = info.step + max(1, int(info.total_steps * PROGRESS_EVERY))
            q.put((token, tuple(indices), info.step, info.total_steps, info.losses.tolist()))
            return stop.is_set()
        return False

    return on_step


def chunks(n_models: int, n_chunks: int) -> list[list[int]]:
    """Split model indices into at most n_chunks near-equal contiguous chunks."""
    parts = np.array_split(np.arange(n_models), max(1, min(n_chunks, n_models)))
    return [p.tolist() for p in parts if len(p)]


def train_sweep(cfg: SweepConfig, *, executor: Executor | None = None,
                on_progress: Callable[[Progress], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                poll_s: float = 0.2) -> list[ModelOutcome]:
    """Train every model of the grid and measure it, through ``executor``.

    Parameters
    ----------
    cfg : SweepConfig
    executor : where chunks run (default: a local process pool, one torch thread each).
    on_progress : called in this process with a Progress every ``poll_s`` seconds.
    should_stop : polled as often; True cancels training (models end "cancelled").

    Returns
    -------
    outcomes : list of ModelOutcome, ordered by model index.
    """
    with executor_or_default(executor) as ex:
        channel = Channel(ex)
        try:
            return _run_chunks(cfg, ex, channel, on_progress, should_stop, poll_s)
        finally:
            channel.close()


def _run_chunks(cfg, ex, channel, on_progress, should_stop, poll_s) -> list[ModelOutcome]:
    n_chunks = max(executor_workers(ex), -(-cfg.n_models // MAX_ENSEMBLE))
    parts = chunks(cfg.n_models, n_chunks)
    futures = {ex.submit(train_chunk, to_dict(cfg), p, channel.endpoints()) for p in parts}
    steps = {tuple(p): (0, 1) for p in parts}
    losses: dict[int, float] = {}
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
        for idx, step, total, chunk_losses in channel.drain():
            steps[idx] = (step, total)
            losses.update(zip(idx, chunk_losses, strict=True))
        if should_stop is not None and should_stop():
            channel.stop.set()
        if on_progress is not None:
            on_progress(Progress(_fraction(steps), dict(losses),
                                 f"training {cfg.n_models} models"))
    outcomes = [o for f in futures for o in f.result()]
    return sorted(outcomes, key=lambda o: o.index)


def _fraction(steps: dict[tuple, tuple[int, int]]) -> float:
    """Share of the training steps done. Every chunk of a sweep has the same number of
    steps (same data, batch size and epochs), so a chunk that has not reported yet counts
    as that many steps to go, not as one (with more chunks than workers, the waiting
    chunks would otherwise let the bar read 90% with half the grid untrained)."""
    per = max(t for _, t in steps.values())
    return sum(s for s, _ in steps.values()) / (per * len(steps))


def leak_table(cfg: SweepConfig, outcomes: list[ModelOutcome]) -> list[dict]:
    """Per leak, over the models that finished: reconstruction and B(z) summaries."""
    rows = []
    for a in cfg.leaks:
        ok = [o for o in outcomes if o.leak == a and o.status == DONE]
        b = np.concatenate([o.b for o in ok]) if ok else np.array([np.nan])
        rows.append({
            "leak": a, "models": len(ok),
            "failed": sum(o.status == FAILED for o in outcomes if o.leak == a),
            "recon_mse": _mean([o.recon_mse for o in ok]),
            "B_median": float(np.median(b)), "B_q90": float(np.quantile(b, 0.9)),
            "B_max": float(np.max(b)),
            "L_max": _mean([o.lipschitz["L_max"] for o in ok]),
            "L_mean": _mean([o.lipschitz["L_mean"] for o in ok]),
            "train_s": float(sum(o.seconds for o in ok)),
        })
    return rows


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")

