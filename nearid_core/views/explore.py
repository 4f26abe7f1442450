"""Model-based views for the app: data previews, B(z) maps and decoded traversals.

These need the data generator or a stored model's weights (torch), unlike ``results``,
which only reads numbers back from the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from nearid_core.config import DataConfig
from nearid_core.runs.store import RunStore
from nearid_core.science.data import make_data
from nearid_core.science.kernels import axis_sweeps
from nearid_core.science.lipschitz import decoder_bilipschitz, generator_bilipschitz
from nearid_core.science.models import EnsembleAE
from nearid_core.science.projection import pca
from nearid_core.views.results import SweepView

PREVIEW_POINTS = 2000


@dataclass(frozen=True)
class DataPreview:
    """A sample of a data-generating process.

    u : (m, d_u) factors; pca : (m, 3) PCA scores of x; explained : (3,) variance shares;
    b : (m,) the generator's own B(u); images : (k, H, W) sample images (square data) or None.
    """

    cfg: DataConfig
    u: np.ndarray
    pca: np.ndarray
    explained: np.ndarray
    b: np.ndarray
    images: np.ndarray | None


def data_preview(cfg: DataConfig, *, max_points: int = PREVIEW_POINTS,
                 n_images: int = 16) -> DataPreview:
    """Sample at most ``max_points`` points of ``cfg`` and measure its generator.

    Notes
    -----
    B(u) is estimated at the sampled points only; 1 means the generator is a local
    isometry there (``rolled`` and ``linear`` are exact isometries, ``mlp`` is not one).
    """
    small = dataclasses.replace(cfg, n=max(64, min(cfg.n, max_points)))
    ds = make_data(small, holdout=0.2)
    scores, explained = pca(ds.x, 3)  # (m, 3)
    b = generator_bilipschitz(ds.generator, ds.u).b[0]  # (m,)
    images = None
    if cfg.kind == "square":
        s = cfg.image_size
        images = ds.x[:n_images].reshape(-1, s, s)
    return DataPreview(cfg, ds.u, scores, explained, b, images)


def load_model(store: RunStore, view: SweepView, index: int) -> EnsembleAE:
    """Model ``index`` of a sweep, rebuilt from its stored weights (a one-member ensemble)."""
    m = view.model(index)
    cfg = view.config
    model = EnsembleAE(cfg.model, cfg.data, [m.leak], [m.seed])
    model.load_member_state(0, store.load_state_dict(m.run_id))
    return model.eval()


@dataclass(frozen=True)
class BMap:
    """B(z) of a decoder over a grid of the latent plane.

    xs : (r,), ys : (r,) grid coordinates; b : (r, r) with b[i, j] at (xs[j], ys[i]);
    points : (n, 2) the held-out latents the grid covers.
    """

    xs: np.ndarray
    ys: np.ndarray
    b: np.ndarray
    points: np.ndarray


def b_map(store: RunStore, view: SweepView, index: int, *, resolution: int = 40,
          margin: float = 0.1) -> BMap:
    """B(z) over the box of a 2-D model's held-out latents (plus ``margin`` on each side).

    Notes
    -----
    Off the data (the box corners) the decoder was never trained, so B there says nothing
    about the identifiability of this model; only the region under the points matters.
    """
    m = view.model(index)
    if m.latents is None or m.latents.shape[1] != 2:
        raise ValueError("the B(z) map needs a model with 2-D latents (d_z = 2)")
    pts = m.latents[np.isfinite(m.latents).all(axis=1)]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = margin * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)  # (r, r) each
    grid = np.column_stack([gx.ravel(), gy.ravel()])  # (r*r, 2)
    b = decoder_bilipschitz(load_model(store, view, index), grid).b[0]
    return BMap(xs, ys, b.reshape(resolution, resolution), pts)


@dataclass(frozen=True)
class Traversals:
    """Decoded images along each latent axis, before and after ICA.

    before : (d_z, steps, H, W) moving one raw latent coordinate; after : (k, steps, H, W)
    moving one ICA source; values : (steps,) the quantile levels used.
    """

    before: np.ndarray
    after: np.ndarray | None
    values: np.ndarray


def _decode(model: EnsembleAE, z: np.ndarray, size: int) -> np.ndarray:
    with torch.no_grad():
        x = model.decode(torch.tensor(z[None], dtype=torch.float32))[0]  # (B, d_x)
    return x.double().numpy().reshape(-1, size, size)


def traversals(store: RunStore, view: SweepView, index: int, *, steps: int = 7) -> Traversals:
    """Decode latent traversals of a model trained on ``square`` images.

    Each axis is moved from its 5% to its 95% quantile over the held-out latents, the
    other coordinates held at their medians. After ICA the same is done with the sources
    ``s`` and mapped back with ``z = mean + s @ mixing.T``.
    """
    cfg = view.config.data
    if cfg.kind != "square":
        raise ValueError("traversals are drawn for image data (kind='square') only")
    m = view.model(index)
    if m.latents is None:
        raise ValueError(f"model #{index} has no saved latents")
    model, size = load_model(store, view, index), cfg.image_size
    q = np.linspace(0.05, 0.95, steps)
    z = m.latents[np.isfinite(m.latents).all(axis=1)]
    sweeps = axis_sweeps(z, q)  # (d_z, steps, d_z)
    before = np.stack([_decode(model, s, size) for s in sweeps])
    after = None
    if m.ica_latents is not None and m.ica_mixing is not None:
        s_all = m.ica_latents[np.isfinite(m.ica_latents).all(axis=1)]
        src = axis_sweeps(s_all, q)  # (k, steps, k)
        zs = m.ica_mean + src @ m.ica_mixing.T  # (k, steps, d_z)
        after = np.stack([_decode(model, s, size) for s in zs])
    return Traversals(before, after, q)
