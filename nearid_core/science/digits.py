"""scikit-learn's handwritten digits and three model families trained on them, batched over seeds.

The data: 1,797 8x8 images (``sklearn.datasets.load_digits``, shipped with scikit-learn, no
download), pixel values 0..16 scaled to [0, 1] by dividing by 16. Not standardised: the
border pixels are almost always 0, and dividing them by their tiny spread would turn rare
strokes into huge values; [0, 1] keeps every pixel on the same scale as the image.

The families (all seeds of a family train as one batched computation):
- ``ae``: nearid's ``EnsembleAE`` (leak alpha, negative slope ``1 - alpha``, orthonormalised
  or free decoder), MSE on clean inputs;
- ``mae``: the same autoencoder, but each training input has a random share of its pixels set
  to 0 (fresh mask every step) and the loss is on all pixels: a masked autoencoder;
- ``clf``: an MLP classifier ``64 -> w -> d -> 10`` with cross-entropy; its embedding is the
  penultimate layer after its activation (the analogue of ResNet-18's features before fc).
Embeddings of the AE and MAE are the encoder outputs of clean inputs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.nn import functional as F

from nearid_core.config import DataConfig, ModelConfig
from nearid_core.science import lipschitz
from nearid_core.science.models import EnsembleAE, leaky, mlp
from nearid_core.science.training import PerModelMSE

PIXEL_MAX = 16.0  # load_digits pixels are integers 0..16
N_DIGITS, N_PIXELS, N_CLASSES = 1797, 64, 10


@dataclass(frozen=True, eq=False)
class DigitsSplit:
    """A stratified train/test split of the digits; the test rows are the same for every seed.

    x_train (n_train, 64), y_train (n_train,), x_test (n_test, 64), y_test (n_test,);
    train_idx, test_idx: row numbers in ``load_digits()`` (disjoint, together all rows).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray


def load_split(*, test_share: float, seed: int) -> DigitsSplit:
    """Load the digits scaled to [0, 1] and split them, stratified by class, with ``seed``."""
    bunch = load_digits()
    x = bunch.data.astype(np.float64) / PIXEL_MAX  # (1797, 64)
    y = bunch.target.astype(np.int64)  # (1797,)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=test_share, random_state=seed, stratify=y)
    tr, te = np.sort(tr), np.sort(te)
    return DigitsSplit(x[tr], y[tr], x[te], y[te], tr, te)


@dataclass(eq=False)
class Trained:
    """A trained batch of M models of one family.

    model : the ensemble (``EnsembleAE`` or ``EnsembleClassifier``);
    loss_history : (M, epochs) mean training loss per epoch; seconds : training wall time.
    """

    model: torch.nn.Module
    loss_history: np.ndarray
    seconds: float


def _generators(seeds: Sequence[int], salt: int) -> list[torch.Generator]:
    # One stream per model and purpose, apart from initialisation (as training._batch_orders).
    return [torch.Generator().manual_seed(int(s) * 7919 + salt) for s in seeds]


def _batches(n: int, batch_size: int, gens: list[torch.Generator]):
    """Per-model shuffled index batches of one epoch: yields (M, B) index tensors."""
    order = torch.stack([torch.randperm(n, generator=g) for g in gens])  # (M, n)
    for start in range(0, n, batch_size):
        yield order[:, start:start + batch_size]


def _gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Rows idx (M, B) of shared x (n, d) -> (M, B, d)."""
    return torch.index_select(x, 0, idx.reshape(-1)).view(*idx.shape, x.shape[1])


def _cosine(opt: torch.optim.Optimizer, total_steps: int):
    # Decay to 0 so that every seed ends at a settled point, not wherever the last noisy
    # Adam step left it: seed-to-seed differences should come from the optimum reached.
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))


def _mask(xb: torch.Tensor, ratio: float, gens: list[torch.Generator]) -> torch.Tensor:
    """Zero a random ``ratio`` of each input's pixels, independently per model and input."""
    if ratio <= 0:
        return xb
    keep = torch.stack([torch.rand(xb.shape[1:], generator=g) >= ratio for g in gens])
    return xb * keep  # (M, B, d)


def train_autoencoders(x_train: np.ndarray, *, seeds: Sequence[int], d_z: int, width: int,
                       leak: float, decoder: str, mask_ratio: float, epochs: int,
                       batch_size: int, lr: float, weight_decay: float = 0.0) -> Trained:
    """Train one (masked) autoencoder per seed, all as one batched computation.

    Parameters
    ----------
    x_train : (n, 64) training digits in [0, 1].
    seeds : (M,) model seeds (initialisation, batch order and masks).
    d_z, width : latent size and hidden width (64 -> w -> w -> d_z -> w -> w -> 64).
    leak : alpha in [0, 1]; decoder : "orthogonal" or "free".
    mask_ratio : share of input pixels zeroed per step (0: plain AE); the loss is on all pixels.

    Returns
    -------
    Trained with an ``EnsembleAE``.

    Notes
    -----
    Adam on the summed per-model MSE, so each model's gradient is its own. Deterministic for
    given seeds on one thread; says nothing about whether training converged.
    """
    t0 = time.perf_counter()
    x = torch.as_tensor(x_train, dtype=torch.float32)  # (n, 64)
    # DataConfig only carries the observation width here (kind "linear", d_x = 64);
    # ModelConfig.d_z sets the latent size.
    data = DataConfig(kind="linear", d_u=1, d_x=x.shape[1], n=max(64, x.shape[0]))
    cfg = ModelConfig(width=width, d_z=d_z, decoder=decoder, weight_decay=weight_decay)
    model = EnsembleAE(cfg, data, [leak] * len(seeds), seeds)
    wd = 0.0 if decoder == "orthogonal" else weight_decay  # orthonormal weights: fixed norm
    dec = [p for n, p in model.named_parameters() if n.startswith("dec")]
    enc = [p for n, p in model.named_parameters() if n.startswith("enc")]
    opt = torch.optim.Adam([{"params": enc}, {"params": dec, "weight_decay": wd}], lr=lr,
                           foreach=True)
    masks = _generators(seeds, 29)

    def loss(idx: torch.Tensor) -> torch.Tensor:
        xb = _gather(x, idx)  # (M, B, 64)
        return PerModelMSE.apply(model.decode(model.encode(_mask(xb, mask_ratio, masks))), xb)

    history = _fit(opt, loss, x.shape[0], seeds, epochs=epochs, batch_size=batch_size)
    return Trained(model, history, time.perf_counter() - t0)


def _fit(opt: torch.optim.Optimizer, loss, n: int, seeds: Sequence[int], *, epochs: int,
         batch_size: int) -> np.ndarray:
    """Adam on the summed per-model losses (each model's gradient is its own), cosine decay.

    ``loss`` maps an (M, B) index batch to the (M,) losses. Returns the (M, epochs) mean
    loss per epoch; raises ValueError when a loss stops being finite.
    """
    sched = _cosine(opt, epochs * math.ceil(n / batch_size))
    orders = _generators(seeds, 17)
    history = np.zeros((len(seeds), epochs))
    for epoch in range(epochs):
        for idx in _batches(n, batch_size, orders):
            per_model = loss(idx)  # (M,)
            opt.zero_grad(set_to_none=True)
            per_model.sum().backward()
            opt.step()
            sched.step()
            history[:, epoch] += per_model.detach().double().numpy() * idx.shape[1]
        bad = np.flatnonzero(~np.isfinite(history[:, epoch]))
        if bad.size:
            raise ValueError(f"training diverged: the loss of model seed {seeds[bad[0]]} became "
                             f"{history[bad[0], epoch]} in epoch {epoch + 1}; lower the lr")
    return history / n


class EnsembleClassifier(torch.nn.Module):
    """M MLP classifiers ``d_x -> width -> d_emb -> 10`` as stacked weights (M, out, in).

    Hidden activations are LeakyReLU with negative slope ``1 - leak`` (leak 1 = ReLU).
    Initial weights depend on the seed only (nn.Linear's uniform rule).
    """

    def __init__(self, widths: Sequence[int], leak: float, seeds: Sequence[int]) -> None:
        super().__init__()
        self.widths, self.seeds = list(widths), [int(s) for s in seeds]
        per_model = [self._init_one(s) for s in self.seeds]
        for k in range(len(self.widths) - 1):
            for kind in ("w", "b"):
                stacked = torch.stack([p[f"{kind}{k}"] for p in per_model])  # (M, ...)
                self.register_parameter(f"{kind}{k}", torch.nn.Parameter(stacked))
        self.register_buffer("slope", torch.tensor(1.0 - leak))

    def _init_one(self, seed: int) -> dict[str, torch.Tensor]:
        gen, out = torch.Generator().manual_seed(seed), {}
        for k, (n_in, n_out) in enumerate(zip(self.widths[:-1], self.widths[1:], strict=True)):
            bound = 1.0 / math.sqrt(n_in)
            out[f"w{k}"] = (torch.rand(n_out, n_in, generator=gen) * 2 - 1) * bound
            out[f"b{k}"] = (torch.rand(n_out, generator=gen) * 2 - 1) * bound
        return out

    def _params(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        n = len(self.widths) - 1
        return [getattr(self, f"w{k}") for k in range(n)], [getattr(self, f"b{k}") for k in range(n)]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate layer after its activation: (M, B, d_x) or (B, d_x) -> (M, B, d_emb)."""
        ws, bs = self._params()
        if x.dim() == 2:
            x = x.expand(len(self.seeds), *x.shape)
        return leaky(mlp(x, ws[:-1], bs[:-1], self.slope), self.slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (M, B, 10)."""
        ws, bs = self._params()
        return torch.baddbmm(bs[-1].unsqueeze(-2), self.embed(x), ws[-1].mT)


def train_classifiers(x_train: np.ndarray, y_train: np.ndarray, *, seeds: Sequence[int],
                      d_emb: int, width: int, leak: float, epochs: int, batch_size: int,
                      lr: float, weight_decay: float = 0.0) -> Trained:
    """Train one MLP classifier per seed on the 10 classes, all as one batched computation.

    Parameters
    ----------
    x_train : (n, 64) digits in [0, 1]; y_train : (n,) labels 0..9.
    seeds : (M,) model seeds; d_emb : penultimate width (the embedding); width : first hidden.

    Returns
    -------
    Trained with an ``EnsembleClassifier``; loss_history is the mean cross-entropy per epoch.
    """
    t0 = time.perf_counter()
    x = torch.as_tensor(x_train, dtype=torch.float32)  # (n, 64)
    y = torch.as_tensor(y_train, dtype=torch.int64)  # (n,)
    model = EnsembleClassifier([x.shape[1], width, d_emb, N_CLASSES], leak, seeds)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, foreach=True)

    def loss(idx: torch.Tensor) -> torch.Tensor:
        logits = model(_gather(x, idx))  # (M, B, 10)
        return F.cross_entropy(logits.mT, y[idx], reduction="none").mean(dim=1)  # (M,)

    history = _fit(opt, loss, x.shape[0], seeds, epochs=epochs, batch_size=batch_size)
    return Trained(model, history, time.perf_counter() - t0)


@torch.no_grad()
def embed(trained: Trained, x: np.ndarray) -> np.ndarray:
    """Embeddings of shared inputs by every model: (n, 64) -> (M, n, d) float64."""
    xt = torch.as_tensor(x, dtype=torch.float32)  # (n, 64)
    model = trained.model
    z = model.encode(xt) if isinstance(model, EnsembleAE) else model.embed(xt)
    return z.double().numpy()


@torch.no_grad()
def accuracy(trained: Trained, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-model share of correct labels: (n, 64), (n,) -> (M,)."""
    logits = trained.model(torch.as_tensor(x, dtype=torch.float32))  # (M, n, 10)
    return (logits.argmax(-1).numpy() == y[None]).mean(axis=1)


@torch.no_grad()
def reconstruction_mse(trained: Trained, x: np.ndarray) -> np.ndarray:
    """Per-model mean squared error per pixel on clean inputs: (n, 64) -> (M,)."""
    xt = torch.as_tensor(x, dtype=torch.float32)  # (n, 64)
    return ((trained.model(xt) - xt) ** 2).double().mean(dim=(1, 2)).numpy()


def decoder_b(trained: Trained, z: np.ndarray) -> np.ndarray:
    """Per-sample bi-Lipschitz B(z) of each AE decoder at its own latents (M, n, d_z) -> (M, n).

    Notes
    -----
    ``lipschitz.decoder_bilipschitz``: B = max(s_1, 1/s_d) of the decoder Jacobian at sampled
    latents; an estimate at these points, not a certificate.
    """
    return lipschitz.decoder_bilipschitz(trained.model, z.astype(np.float32)).b
