"""Table 1 on digits: seeds of three model families, compared on the same held-out digits.

The paper's Table-1 protocol (PAPER.md §3, §5) on data anyone has: scikit-learn's 8x8 digits.
For each family (an autoencoder with a leak and an orthonormalised decoder, a masked
autoencoder, an MLP classifier's penultimate layer), ``seeds`` models are trained on the same
training digits and embed the same held-out digits; every unordered seed pair is aligned under
signed permutation / rigid / linear / ICA (``alignment.pairwise_errors``), and the family gets
mean ± std over pairs, the guarded ICA efficiency (``efficiency.from_units``) and its regime in
plain words, beside the paper's Table 1 for pretrained models.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from nearid_core.config import DECODERS, MAX_SEED, _check_int, _check_real, _require
from nearid_core.science import alignment, digits
from nearid_core.studies._realdata_result import (
    FAMILY_LABELS,
    TABLE_COLUMNS,
    FamilyResult,
    RealDataResult,
)
from nearid_core.studies._realdata_summary import PAPER_TABLE1, REGIME_RULE, summarise_pairs

__all__ = ["FAMILIES", "FAMILY_LABELS", "PAPER_TABLE1", "REGIME_RULE", "TABLE_COLUMNS",
           "FamilyResult", "RealDataCancelled", "RealDataConfig", "RealDataProgress",
           "RealDataResult", "model_seeds", "run_realdata"]

FAMILIES = ("ae", "mae", "clf")
_SEED_OFFSET = {"ae": 0, "mae": 100, "clf": 200}  # families never share a model seed


@dataclass(frozen=True)
class RealDataConfig:
    """Settings of the digits study (frozen: a cache key, saved beside results).

    seeds : models per family (seed pairs: seeds * (seeds - 1) / 2).
    families : any of "ae", "mae", "clf".
    ae_latent, mae_latent : latent sizes; clf_embedding : penultimate width of the classifier.
    width : hidden width of the (masked) autoencoders (64 -> w -> w -> d_z -> w -> w -> 64);
        clf_width : first hidden width of the classifier (64 -> w -> d -> 10).
    leak : the AE's alpha (negative slope 1 - alpha; 0 = linear, 1 = ReLU), orthonormal decoder.
    mae_leak, mae_decoder : the MAE's alpha and decoder ("free" like real MAEs, or "orthogonal").
        Alpha 0.5, not ReLU: a free ReLU decoder had near-singular Jacobians (B up to 1e8)
        and its seed-pair errors swung between regimes from one master seed to the next.
    clf_leak : the classifier's alpha; below 1 so that no penultimate unit dies (a constant
        column cannot be whitened by ICA).
    mask_ratio : share of input pixels the MAE zeroes per step (0.75 as in He et al.'s MAE).
    epochs (AE, MAE), clf_epochs, batch_size, lr (Adam, cosine decay to 0), weight_decay
        (free decoders and the classifier).
    test_share : held-out share of the 1,797 digits (stratified; the same rows for every seed).
    seed : master seed: the split, and model seeds ``seed * 1000 + offset + k``.
    """

    seeds: int = 4
    families: tuple[str, ...] = FAMILIES
    ae_latent: int = 4
    mae_latent: int = 4
    clf_embedding: int = 16
    width: int = 32
    clf_width: int = 64
    leak: float = 0.1
    mae_leak: float = 0.5
    mae_decoder: str = "free"
    clf_leak: float = 0.9
    mask_ratio: float = 0.75
    epochs: int = 100
    clf_epochs: int = 40
    batch_size: int = 64
    lr: float = 1e-2
    weight_decay: float = 1e-4
    test_share: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        c = "RealDataConfig"
        object.__setattr__(self, "families", tuple(self.families))
        _require(len(self.families) >= 1 and set(self.families) <= set(FAMILIES), c, "families",
                 f"a non-empty selection of {FAMILIES}", self.families)
        _require(len(set(self.families)) == len(self.families), c, "families",
                 "without repeats", self.families)
        _check_int(c, "seeds", self.seeds, 2, 16)
        _check_int(c, "width", self.width, 1, digits.N_PIXELS)
        _check_int(c, "ae_latent", self.ae_latent, 1, self.width)
        _check_int(c, "mae_latent", self.mae_latent, 1, digits.N_PIXELS)
        _check_int(c, "clf_embedding", self.clf_embedding, 1, 512)
        _check_int(c, "clf_width", self.clf_width, 1, 1024)
        for name in ("leak", "mae_leak", "clf_leak"):
            _check_real(c, name, getattr(self, name), 0.0, 1.0)
        _require(self.mae_decoder in DECODERS, c, "mae_decoder", f"one of {DECODERS}",
                 self.mae_decoder)
        if self.mae_decoder == "orthogonal":
            _require(self.mae_latent <= self.width, c, "mae_latent",
                     f"<= width={self.width} for the orthogonal decoder", self.mae_latent)
        _check_real(c, "mask_ratio", self.mask_ratio, 0.0, 0.95)
        _check_int(c, "epochs", self.epochs, 1, 10_000)
        _check_int(c, "clf_epochs", self.clf_epochs, 1, 10_000)
        _check_real(c, "lr", self.lr, 0.0, 1.0, lo_open=True)
        _check_real(c, "weight_decay", self.weight_decay, 0.0, 1.0)
        _check_real(c, "test_share", self.test_share, 0.1, 0.9)
        n_train = digits.N_DIGITS - _n_test(self.test_share)
        _check_int(c, "batch_size", self.batch_size, 1, n_train)
        _check_int(c, "seed", self.seed, 0, MAX_SEED)


def _n_test(share: float) -> int:
    return int(np.ceil(digits.N_DIGITS * share))  # as train_test_split: the test side rounds up


def model_seeds(cfg: RealDataConfig, family: str) -> list[int]:
    """The model seeds of one family: ``seed * 1000 + offset(family) + k``, k < seeds."""
    return [cfg.seed * 1000 + _SEED_OFFSET[family] + k for k in range(cfg.seeds)]


@dataclass(frozen=True)
class RealDataProgress:
    """What ``on_progress`` sees between stages: share of stages done and the next one."""

    fraction: float
    message: str


class RealDataCancelled(RuntimeError):
    """Raised when ``on_progress`` returned True (the user stopped the study)."""


def _train(cfg: RealDataConfig, family: str, split: digits.DigitsSplit) -> digits.Trained:
    seeds = model_seeds(cfg, family)
    if family == "clf":
        return digits.train_classifiers(
            split.x_train, split.y_train, seeds=seeds, d_emb=cfg.clf_embedding,
            width=cfg.clf_width, leak=cfg.clf_leak, epochs=cfg.clf_epochs,
            batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay)
    mae = family == "mae"
    return digits.train_autoencoders(
        split.x_train, seeds=seeds, d_z=cfg.mae_latent if mae else cfg.ae_latent,
        width=cfg.width, leak=cfg.mae_leak if mae else cfg.leak,
        decoder=cfg.mae_decoder if mae else "orthogonal",
        mask_ratio=cfg.mask_ratio if mae else 0.0, epochs=cfg.epochs,
        batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _measure(family: str, trained: digits.Trained, split: digits.DigitsSplit) -> dict:
    """Held-out embeddings and the family's own quality numbers."""
    emb = digits.embed(trained, split.x_test)  # (seeds, n_test, d)
    if family == "clf":
        return {"embeddings": emb, "test_accuracy": digits.accuracy(trained, split.x_test,
                                                                    split.y_test)}
    b = digits.decoder_b(trained, emb)  # (seeds, n_test)
    return {"embeddings": emb, "recon_mse": digits.reconstruction_mse(trained, split.x_test),
            "b_median": float(np.median(b)), "b_max": float(b.max()),
            "b_seed_median": np.median(b, axis=1)}


def _align(emb: np.ndarray, seed: int) -> tuple[list[dict], str]:
    """Pairwise errors, or no rows and the reason (e.g. a dead, constant embedding column)."""
    try:
        with warnings.catch_warnings():
            # Non-convergence is recorded per pair (ica_converged) and counted in the summary.
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            return alignment.pairwise_errors(list(emb), seed=seed), ""
    except ValueError as err:
        return [], f"alignment failed: {err}"


def _family(cfg: RealDataConfig, family: str, split: digits.DigitsSplit) -> FamilyResult:
    trained = _train(cfg, family, split)
    measured = _measure(family, trained, split)
    t0 = time.perf_counter()
    pairs, why = _align(measured["embeddings"], cfg.seed)
    return FamilyResult(family=family, model_seeds=model_seeds(cfg, family), pairs=pairs, summary=summarise_pairs(pairs),
                        train_s=trained.seconds, align_s=time.perf_counter() - t0,
                        align_error=why, **measured)


def run_realdata(config: RealDataConfig, *,
                 on_progress: Callable[[RealDataProgress], bool | None] | None = None,
                 ) -> RealDataResult:
    """Train every family's seeds on the digits and compare them on the held-out digits.

    Parameters
    ----------
    config : RealDataConfig
    on_progress : called before each family and at the end; return True to stop (raises
        RealDataCancelled).

    Raises
    ------
    ValueError when a model's training loss stops being finite (the message names it);
    RealDataCancelled when ``on_progress`` asks to stop.

    Returns
    -------
    RealDataResult; ``table()`` gives mean ± std over seed pairs per family beside the paper's
    Table 1.

    Notes
    -----
    Statistical identifiability only (seed against seed; digits have no ground-truth factors).
    Errors are out-of-sample means over the eval half of the test digits, normalised by the
    reference's diameter, not the paper's sup-norm ε. Runs on one torch thread; deterministic
    for a config on a given machine and torch build.
    """
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    split = digits.load_split(test_share=config.test_share, seed=config.seed)
    results, n = {}, len(config.families)
    for k, family in enumerate(config.families):
        if on_progress is not None and on_progress(RealDataProgress(
                k / n, f"training {config.seeds} seeds of {FAMILY_LABELS[family]}")):
            raise RealDataCancelled(f"stopped before {family}")
        results[family] = _family(config, family, split)
    if on_progress is not None:
        on_progress(RealDataProgress(1.0, "done"))
    return RealDataResult(config, results, split.train_idx, split.test_idx, split.y_test,
                          time.perf_counter() - t0)
