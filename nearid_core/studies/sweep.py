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
from nearid_core.engine import costs
from nearid_core.engine.executors import (
    Channel,
    executor_or_default,
    executor_workers,
    task_channel,
)
from nearid_core.science.data import Dataset, make_data
from nearid_core.science.lipschitz import (
    decoder_bilipschitz,
    generator_bilipschitz,
    orthogonal_bound,
)
from nearid_core.science.training import (
    CANCELLED,
    DONE,
    FAILED,
    encode,
    reconstruction_mse,
    train_ensemble,
)

PROGRESS_EVERY = 0.01  # share of the steps between two progress messages
# A member's arithmetic does not depend on the others: the cut into chunks of at most
# MAX_ENSEMBLE models (engine.costs) changes results only at float32 rounding (test_sweep),
# and a given grid and worker count always cuts the same.


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

    def drop_saved(self) -> None:
        """Release what only the store needs once it has been written (weights, singular
        values, distortions, loss curve); ``latents``, ``b``, the numbers and the Lipschitz
        summary stay for the analysis and the leak table."""
        empty = np.empty(0, dtype=np.float32)
        self.state, self.singular_values, self.distortion = {}, empty, empty
        self.loss_history = empty


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


def generator_summary(cfg: SweepConfig, n: int = 2000) -> dict:
    """The data generator's own B(u) at the first ``n`` held-out factors, summarised: the
    ground truth's, 1 for an isometric generator (rolled, linear). A pool task: a worker
    has torch's autograd warm, where a fresh owner's first call costs about 0.5 s."""
    ds = dataset_for(cfg)
    return generator_bilipschitz(ds.generator, ds.u_test[:n]).summary(0)


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


def plan_chunks(n_models: int, workers: int) -> list[list[int]]:
    """The grid's cut: ``costs.chunk_count`` near-equal contiguous chunks (one per worker,
    or more when one would hold over ``MAX_ENSEMBLE`` models)."""
    return chunks(n_models, costs.chunk_count(n_models, workers))


def train_sweep(cfg: SweepConfig, *, executor: Executor | None = None,
                on_progress: Callable[[Progress], None] | None = None,
                should_stop: Callable[[], bool] | None = None,
                on_chunk: Callable[[list[ModelOutcome]], None] | None = None,
                poll_s: float = 0.2) -> list[ModelOutcome]:
    """Train every model of the grid and measure it, through ``executor``.

    Parameters
    ----------
    cfg : SweepConfig
    executor : where chunks run (default: a local process pool, one torch thread each).
    on_progress : called in this process with a Progress every ``poll_s`` seconds.
    should_stop : polled as often; True cancels training (models end "cancelled").
    on_chunk : called in this process with each chunk's outcomes as soon as it ends (a
        job writes them to the store then, and may drop what it no longer needs from them).

    Returns
    -------
    outcomes : list of ModelOutcome, ordered by model index.

    Raises
    ------
    The first error of a chunk, once every chunk has ended: the others are told to stop
    at their next progress report, and the chunks that ended before still reach
    ``on_chunk`` (as do the models that ended after it; those it stopped do not).
    """
    with executor_or_default(executor) as ex:
        channel = Channel(ex)
        try:
            return _run_chunks(cfg, ex, channel, on_progress, should_stop, on_chunk, poll_s)
        finally:
            channel.close()


def _run_chunks(cfg, ex, channel, on_progress, should_stop, on_chunk,
                poll_s) -> list[ModelOutcome]:
    parts = plan_chunks(cfg.n_models, executor_workers(ex))
    futures = {ex.submit(train_chunk, to_dict(cfg), p, channel.endpoints()): tuple(p)
               for p in parts}
    steps = {tuple(p): (0, 1) for p in parts}
    ended: set[tuple] = set()
    losses: dict[int, float] = {}
    outcomes: list[ModelOutcome] = []
    error: BaseException | None = None
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=poll_s, return_when=FIRST_COMPLETED)
        for idx, step, total, chunk_losses in channel.drain():
            steps[idx] = (step, total)
            losses.update(zip(idx, chunk_losses, strict=True))
        arrived = []
        for fut in done:  # results leave the futures here: nothing holds them twice
            key = futures.pop(fut)
            try:
                chunk = fut.result()
            except Exception as err:  # noqa: BLE001 - raised below, once all have ended
                error = error or err
                channel.stop.set()
                continue
            if all(o.status != CANCELLED for o in chunk):  # trained to the end
                ended.add(key)
            if error is not None:  # stopped because another chunk failed: not cancelled
                chunk = [o for o in chunk if o.status != CANCELLED]
            arrived.append(chunk)
        del done
        if should_stop is not None and should_stop():
            channel.stop.set()
        if on_progress is not None:  # before on_chunk: progress never lags the saves
            on_progress(Progress(_fraction(steps, ended), dict(losses),
                                 f"training {cfg.n_models} models"))
        for chunk in arrived:
            if on_chunk is not None and chunk:
                on_chunk(chunk)
            outcomes.extend(chunk)
    if error is not None:
        raise error
    return sorted(outcomes, key=lambda o: o.index)


def _fraction(steps: dict[tuple, tuple[int, int]], ended: set[tuple] = frozenset()) -> float:
    """Share of the training steps done. Every chunk of a sweep has the same number of
    steps (same data, batch size and epochs), so a chunk that has not reported yet counts
    as that many steps to go, not as one (with more chunks than workers, the waiting
    chunks would otherwise let the bar read 90% with half the grid untrained), and a chunk
    trained to the end counts as all of them, whatever reports of it are in transit."""
    per = max(t for _, t in steps.values())
    done = sum(per if k in ended else s for k, (s, _) in steps.items())
    return done / (per * len(steps))


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

