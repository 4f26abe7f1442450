"""Training loops for autoencoder ensembles: MSE, Adam, in-memory mini-batches.

All M models of an ensemble take one optimisation step together. Their losses are summed,
so each model's gradient is exactly its own (the models share no parameter), and Adam acts
element-wise, so each model follows the trajectory it would follow alone.
"""

from __future__ import annotations

import ctypes
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from nearid_core.config import DataConfig, ModelConfig, TrainConfig
from nearid_core.science.adam import Adam
from nearid_core.science.models import EnsembleAE

DONE, FAILED, CANCELLED = "done", "failed", "cancelled"


@dataclass
class StepInfo:
    """What an ``on_step`` callback sees after each optimisation step."""

    step: int  # steps taken so far (1-based)
    total_steps: int
    epoch: int  # 0-based epoch of this step
    losses: np.ndarray  # (M,) this step's training loss of each model (nan when failed)
    alive: np.ndarray  # (M,) bool, False for failed models
    model: EnsembleAE  # the live ensemble (read only, please)

    @property
    def progress(self) -> float:
        return self.step / self.total_steps


OnStep = Callable[[StepInfo], bool | None]


@dataclass
class TrainResult:
    """A trained ensemble and each model's fate.

    loss_history : (M, epochs_run) mean training loss per epoch (nan after failure).
    status : per model "done", "failed" or "cancelled"; reasons : why, or "".
    """

    model: EnsembleAE
    loss_history: np.ndarray
    status: list[str]
    reasons: list[str]
    seconds: float
    steps: int
    extra: dict = field(default_factory=dict)


def set_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads (1 by default: two threads on two busy cores can be
    100x slower than one)."""
    if threads:
        torch.set_num_threads(threads)


def _keep_freed_memory() -> None:
    """Let glibc reuse freed activation buffers instead of unmapping and refaulting them.

    Process-wide. A (24, 256, 32) float32 activation is above glibc's 128 KiB mmap
    threshold, so every step mapped fresh pages: ~950 page faults a step on the default
    sweep, measured ~20% of the step time; with these settings there are none.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return
    mallopt(-3, 16 << 20)  # M_MMAP_THRESHOLD: heap, not mmap, below 16 MiB
    mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD: keep up to 64 MiB of free heap


def _batch_orders(seeds: Sequence[int]) -> list[torch.Generator]:
    # Batch order has its own stream per model, apart from initialisation.
    return [torch.Generator().manual_seed(int(s) * 7919 + 17) for s in seeds]


def _optimizer(model: EnsembleAE, train: TrainConfig) -> Adam:
    enc = [p for n, p in model.named_parameters() if n.startswith("enc")]
    dec = [p for n, p in model.named_parameters() if n.startswith("dec")]
    wd = 0.0 if model.orthogonal else model.cfg.weight_decay
    groups = [{"params": enc, "weight_decay": 0.0}, {"params": dec, "weight_decay": wd}]
    # Not fused=True: the fused CPU kernel is 0.4 ms a step faster, but its rounding depends
    # on the tensor's size, so a model would not train the same alone and in an ensemble.
    # nearid's Adam = torch.optim.Adam(foreach=True) bit for bit, without importing dynamo.
    return Adam(groups, lr=train.lr)


def train_ensemble(x_train: np.ndarray | torch.Tensor, model_cfg: ModelConfig,
                   data_cfg: DataConfig, train: TrainConfig, leaks: Sequence[float],
                   seeds: Sequence[int], *, on_step: OnStep | None = None,
                   threads: int | None = 1) -> TrainResult:
    """Train M autoencoders (one per (leak, seed)) as one batched computation.

    Parameters
    ----------
    x_train : (n, d_x) training observations, shared by every model.
    model_cfg, data_cfg, train : configs.
    leaks, seeds : (M,) each model's leak alpha and seed (initialisation and batch order).
    on_step : called after every step with a StepInfo; return True to stop training
        (remaining models are marked "cancelled").
    threads : torch intra-op threads for this process (None leaves it as it is).

    Returns
    -------
    TrainResult

    Notes
    -----
    A model whose loss becomes nan or inf is marked failed with the step and the value; its
    loss is dropped from the sum, so the others go on unaffected.
    """
    set_threads(threads)
    _keep_freed_memory()
    t0 = time.perf_counter()
    x = torch.as_tensor(np.asarray(x_train), dtype=torch.float32)  # (n, d_x)
    model = EnsembleAE(model_cfg, data_cfg, leaks, seeds)
    opt = _optimizer(model, train)
    m_count, n = model.n_models, x.shape[0]
    steps_per_epoch = math.ceil(n / train.batch_size)
    total = steps_per_epoch * train.epochs
    gens = _batch_orders(seeds)
    alive = np.ones(m_count, dtype=bool)
    reasons = [""] * m_count
    history = np.full((m_count, train.epochs), np.nan)
    step, stopped = 0, False
    for epoch in range(train.epochs):
        order = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (M, n)
        sums = np.zeros(m_count)
        for start in range(0, n, train.batch_size):
            idx = order[:, start:start + train.batch_size]  # (M, B)
            # index_select on the flat index is 5x faster than x[idx] here
            xb = torch.index_select(x, 0, idx.reshape(-1)).view(*idx.shape, x.shape[1])
            losses = _step(model, opt, xb, alive)  # xb: (M, B, d_x)
            step += 1
            _mark_failures(losses, alive, reasons, step, epoch)
            sums += np.where(alive, losses, 0.0) * idx.shape[1]
            if on_step is not None and on_step(StepInfo(step, total, epoch, losses, alive.copy(),
                                                        model)):
                stopped = True
                break
        if stopped:
            break
        history[alive, epoch] = sums[alive] / n
    status = [FAILED if not a else (CANCELLED if stopped else DONE) for a in alive]
    if stopped:
        reasons = [r or "stopped by the user" for r in reasons]
    epochs_run = epoch + (0 if stopped else 1)
    return TrainResult(model, history[:, :max(epochs_run, 1)], status, reasons,
                       time.perf_counter() - t0, step)


def _step(model: EnsembleAE, opt: Adam, xb: torch.Tensor,
          alive: np.ndarray) -> np.ndarray:
    opt.zero_grad()
    per_model = PerModelMSE.apply(model(xb), xb)  # (M,)
    finite = torch.isfinite(per_model) & torch.from_numpy(alive)
    per_model.where(finite, torch.zeros(())).sum().backward()
    opt.step()
    return per_model.detach().numpy().astype(np.float64)


class PerModelMSE(torch.autograd.Function):
    """Mean squared error of each model, (M, B, d) x 2 -> (M,), with a one-pass backward
    (autograd's generic chain costs three passes over the batch)."""

    @staticmethod
    def forward(ctx, recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        diff = recon - target  # (M, B, d)
        ctx.save_for_backward(diff)
        return torch.linalg.vector_norm(diff, dim=(1, 2)) ** 2 / diff[0].numel()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (diff,) = ctx.saved_tensors
        return diff * (grad * (2.0 / diff[0].numel())).view(-1, 1, 1), None


def _mark_failures(losses: np.ndarray, alive: np.ndarray, reasons: list[str], step: int,
                   epoch: int) -> None:
    bad = alive & ~np.isfinite(losses)
    for m in np.flatnonzero(bad):
        reasons[m] = f"training loss became {losses[m]} at step {step} (epoch {epoch + 1})"
    alive &= ~bad


@torch.no_grad()
def encode(model: EnsembleAE, x: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """Latents of every model for shared inputs: (n, d_x) -> (M, n, d_z) float64."""
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    parts = [model.encode(xt[i:i + chunk]) for i in range(0, len(xt), chunk)]
    return torch.cat(parts, dim=1).double().numpy()


@torch.no_grad()
def reconstruction_mse(model: EnsembleAE, x: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """Per-model mean squared reconstruction error per coordinate: (n, d_x) -> (M,)."""
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    total = torch.zeros(model.n_models, dtype=torch.float64)
    for i in range(0, len(xt), chunk):
        xb = xt[i:i + chunk]
        total += ((model(xb) - xb) ** 2).double().sum(dim=(1, 2))
    return (total / xt.numel()).numpy()
