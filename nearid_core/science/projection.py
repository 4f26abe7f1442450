"""2-D and 3-D projections of point clouds for display: PCA (default) and UMAP.

UMAP is imported inside ``project`` only: its first fit compiles numba code (30-60 s), so
nothing else in nearid pays for it, and the app runs it in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_POINTS = 5000
METHODS = ("pca", "umap")


@dataclass(frozen=True)
class Projection:
    """Low-dimensional coordinates of a subsample of the rows of X.

    coords : (m, k) float64; idx : (m,) rows of X that were kept (sorted);
    method : "pca" or "umap"; explained : (k,) share of variance per PCA axis (NaN for UMAP).
    """

    coords: np.ndarray
    idx: np.ndarray
    method: str
    explained: np.ndarray


def subsample(n: int, max_points: int, *, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of ``n`` rows (all rows when n is small)."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def pca(X: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Principal-component scores of X.

    Parameters
    ----------
    X : (n, d) array.
    k : number of components; columns beyond ``d`` are zero.

    Returns
    -------
    scores : (n, k) float64 coordinates on the top-k principal axes (signs fixed so that
        each axis' largest loading is positive, for stable pictures).
    explained : (k,) share of the total variance on each axis (0 for padded axes).
    """
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)  # vt: (min(n, d), d)
    r = min(k, vt.shape[0])
    signs = np.sign(vt[np.arange(r), np.abs(vt[:r]).argmax(axis=1)])
    signs[signs == 0] = 1.0
    scores = np.zeros((X.shape[0], k))
    scores[:, :r] = Xc @ (vt[:r].T * signs)  # (n, r)
    var = s**2
    explained = np.zeros(k)
    total = var.sum()
    if total > 0:
        explained[:r] = var[:r] / total
    return scores, explained


def project(X: np.ndarray, *, method: str = "pca", max_points: int = MAX_POINTS,
            seed: int = 0, n_neighbors: int = 15) -> Projection:
    """Project the rows of X to 2-D for a scatter plot.

    Parameters
    ----------
    X : (n, d) array (non-finite rows are dropped).
    method : "pca" or "umap".
    max_points : at most this many rows are projected (a seeded random subsample).
    seed : seed of the subsample and of UMAP.
    n_neighbors : UMAP's neighbourhood size.

    Returns
    -------
    Projection

    Notes
    -----
    A picture, not a measurement: UMAP distorts distances and densities, and PCA keeps only
    the two directions of largest variance.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS} (got {method!r})")
    X = np.asarray(X, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(X).all(axis=1))
    idx = finite[subsample(finite.size, max_points, seed=seed)]
    if idx.size < 3:
        raise ValueError(f"need at least 3 finite rows to project, got {idx.size}")
    Xs = X[idx]
    if method == "pca" or Xs.shape[1] < 2:  # UMAP of 1-D data is the data
        coords, explained = pca(Xs, 2)
        return Projection(coords, idx, "pca", explained)
    import umap  # lazy: numba compilation on first use

    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, idx.size - 1),
                        random_state=seed, n_jobs=1)
    coords = reducer.fit_transform(Xs).astype(np.float64)
    return Projection(coords, idx, "umap", np.full(2, np.nan))
