"""Array kernels shared by alignment and metrics: validation, split, correlation, matching,
diameter. Pure NumPy/SciPy float64, no state.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

__all__ = [
    "axis_sweeps", "check_pair", "check_rows", "correlation_matrix", "diameter", "signed_matching",
    "split_fit_eval",
]

_BLOCK_BYTES = 16 * 2**20  # memory of one block of pairwise distances in diameter()
_PRUNE_FROM = 256  # diameter(): below this many rows all pairs cost less than pruning


def check_rows(X, *, name: str) -> np.ndarray:
    """Validate one representation and return it as float64.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_dims)
    name : str
        Argument name used in error messages.

    Returns
    -------
    ndarray of shape (n_samples, n_dims), float64

    Notes
    -----
    Guarantees a non-empty, finite 2-D array; says nothing about rank or scale.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_samples, n_dims), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must be finite: it contains {np.sum(~np.isfinite(X))} NaN/inf")
    return X


def check_pair(X, Y, *, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Validate two representations of the same inputs.

    Parameters
    ----------
    X : array-like of shape (n_samples, d_x)
    Y : array-like of shape (n_samples, d_y)
    names : tuple of two str
        Argument names used in error messages.

    Returns
    -------
    X, Y : ndarrays of float64, shapes (n_samples, d_x) and (n_samples, d_y)

    Notes
    -----
    ``check_rows`` on both plus equal row counts; it cannot check that rows are the same
    inputs in the same order.
    """
    X, Y = check_rows(X, name=names[0]), check_rows(Y, name=names[1])
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must hold the same inputs (same number of rows): "
            f"{names[0]} has shape {X.shape}, {names[1]} has shape {Y.shape}"
        )
    return X, Y


def correlation_matrix(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Pearson correlations between the columns of two arrays.

    Parameters
    ----------
    X : ndarray of shape (n_samples, d_x)
    Y : ndarray of shape (n_samples, d_y)

    Returns
    -------
    ndarray of shape (d_x, d_y), in [-1, 1]

    Notes
    -----
    Measures linear association only. A constant column has no defined correlation and
    gets 0 (it predicts nothing).
    """
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    sx, sy = np.linalg.norm(Xc, axis=0), np.linalg.norm(Yc, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (Xc.T @ Yc) / np.outer(sx, sy)  # (d_x, d_y)
    return np.clip(np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0)


def signed_matching(corr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one matching of rows to columns maximising the total ``|corr|`` (Hungarian).

    Parameters
    ----------
    corr : ndarray of shape (d_rows, d_cols)

    Returns
    -------
    rows, cols : ndarrays of int, shape (min(d_rows, d_cols),)
        Matched pairs, sorted by row.
    signs : ndarray of shape (min(d_rows, d_cols),)
        Sign of each matched correlation (+1 for 0).

    Notes
    -----
    Optimal for the sum of |corr|, which is not the same as the least l2 error of the
    resulting signed permutation.
    """
    rows, cols = linear_sum_assignment(-np.abs(corr))
    signs = np.where(corr[rows, cols] < 0, -1.0, 1.0)
    return rows, cols, signs


def split_fit_eval(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random 50/50 split of ``range(n)`` into sorted fit and eval indices.

    Parameters
    ----------
    n : int
        Number of rows, at least 4 (two per half).
    seed : int, default=0
        Seed of ``np.random.default_rng``.

    Returns
    -------
    fit_idx, eval_idx : ndarray of int, shapes (n // 2,) and (n - n // 2,)

    Notes
    -----
    Deterministic given (n, seed); disjoint and covering. Says nothing about representativeness.
    """
    if int(n) != n or n < 4:
        raise ValueError(f"n must be an integer >= 4 to split rows into fit/eval halves, got {n}")
    n = int(n)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])


def _max_distance(X: np.ndarray) -> float:
    """Exact largest pairwise distance, computed in row blocks of bounded memory."""
    n = X.shape[0]
    rows = max(1, _BLOCK_BYTES // (8 * n))
    best = 0.0
    for start in range(0, n - 1, rows):
        best = max(best, float(cdist(X[start : start + rows], X[start:]).max()))  # (b, n-start)
    return best


def _sweep_lower_bound(X: np.ndarray) -> float:
    """A pair of far points found by repeated farthest-point sweeps: a diameter lower bound."""
    i = int(np.argmax(np.linalg.norm(X - X.mean(axis=0), axis=1)))
    best = 0.0
    for _ in range(3):
        dist = np.linalg.norm(X - X[i], axis=1)
        i = int(np.argmax(dist))
        best = max(best, float(dist[i]))
    return best


def diameter(X, *, max_rows: int = 5000, seed: int = 0) -> float:
    """Largest pairwise Euclidean distance between the rows of ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_dims)
    max_rows : int, default=5000
        Largest number of rows compared all-pairs (time grows as its square; memory is
        bounded by blocks of 16 MB whatever its value).
    seed : int, default=0
        Seed of the subsample used only in the rare inexact case below.

    Returns
    -------
    float

    Notes
    -----
    Rows that cannot be an end of a diameter (distance to the centroid below
    ``lower_bound - max_radius``, the lower bound from farthest-point sweeps) are pruned
    first, exactly: for n <= ``max_rows`` the result is bit for bit the all-pairs maximum
    (the pair that attains it is always kept, and each distance is computed alike), at a
    fraction of its cost (the rim of a cloud of points is a small share of it). Only if more
    than ``max_rows`` candidates remain is a seeded subsample of them used, and the result
    is then a lower bound (never below the farthest-point-sweep bound).
    """
    X = check_rows(X, name="X")
    if X.shape[0] <= _PRUNE_FROM:
        return _max_distance(X)
    radius = np.linalg.norm(X - X.mean(axis=0), axis=1)
    lower = _sweep_lower_bound(X)
    slack = 1e-12 * max(lower, 1.0)  # keep rows sitting exactly on the bound despite rounding
    candidates = X[radius >= lower - radius.max() - slack]
    if candidates.shape[0] < 2:  # cannot happen with exact arithmetic; stay exact anyway
        candidates = X
    if X.shape[0] <= max_rows:
        return _max_distance(candidates)
    if candidates.shape[0] > max_rows:
        pick = np.random.default_rng(seed).choice(candidates.shape[0], max_rows, replace=False)
        candidates = candidates[pick]
    return max(lower, _max_distance(candidates))


def axis_sweeps(coords: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Latent traversals: the median of ``coords`` with one axis at a time moved over its
    quantiles.

    Parameters
    ----------
    coords : ndarray of shape (n, k)
    q : ndarray of shape (steps,)
        Quantile levels in [0, 1].

    Returns
    -------
    ndarray of shape (k, steps, k)
        ``out[a, s]`` is the median point with axis ``a`` at its ``q[s]`` quantile.
    """
    centre = np.median(coords, axis=0)  # (k,)
    levels = np.quantile(coords, q, axis=0)  # (steps, k)
    k = coords.shape[1]
    out = np.repeat(np.repeat(centre[None, None], len(q), axis=1), k, axis=0)
    for a in range(k):
        out[a, :, a] = levels[:, a]
    return out
