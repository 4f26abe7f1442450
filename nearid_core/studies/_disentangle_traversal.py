"""Latent traversals of the shapes autoencoders, before and after ICA, decoded to images.

As ``views.explore.traversals`` does for the sweep's square images: each axis moves from its
5% to its 95% quantile over the held-out codes, the other coordinates held at their medians.
After ICA the axes are the sources, mapped back to latents along the ICA mixing directions
(``z = mean + s @ mixing.T``), then decoded by the same trained decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nearid_core.science.kernels import axis_sweeps

__all__ = ["TraversalGrids", "traversal_grids"]


@dataclass(frozen=True, eq=False)
class TraversalGrids:
    """Decoded images along each axis of the three codes of one model.

    before : (d_z, steps, s, s) moving one raw latent; ica_k : (k, steps, s, s) moving one
    source of the PCA-to-k ICA; ica_all : (d_kept, steps, s, s) moving one source of the ICA
    of the kept latents; values : (steps,) the quantile levels.
    """

    before: np.ndarray
    ica_k: np.ndarray
    ica_all: np.ndarray
    values: np.ndarray


def _decode(model, m: int, z: np.ndarray, size: int) -> np.ndarray:
    """Member m's decoding of latents (..., d_z) into images (..., s, s)."""
    flat = torch.as_tensor(z.reshape(-1, z.shape[-1]), dtype=torch.float32)  # (B, d_z)
    with torch.no_grad():
        x = model.decode(flat.expand(model.n_models, *flat.shape))[m]  # (B, s * s)
    return x.double().numpy().reshape(*z.shape[:-1], size, size)


def traversal_grids(dataset, *, seed_index: int = 0, steps: int = 7) -> TraversalGrids:
    """Traversal image grids of one model of an image data set, before and after ICA.

    Parameters
    ----------
    dataset : DatasetResult of an image data set (``decoder`` and ``image_size`` set).
    seed_index : which of its models (0 <= seed_index < seeds).
    steps : images per axis (>= 2).

    Returns
    -------
    TraversalGrids

    Notes
    -----
    Pictures, not a metric: a disentangled axis changes one factor along its row. Quantiles
    of the held-out codes keep the traversal inside what the decoder was trained on.
    """
    if dataset.decoder is None or dataset.image_size is None:
        raise ValueError(f"traversals are drawn for image data (shapes) only, not "
                         f"{dataset.name!r}")
    if not 0 <= seed_index < len(dataset.models):
        raise ValueError(f"seed_index must be in [0, {len(dataset.models) - 1}], got "
                         f"{seed_index}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    q = np.linspace(0.05, 0.95, steps)
    z = dataset.latents[seed_index]  # (n, d_z)
    scores, size, model = dataset.models[seed_index], dataset.image_size, dataset.decoder
    before = _decode(model, seed_index, axis_sweeps(z, q), size)
    ica = scores.ica_k
    src = axis_sweeps(ica.transform(z), q)  # (k, steps, k)
    after_k = _decode(model, seed_index, ica.mean + src @ ica.mixing.T, size)
    ica, kept = scores.ica_all, scores.kept
    src = axis_sweeps(ica.transform(z[:, kept]), q)  # (d_kept, steps, d_kept)
    full = np.broadcast_to(np.median(z, axis=0), (*src.shape[:2], z.shape[1])).copy()
    full[..., kept] = ica.mean + src @ ica.mixing.T
    after_all = _decode(model, seed_index, full, size)
    return TraversalGrids(before, after_k, after_all, q)
