"""A synthetic cell-painting screen with known biology and known batch effects.

The small analogue of the paper's Tables 3–4 (PAPER.md §5): wells of a screen are either
controls or one of ``perturbations`` genetic perturbations (the biological state), and each
was imaged in one of ``batches`` experimental batches (the technical state). Ground truth:

- biological factors ``bio`` (``k_bio``): independent, unit-variance Laplace (non-Gaussian, so
  ICA can find their axes); perturbation ``p`` shifts 1 to ``max_moved`` of them by
  ``± effect`` (a sparse effect, the premise of the paper's ICA argument);
- nuisance factors (``k_nuis``): standard Gaussian (or Laplace) within a batch; batch ``b``
  scales them (``exp(strength/2 · N(0, 1))`` per factor), rotates them (``expm`` of a random
  skew-symmetric matrix of size ∝ ``strength``) and shifts them (``strength · N(0, 1)``);
  batch effects never touch the biology;
- observations ``x = g([bio, nuis]) + noise · N(0, I)`` with ``g`` a *rolled* isometric
  embedding (each factor bent onto a circular arc of curvature ``bend``, then an orthonormal
  map into ``d_x`` dimensions, as ``science.data``'s ``rolled`` process): locally an exact
  isometry, globally curved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

from nearid_core.config import MAX_SEED, _check_int, _check_real, _require
from nearid_core.science.data import orthonormal_columns, sample_sources

__all__ = ["Screen", "ScreenConfig", "embed_factors", "make_screen"]

# Independent random streams of one seed: changing e.g. the noise keeps the factors.
_DESIGN, _BIO, _NUIS, _EMBED, _NOISE = range(5)
NUISANCE_LAWS = ("gaussian", "laplace")


@dataclass(frozen=True)
class ScreenConfig:
    """Settings of the synthetic screen (frozen: a cache key, saved beside results).

    perturbations : perturbed conditions G (labels 1..G; label 0 is the control).
    batches : experimental batches (technical states).
    wells : wells per (batch, condition); rows n = batches * (G + 1) * wells.
    k_bio, k_nuis : biological (Laplace) and nuisance factors.
    d_x : observation dimension, at least 2 * (k_bio + k_nuis) (two per bent factor).
    effect : shift of a moved biological factor, in its standard deviations.
    max_moved : each perturbation moves between 1 and this many biological factors.
    strength : batch-effect strength (0: no batch effects).
    bend : curvature of the rolled embedding (0: a linear isometry). 0.1 keeps ~97% of the
        variance in the k_bio + k_nuis leading principal components; at 0.25 FastICA often
        stopped without converging and recovered the factors less well.
    noise : standard deviation of the observation noise per dimension.
    nuisance : law of the nuisance factors within a batch, "gaussian" or "laplace".
    seed : seed of everything random in the screen.
    """

    perturbations: int = 6
    batches: int = 6
    wells: int = 40
    k_bio: int = 8
    k_nuis: int = 8
    d_x: int = 64
    effect: float = 1.0
    max_moved: int = 2
    strength: float = 1.0
    bend: float = 0.1
    noise: float = 0.1
    nuisance: str = "gaussian"
    seed: int = 0

    def __post_init__(self) -> None:
        c = "ScreenConfig"
        _check_int(c, "perturbations", self.perturbations, 1, 100)
        _check_int(c, "batches", self.batches, 2, 100)
        _check_int(c, "wells", self.wells, 2, 100_000)
        _check_int(c, "k_bio", self.k_bio, 1, 256)
        _check_int(c, "k_nuis", self.k_nuis, 0, 256)
        _check_int(c, "d_x", self.d_x, 2, 8192)
        need = 2 * (self.k_bio + self.k_nuis)
        _require(self.d_x >= need, c, "d_x", f">= 2 * (k_bio + k_nuis) = {need}", self.d_x)
        _check_real(c, "effect", self.effect, 0.0, 20.0)
        _check_int(c, "max_moved", self.max_moved, 1, self.k_bio)
        _check_real(c, "strength", self.strength, 0.0, 10.0)
        _check_real(c, "bend", self.bend, 0.0, 2.0)
        _check_real(c, "noise", self.noise, 0.0, 10.0)
        _require(self.nuisance in NUISANCE_LAWS, c, "nuisance", f"one of {NUISANCE_LAWS}",
                 self.nuisance)
        _check_int(c, "seed", self.seed, 0, MAX_SEED)

    @property
    def n(self) -> int:
        """Rows (wells) of the screen."""
        return self.batches * (self.perturbations + 1) * self.wells


@dataclass(frozen=True, eq=False)
class Screen:
    """One sampled screen; rows are ordered by batch, then condition, then well.

    X : (n, d_x) observations; batch : (n,) batch of each well (0..B-1); label : (n,)
    condition (0 = control, 1..G perturbation); bio : (n, k_bio) biological factors, the
    perturbation shift included; nuis : (n, k_nuis) nuisance factors after the batch effects;
    effects : (G, k_bio) the true shift of each perturbation (row p-1 for label p).
    """

    config: ScreenConfig
    X: np.ndarray
    batch: np.ndarray
    label: np.ndarray
    bio: np.ndarray
    nuis: np.ndarray
    effects: np.ndarray

    def moved(self, p: int) -> list[int]:
        """The biological factors perturbation ``p`` (1..G) moves."""
        return np.flatnonzero(self.effects[p - 1]).tolist()


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _effects(cfg: ScreenConfig, rng: np.random.Generator) -> np.ndarray:
    """(G, k_bio) sparse shifts: 1..max_moved factors per perturbation, random signs."""
    out = np.zeros((cfg.perturbations, cfg.k_bio))
    for p in range(cfg.perturbations):
        moved = rng.choice(cfg.k_bio, int(rng.integers(1, cfg.max_moved + 1)), replace=False)
        out[p, moved] = cfg.effect * rng.choice([-1.0, 1.0], moved.size)
    return out


def _batch_maps(cfg: ScreenConfig, rng: np.random.Generator):
    """Per-batch scales (B, k), rotations (B, k, k) and shifts (B, k) of the nuisance."""
    b, k, s = cfg.batches, cfg.k_nuis, cfg.strength
    scales = np.exp(0.5 * s * rng.standard_normal((b, k)))
    raw = rng.standard_normal((b, k, k))
    skew = (raw - raw.transpose(0, 2, 1)) / math.sqrt(2.0 * max(k, 1))
    rotations = np.stack([expm(s * a) for a in skew])  # orthogonal: expm of skew-symmetric
    shifts = s * rng.standard_normal((b, k))
    return scales, rotations, shifts


def embed_factors(u: np.ndarray, q: np.ndarray, bend: float) -> np.ndarray:
    """The rolled isometric embedding ``(n, k) -> (n, d_x)``.

    Parameters
    ----------
    u : (n, k) factors; q : (d_x, 2k) orthonormal columns; bend : curvature c >= 0.

    Returns
    -------
    x : (n, d_x): each factor ``t`` becomes the arc point ``(sin(ct)/c, (1 - cos(ct))/c)``
    (``(t, 0)`` when c = 0), and the 2k arc coordinates are mapped by ``q``.

    Notes
    -----
    The Jacobian has orthonormal columns everywhere (a local isometry); the map is injective
    while every ``|c t| < π``, which the default factors respect with overwhelming probability.
    """
    if bend > 0:
        arc = np.stack([np.sin(bend * u) / bend, (1 - np.cos(bend * u)) / bend], axis=-1)
    else:
        arc = np.stack([u, np.zeros_like(u)], axis=-1)
    return arc.reshape(u.shape[0], -1) @ q.T  # (n, 2k) -> (n, d_x)


def make_screen(cfg: ScreenConfig) -> Screen:
    """Sample the screen described by ``cfg`` (deterministic per seed).

    Returns
    -------
    Screen with X (n, d_x), batch (n,), label (n,), bio (n, k_bio), nuis (n, k_nuis),
    effects (G, k_bio); n = batches * (perturbations + 1) * wells.

    Notes
    -----
    A balanced design: every batch holds every condition equally often, so batch and
    biology are independent by construction; only the nuisance carries batch effects.
    """
    design = _rng(cfg.seed, _DESIGN)
    effects = _effects(cfg, design)  # (G, k_bio)
    scales, rotations, shifts = _batch_maps(cfg, design)
    per_batch = (cfg.perturbations + 1) * cfg.wells
    batch = np.repeat(np.arange(cfg.batches), per_batch)  # (n,)
    label = np.tile(np.repeat(np.arange(cfg.perturbations + 1), cfg.wells), cfg.batches)
    shift = np.vstack([np.zeros((1, cfg.k_bio)), effects])[label]  # (n, k_bio)
    bio = sample_sources("laplace", cfg.n, cfg.k_bio, rng=_rng(cfg.seed, _BIO)) + shift
    base = sample_sources(cfg.nuisance, cfg.n, cfg.k_nuis, rng=_rng(cfg.seed, _NUIS))
    base = base * scales[batch]  # (n, k_nuis)
    nuis = np.einsum("nij,nj->ni", rotations[batch], base) + shifts[batch]  # (n, k_nuis)
    u = np.hstack([bio, nuis])  # (n, k_bio + k_nuis)
    q = orthonormal_columns(_rng(cfg.seed, _EMBED), cfg.d_x, 2 * u.shape[1])
    x = embed_factors(u, q, cfg.bend)
    if cfg.noise > 0:
        x = x + cfg.noise * _rng(cfg.seed, _NOISE).standard_normal(x.shape)
    return Screen(cfg, x, batch, label, bio, nuis, effects)
