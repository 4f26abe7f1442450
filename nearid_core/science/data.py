"""Data-generating processes: ground-truth factors ``u`` and observations ``x = g(u)``.

Every process is deterministic per seed and exposes its generator ``g`` as a differentiable
torch function, so that its own Jacobian (and bi-Lipschitz constant) can be measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from nearid_core.config import UNIFORM_HALF_WIDTH, DataConfig

# Independent random streams of one data seed, so that changing e.g. the noise level does
# not change the factors.
_SOURCES, _EMBED, _NOISE, _SPLIT = range(4)
_BLOCK_VALUES = 1 << 20  # float64 values per block of observations (8 MB)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def orthonormal_columns(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A random (rows, cols) matrix with orthonormal columns (Haar distributed)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.where(np.diag(r) >= 0, 1.0, -1.0)


def sample_sources(kind: str, n: int, d: int, *, rng: np.random.Generator,
                   limit: float = math.inf) -> np.ndarray:
    """Independent unit-variance factors, each kept inside ``[-limit, limit]``.

    Parameters
    ----------
    kind : {"uniform", "laplace", "gaussian"}
    n, d : number of samples and factors.
    rng : numpy Generator.
    limit : values outside are re-drawn (rejection), so the law becomes a truncated one.

    Returns
    -------
    u : ndarray, shape (n, d), float64.

    Notes
    -----
    Gaussian factors are rotation invariant: no method (ICA included) can recover their
    axes; they are the classic counter-example of the paper's Theorem 3.
    """
    draw = {
        "uniform": lambda size: rng.uniform(-UNIFORM_HALF_WIDTH, UNIFORM_HALF_WIDTH, size),
        "laplace": lambda size: rng.laplace(0.0, 1.0 / math.sqrt(2.0), size),
        "gaussian": lambda size: rng.standard_normal(size),
    }[kind]
    u = draw((n, d))
    bad = np.abs(u) > limit
    while bad.any():
        u[bad] = draw(int(bad.sum()))
        bad = np.abs(u) > limit
    return u


class Generator:
    """Differentiable map from factors to observations, ``(n, d_u) -> (n, d_x)``.

    Works on a single sample ``(d_u,)`` too, so it composes with ``torch.func.vmap``.
    """

    def __init__(self, cfg: DataConfig) -> None:
        self.cfg = cfg
        rng = _rng(cfg.seed, _EMBED)
        if cfg.kind == "rolled":
            self.q = torch.from_numpy(orthonormal_columns(rng, cfg.d_x, 2 * cfg.d_u))
        elif cfg.kind in ("linear", "mlp"):
            self.q = torch.from_numpy(orthonormal_columns(rng, cfg.d_x, cfg.d_u))
        if cfg.kind == "mlp":
            self.mix = [torch.from_numpy(_well_conditioned(rng, cfg.d_u)) for _ in range(3)]
        if cfg.kind == "square":
            size, side = cfg.image_size, cfg.square_size
            # Pixels per unit of u: uniform factors keep the square 1 px inside the canvas.
            self.px_per_unit = (size / 2 - 1 - side / 2) / UNIFORM_HALF_WIDTH
            # Moving an edge by d pixels changes ~2*side pixels by d each: this scale makes
            # each Jacobian column unit-norm when the square is pixel-aligned.
            self.scale = 1.0 / (self.px_per_unit * math.sqrt(2 * side))

    @property
    def limit(self) -> float:
        """Largest |u_k| for which the generator is injective (sources are kept inside)."""
        if self.cfg.kind == "rolled":
            return 0.95 * math.pi * self.cfg.radius
        if self.cfg.kind == "square":
            return UNIFORM_HALF_WIDTH
        return math.inf

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        kind = self.cfg.kind
        if kind == "rolled":
            r = self.cfg.radius
            arc = torch.stack([r * torch.sin(u / r), r * (1 - torch.cos(u / r))], dim=-1)
            return arc.flatten(-2) @ self.q.to(u.dtype).T  # (..., 2 d_u) -> (..., d_x)
        if kind == "linear":
            return u @ self.q.to(u.dtype).T
        if kind == "mlp":
            return self._mlp(u)
        return self._square(u)

    def _mlp(self, u: torch.Tensor) -> torch.Tensor:
        h = u
        for k, a in enumerate(self.mix):
            h = h @ a.to(u.dtype).T
            if k < len(self.mix) - 1:
                h = torch.where(h > 0, h, self.cfg.mlp_slope * h)
        return h @ self.q.to(u.dtype).T

    def _square(self, u: torch.Tensor) -> torch.Tensor:
        size, half = self.cfg.image_size, self.cfg.square_size / 2
        pos = size / 2 + self.px_per_unit * u  # (..., 2) pixel coordinates of the centre
        edges = torch.arange(size, dtype=u.dtype)  # left edge of each pixel cell

        def coverage(p: torch.Tensor) -> torch.Tensor:  # (...,) -> (..., size)
            lo = torch.maximum(edges, p[..., None] - half)
            hi = torch.minimum(edges + 1, p[..., None] + half)
            return torch.clamp(hi - lo, 0.0, 1.0)

        cx, cy = coverage(pos[..., 0]), coverage(pos[..., 1])
        img = cy[..., :, None] * cx[..., None, :]  # (..., rows=y, cols=x)
        return self.scale * img.flatten(-2)


def _well_conditioned(rng: np.random.Generator, d: int) -> np.ndarray:
    """Random square matrix with singular values in [0.6, 1.6] (condition number < 3)."""
    u, v = orthonormal_columns(rng, d, d), orthonormal_columns(rng, d, d)
    return (u * rng.uniform(0.6, 1.6, d)) @ v.T


@dataclass(frozen=True)
class Dataset:
    """Factors, observations and the split shared by every model of a sweep.

    u : (n, d_u) float64; x : (n, d_x) float32 (with observation noise; computed in float64,
    stored in the precision the models train in, half the memory);
    train_idx, test_idx : disjoint index arrays; generator : the map ``u -> clean x``.
    """

    cfg: DataConfig
    u: np.ndarray
    x: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    generator: Generator

    @property
    def u_test(self) -> np.ndarray:
        return self.u[self.test_idx]

    @property
    def x_test(self) -> np.ndarray:
        return self.x[self.test_idx]


def make_data(cfg: DataConfig, *, holdout: float = 0.2) -> Dataset:
    """Sample a data set from the process described by ``cfg`` (deterministic per seed).

    Parameters
    ----------
    cfg : DataConfig
    holdout : share of samples held out for evaluation (latents, B(z), alignments).

    Returns
    -------
    Dataset with u (n, d_u) float64, x (n, obs_dim) float32 and a held-out split.

    Notes
    -----
    ``rolled`` and ``linear`` are exact isometries; ``square`` is one only approximately
    (measure it with ``lipschitz.generator_bilipschitz``); ``mlp`` is not one at all.
    """
    gen = Generator(cfg)
    u = sample_sources(cfg.sources, cfg.n, cfg.d_u, rng=_rng(cfg.seed, _SOURCES),
                       limit=gen.limit)
    x = observe(gen, u, noise=cfg.noise, rng=_rng(cfg.seed, _NOISE))
    order = _rng(cfg.seed, _SPLIT).permutation(cfg.n)
    n_test = round(cfg.n * holdout)
    return Dataset(cfg, u, x, np.sort(order[n_test:]), np.sort(order[:n_test]), gen)


def observe(gen: Generator, u: np.ndarray, *, noise: float = 0.0,
            rng: np.random.Generator | None = None) -> np.ndarray:
    """Observations ``g(u) + noise * N(0, 1)`` as float32, computed in float64 row blocks.

    Parameters
    ----------
    gen : Generator; u : (n, d_u) float64 factors.
    noise : standard deviation of the Gaussian noise (needs ``rng`` when > 0).

    Returns
    -------
    x : ndarray, shape (n, obs_dim), float32.

    Notes
    -----
    Each block's float64 temporaries stay under a few tens of MB, so building the data costs
    little more than the float32 result itself (``budget.py`` relies on it). The noise is
    drawn block by block from one stream: the same values as one draw of shape (n, obs_dim).
    """
    n, d_x = u.shape[0], gen.cfg.obs_dim
    x = np.empty((n, d_x), dtype=np.float32)  # (n, d_x)
    rows = max(1, _BLOCK_VALUES // d_x)
    for i in range(0, n, rows):
        with torch.no_grad():
            block = gen(torch.from_numpy(u[i:i + rows])).numpy()  # (rows, d_x) float64
        if noise > 0:
            block = block + noise * rng.standard_normal(block.shape)
        x[i:i + rows] = block
    return x
