"""A small Shapes3D analogue: a soft square with position, size and brightness (4 factors).

``data.Generator``'s ``square`` kind has two factors (its position). Here a square with
blurred edges also changes its side and its brightness, so that four factors are visually
distinct, as in the benchmark data sets of the paper's Table 2. Each factor lives in
``t in [-1, 1]`` (optionally on a grid of ``levels`` values, as the benchmarks' discrete
factors) and is reported as ``u = t * unit``, with ``unit`` the norm of the generator's
Jacobian column at the centre of the box: there the generator is a local isometry (its
Jacobian has orthonormal columns).

How far from an isometry elsewhere (``generator_spread`` measures it): the image is
``brightness * (square / ||square||)`` scaled to interior pixels of 1 at the centre, so the
brightness column stays orthogonal to the others and of constant norm; the position and size
columns stay orthogonal to each other but scale like ``brightness / sqrt(side)``. Over the
default box (side 3.5-6.5 px on 16, brightness x0.75-1.25) the per-sample
``B = max(s1, 1/s_d)`` has median 1.2 and maximum about 1.6: near-isometric in the loose
sense, not exactly (``rolled`` is exactly 1). Price of the constant energy: per pixel, a
larger square is dimmer than a smaller one of the same brightness factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nearid_core.config import MAX_SEED, _check_int, _require
from nearid_core.science.lipschitz import generator_bilipschitz

__all__ = ["EDGE_BLUR", "FACTOR_NAMES", "ShapesData", "ShapesGenerator", "ShapesSpec",
           "generator_spread", "make_shapes", "sample_t"]

FACTOR_NAMES = ("position x", "position y", "size", "brightness")
# Shares of the canvas: the centre moves +-2 px and the side is 5 +- 1.5 px on a 16 px
# canvas, so that the largest square at the furthest position, blurred, still fits.
_POSITION, _SIDE, _SIDE_RANGE = 2.0 / 16, 5.0 / 16, 1.5 / 16
_BRIGHTNESS = 0.25  # brightness 1 + t * this: x0.75 to x1.25
# Edges blurred by a Gaussian of this many pixels: sums over pixels of the squared edge
# profile then match their integrals to ~2 exp(-pi^2 tau^2) = 0.4%, so the Jacobian's norms
# do not jump with the sub-pixel position of an edge (a hard pixel-coverage edge: up to 40%).
EDGE_BLUR = 0.8
_SOURCES, _SPLIT = 0, 3  # random streams of one data seed (as data.py numbers them)


@dataclass(frozen=True)
class ShapesSpec:
    """The shapes data set: canvas, sample size, factor discretisation and seed.

    image_size : canvas side s in pixels (observations have s * s values).
    n : samples; levels : 0 for continuous uniform factors, else each factor takes
        ``levels`` equally spaced values (uniformly drawn), like the benchmarks' grids.
    seed : data seed (factors and the train/test split).
    """

    image_size: int = 16
    n: int = 4096
    levels: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        c = "ShapesSpec"
        _check_int(c, "image_size", self.image_size, 12, 64)
        _check_int(c, "n", self.n, 64, 1_000_000)
        _require(self.levels == 0 or (isinstance(self.levels, int) and 2 <= self.levels <= 20),
                 c, "levels", "0 (continuous) or an integer in [2, 20]", self.levels)
        _check_int(c, "seed", self.seed, 0, MAX_SEED)


class ShapesGenerator:
    """Differentiable ``u (..., 4) -> x (..., s * s)``: the square drawn from its factors.

    Attributes
    ----------
    unit : ndarray of shape (4,)
        Jacobian column norms at the centre in ``t`` units; ``u = t * unit``.
    limit : ndarray of shape (4,)
        Largest ``|u_k|`` (``unit``, since ``|t| <= 1``).
    energy : float
        L2 norm of every image at brightness 1 (``||x|| = energy * brightness``).
    """

    def __init__(self, spec: ShapesSpec) -> None:
        self.spec = spec
        s = spec.image_size
        self.centre, self.side0 = s / 2, _SIDE * s
        self.scale_t = np.array([_POSITION * s, _POSITION * s, _SIDE_RANGE * s, _BRIGHTNESS])
        self.unit, self.energy = np.ones(4), 1.0
        zero = torch.zeros(4, dtype=torch.float64)
        self.energy = 1.0 / float(self(zero).max())  # interior pixels 1 at the box's centre
        jac = torch.autograd.functional.jacobian(self, zero)  # (s * s, 4)
        self.unit = torch.linalg.vector_norm(jac, dim=0).numpy()  # (4,)
        self.limit = self.unit.copy()

    def natural(self, u: torch.Tensor) -> torch.Tensor:
        """Factors in drawing units, (..., 4): centre x and y (pixels from the canvas's
        top-left corner), side (pixels), brightness (1 at the centre of the box)."""
        t = u / torch.as_tensor(self.unit, dtype=u.dtype)  # (..., 4) in [-1, 1]
        k = torch.as_tensor(self.scale_t, dtype=u.dtype)
        base = torch.tensor([self.centre, self.centre, self.side0, 1.0], dtype=u.dtype)
        return base + k * t

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        nat = self.natural(u)  # (..., 4)
        pos, half, bright = nat[..., :2], nat[..., 2] / 2, nat[..., 3]
        centres = torch.arange(self.spec.image_size, dtype=u.dtype) + 0.5  # pixel centres

        def coverage(p: torch.Tensor) -> torch.Tensor:  # (...,) -> (..., s)
            lo, hi = (p - half)[..., None], (p + half)[..., None]
            return torch.special.ndtr((centres - lo) / EDGE_BLUR) - torch.special.ndtr(
                (centres - hi) / EDGE_BLUR)

        img = coverage(pos[..., 1])[..., :, None] * coverage(pos[..., 0])[..., None, :]
        # Constant energy: an image of unit L2 norm times the brightness keeps the brightness
        # column orthogonal to the others (a unit vector's derivative is orthogonal to it).
        norm = torch.linalg.vector_norm(img, dim=(-2, -1), keepdim=True)  # (..., 1, 1)
        return (self.energy * bright[..., None, None] * img / norm).flatten(-2)  # (..., s*s)


@dataclass(frozen=True, eq=False)
class ShapesData:
    """Factors, images and the held-out split (the fields of ``data.Dataset`` it shares).

    u : (n, 4) float64 in isometric units; x : (n, s * s) float32; train_idx, test_idx :
    disjoint sorted index arrays; generator : the map ``u -> x``.
    """

    spec: ShapesSpec
    u: np.ndarray
    x: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    generator: ShapesGenerator

    @property
    def u_test(self) -> np.ndarray:
        return self.u[self.test_idx]

    @property
    def x_test(self) -> np.ndarray:
        return self.x[self.test_idx]


def sample_t(spec: ShapesSpec, rng: np.random.Generator) -> np.ndarray:
    """Factors in ``[-1, 1]``: uniform, or uniform over ``levels`` grid values; (n, 4)."""
    if spec.levels:
        grid = np.linspace(-1.0, 1.0, spec.levels)
        return grid[rng.integers(0, spec.levels, size=(spec.n, 4))]
    return rng.uniform(-1.0, 1.0, size=(spec.n, 4))


def make_shapes(spec: ShapesSpec, *, holdout: float = 0.2) -> ShapesData:
    """Sample the shapes data set (deterministic per ``spec.seed``).

    Parameters
    ----------
    spec : ShapesSpec
    holdout : share of samples held out for evaluation.

    Returns
    -------
    ShapesData with u (n, 4) float64 and x (n, s * s) float32.

    Notes
    -----
    Uniform (or uniform-grid) factors are independent and non-Gaussian, as ICA needs; the
    generator is near-isometric only (module docstring), so Theorem 3 applies loosely.
    """
    gen = ShapesGenerator(spec)
    u = sample_t(spec, np.random.default_rng([spec.seed, _SOURCES])) * gen.unit  # (n, 4)
    with torch.no_grad():
        x = gen(torch.from_numpy(u)).numpy().astype(np.float32)  # (n, s * s)
    order = np.random.default_rng([spec.seed, _SPLIT]).permutation(spec.n)
    n_test = round(spec.n * holdout)
    return ShapesData(spec, u, x, np.sort(order[n_test:]), np.sort(order[:n_test]), gen)


def generator_spread(gen, u: np.ndarray) -> dict[str, float]:
    """How far a data generator is from an isometry at factors ``u`` (n, d_u).

    Parameters
    ----------
    gen : a row-wise map ``(n, d_u) -> (n, d_x)`` of torch tensors (``ShapesGenerator``,
        ``data.Generator``).
    u : (n, d_u) factors.

    Returns
    -------
    dict with ``B_median``, ``B_max`` (``B = max(s1, 1/s_d)`` of the Jacobian, 1 for an
    isometry) and ``distortion_median`` (``s1 / s_d``).

    Notes
    -----
    Estimated at the given points (``lipschitz.generator_bilipschitz``), not certified over
    the factors' whole support.
    """
    res = generator_bilipschitz(gen, np.asarray(u, dtype=np.float64))
    b, dist = res.b[0], res.distortion[0]  # (n,) each
    return {"B_median": float(np.median(b)), "B_max": float(b.max()),
            "distortion_median": float(np.median(dist))}
