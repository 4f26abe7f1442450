"""Table 2 of the paper: is AE + ICA as disentangled as purpose-built models?

For each data set (``shapes``: a soft square with 4 factors; ``rolled``: an exact isometry;
``mlp``: the non-isometric control) and each seed, a plain autoencoder with twice as many
latents as factors is trained, weight decay its only regulariser; its held-out latents are
scored as they are and after ICA, two ways (``METHOD_TEXTS``), by InfoM / InfoE / InfoC (the
InfoMEC authors' protocol), MCC and DCI D; the means take Table 2's shape beside the paper's
rows, and the acceptance checks are computed with their numbers (``verdicts``).

Training reuses the engine: ``rolled`` and ``mlp`` through ``sweep.train_sweep`` (one leak,
the seeds as one ensemble), ``shapes`` (not a ``DataConfig`` kind) through the function the
engine itself calls, ``training.train_ensemble``, on the study's own images.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from nearid_core.config import DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.science.shapes import generator_spread, make_shapes
from nearid_core.science.training import FAILED, encode, reconstruction_mse, train_ensemble
from nearid_core.studies._disentangle_config import (
    DATASET_TEXTS,
    DATASETS,
    ISOMETRIC,
    METHOD_LABELS,
    METHOD_TEXTS,
    METHODS,
    METRIC_LABELS,
    METRICS,
    PAPER_SOURCE,
    PAPER_TABLE2,
    DisentangleConfig,
)
from nearid_core.studies._disentangle_result import DatasetResult, DisentangleResult
from nearid_core.studies._disentangle_scores import ModelScores, analyse_latents, score_latents
from nearid_core.studies._disentangle_traversal import TraversalGrids, traversal_grids
from nearid_core.studies.sweep import dataset_for, train_sweep

__all__ = ["DATASETS", "DATASET_TEXTS", "HOLDOUT", "ISOMETRIC", "METHODS", "METHOD_LABELS",
           "METHOD_TEXTS", "METRICS", "METRIC_LABELS", "PAPER_SOURCE", "PAPER_TABLE2",
           "DatasetResult", "DisentangleCancelled", "DisentangleConfig",
           "DisentangleProgress", "DisentangleResult", "ModelScores", "TraversalGrids",
           "analyse_latents", "run_disentangle", "score_latents", "traversal_grids"]

HOLDOUT = 0.2  # share of the samples held out: every score is on these
_SPREAD_ROWS = 500  # held-out factors at which the generator's B is measured


@dataclass(frozen=True)
class DisentangleProgress:
    """What ``on_progress`` sees between stages: share of stages done and the next one."""

    fraction: float
    message: str


class DisentangleCancelled(RuntimeError):
    """Raised when ``on_progress`` returned True (the user stopped the study)."""


@dataclass(frozen=True, eq=False)
class _Trained:
    latents: np.ndarray  # (seeds, n_test, d_z)
    u_test: np.ndarray  # (n_test, d_u)
    x_test: np.ndarray  # (n_test, d_x)
    recon_mse: np.ndarray  # (seeds,)
    geometry: dict
    seconds: float
    decoder: object = None
    image_size: int | None = None


def _model_config(cfg: DisentangleConfig, dataset: str) -> ModelConfig:
    return ModelConfig(width=cfg.width, d_z=cfg.latents(dataset), decoder="free",
                       weight_decay=cfg.weight_decay)


def _train_config(cfg: DisentangleConfig) -> TrainConfig:
    return TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, holdout=HOLDOUT)


def _check_done(dataset: str, seeds: list[int], status: list[str], reasons: list[str]) -> None:
    for s, st, why in zip(seeds, status, reasons, strict=True):
        if st == FAILED:
            raise ValueError(f"the {dataset} model with seed {s} failed: {why}")


def _train_engine(cfg: DisentangleConfig, dataset: str, executor: Executor) -> _Trained:
    """rolled / mlp through the sweep engine: one leak, ``seeds`` models."""
    data = DataConfig(kind=dataset, d_u=cfg.factors(dataset), d_x=cfg.d_x, n=cfg.n,
                      sources="uniform", seed=cfg.seed)
    sweep = SweepConfig(data=data, model=_model_config(cfg, dataset), train=_train_config(cfg),
                        leaks=(cfg.leak,), seeds=cfg.seeds, seed=cfg.seed)
    t0 = time.perf_counter()
    outs = train_sweep(sweep, executor=executor)
    _check_done(dataset, [o.seed for o in outs], [o.status for o in outs],
                [o.reason for o in outs])
    ds = dataset_for(sweep)
    return _Trained(np.stack([o.latents for o in outs]), ds.u_test, ds.x_test,
                    np.array([o.recon_mse for o in outs]),
                    generator_spread(ds.generator, ds.u_test[:_SPREAD_ROWS]),
                    time.perf_counter() - t0)


def _train_shapes(cfg: DisentangleConfig) -> _Trained:
    """shapes: the study's images, trained by the engine's own ensemble trainer."""
    spec = cfg.shapes_spec()
    data = make_shapes(spec, holdout=HOLDOUT)
    # The models read only the observation width (and d_u when d_z is 0) from a DataConfig.
    carrier = DataConfig(kind="linear", d_u=4, d_x=spec.image_size ** 2, n=cfg.n,
                         seed=cfg.seed)
    t0 = time.perf_counter()
    seeds = cfg.model_seeds()
    res = train_ensemble(data.x[data.train_idx], _model_config(cfg, "shapes"), carrier,
                         _train_config(cfg), [cfg.leak] * cfg.seeds, seeds)
    _check_done("shapes", seeds, res.status, res.reasons)
    return _Trained(encode(res.model, data.x_test), data.u_test, data.x_test,
                    reconstruction_mse(res.model, data.x_test),
                    generator_spread(data.generator, data.u_test[:_SPREAD_ROWS]),
                    time.perf_counter() - t0, res.model, spec.image_size)


def _dataset(cfg: DisentangleConfig, name: str, executor: Executor,
             stage: Callable[[str], None]) -> DatasetResult:
    stage(f"{name}: training {cfg.seeds} autoencoders")
    tr = _train_shapes(cfg) if name == "shapes" else _train_engine(cfg, name, executor)
    t0, models = time.perf_counter(), []
    for k, z in enumerate(tr.latents):
        stage(f"{name}: scoring seed {k + 1} of {cfg.seeds} before and after ICA")
        models.append(analyse_latents(z, tr.u_test, n_factors=cfg.factors(name),
                                      seed=cfg.seed, ica_max_iter=cfg.ica_max_iter))
    return DatasetResult(name, cfg.factors(name), cfg.latents(name), cfg.model_seeds(), models,
                         tr.latents, tr.u_test, tr.recon_mse, float(np.var(tr.x_test)),
                         tr.geometry, tr.seconds, time.perf_counter() - t0, tr.decoder,
                         tr.image_size)


def run_disentangle(config: DisentangleConfig, *,
                    on_progress: Callable[[DisentangleProgress], bool | None] | None = None,
                    executor: Executor | None = None) -> DisentangleResult:
    """Train, score before and after ICA, and check Table 2's claim on every data set.

    Parameters
    ----------
    config : DisentangleConfig
    on_progress : called before each stage (a data set's training, a seed's scoring) and
        at the end; return True to stop (raises DisentangleCancelled).
    executor : where ``train_sweep`` runs its chunks (default: this process, one thread).

    Returns
    -------
    DisentangleResult; ``table()`` has Table 2's shape, ``verdicts()`` the acceptance checks.

    Raises
    ------
    ValueError when a model's training loss stops being finite (the message names it);
    DisentangleCancelled when ``on_progress`` asks to stop.

    Notes
    -----
    Structural scores against known factors on held-out inputs, one torch thread,
    deterministic for a config on a given machine and torch build. Synthetic analogues of the
    benchmarks, not Shapes3D itself: compare the direction of the change with the paper's,
    not the values.
    """
    t0 = time.perf_counter()
    total = len(config.datasets) * (1 + config.seeds)
    done = [0]

    def stage(message: str) -> None:
        if on_progress is not None and on_progress(
                DisentangleProgress(done[0] / total, message)):
            raise DisentangleCancelled(f"stopped before: {message}")
        done[0] += 1

    own = executor is None
    ex = ThreadPoolExecutor(1) if own else executor
    try:
        runs = {name: _dataset(config, name, ex, stage) for name in config.datasets}
    finally:
        if own:
            ex.shutdown(wait=True)
    if on_progress is not None:
        on_progress(DisentangleProgress(1.0, "done"))
    return DisentangleResult(config, runs, time.perf_counter() - t0)
