"""Familiar similarity indices between two representations of the same inputs.

Linear CKA (Kornblith et al. 2019) and the angular Procrustes shape distance (Williams et al.
2021) are the references people already know; nearid shows them beside the paper's l2 errors
(PAPER.md §3), which they do not replace. Both are symmetric and use no held-out rows: they
are descriptive, not fitted-and-scored. Pure NumPy float64 without state.

Both are computed in feature space (d x d products, never n x n), so 100,000 rows are cheap.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cka_and_angle", "linear_cka", "procrustes_angle"]


def _check(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    for name, Z in (("X", X), ("Y", Y)):
        if Z.ndim != 2 or Z.shape[0] < 2 or Z.shape[1] < 1:
            raise ValueError(f"{name} must be a 2-D array (n_samples >= 2, n_dims >= 1), "
                             f"got shape {Z.shape}")
        if not np.all(np.isfinite(Z)):
            raise ValueError(f"{name} must be finite: it contains NaN or inf")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must hold the same inputs (same number of rows), got "
                         f"{X.shape} and {Y.shape}")
    return X - X.mean(axis=0), Y - Y.mean(axis=0)


def _cka(Xc: np.ndarray, Yc: np.ndarray, cross: np.ndarray) -> float:
    gx = np.linalg.norm(Xc.T @ Xc)  # ||X^T X||_F
    gy = np.linalg.norm(Yc.T @ Yc)
    if gx == 0 or gy == 0:
        return float("nan")
    return float(np.clip(np.linalg.norm(cross) ** 2 / (gx * gy), 0.0, 1.0))


def _angle(Xc: np.ndarray, Yc: np.ndarray, cross: np.ndarray) -> float:
    nx, ny = np.linalg.norm(Xc), np.linalg.norm(Yc)
    if nx == 0 or ny == 0:
        return float("nan")
    # Zero-padding to equal width adds zero rows/columns to X^T Y: same singular values.
    nuclear = np.linalg.svd(cross, compute_uv=False).sum() / (nx * ny)
    return float(np.arccos(np.clip(nuclear, 0.0, 1.0)))


def linear_cka(X, Y) -> float:
    """Linear centred kernel alignment of two representations of the same inputs.

    Parameters
    ----------
    X : array-like of shape (n_samples, d_x)
    Y : array-like of shape (n_samples, d_y)
        Same rows in the same order; the widths may differ.

    Returns
    -------
    float
        ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with column-centred Xc, Yc; in
        [0, 1]. NaN when either input is constant (no shape to compare).

    Notes
    -----
    Invariant to rotations, isotropic scaling and translations of either side, but not to a
    general invertible linear map (it weighs directions by their variance). 1 means the
    Gram matrices agree up to scale; for independent noise it is biased upwards, about
    ``sqrt(d_x d_y) / n`` for isotropic Gaussian inputs (``E||Y^T X||_F^2 = n d_x d_y``,
    ``||X^T X||_F ~ n sqrt(d_x)``), so it is near 0 only when n >> d. It says
    nothing about which map relates X and Y or how large the l2 error of that map is.
    """
    Xc, Yc = _check(X, Y)
    return _cka(Xc, Yc, Yc.T @ Xc)  # (d_y, d_x)


def procrustes_angle(X, Y) -> float:
    """Angular Procrustes shape distance (Williams et al. 2021), in radians.

    Parameters
    ----------
    X : array-like of shape (n_samples, d_x)
    Y : array-like of shape (n_samples, d_y)
        Same rows in the same order; the narrower one is zero-padded to the wider width.

    Returns
    -------
    float
        ``arccos(||Xs^T Ys||_*)`` where Xs, Ys are column-centred and scaled to unit
        Frobenius norm; the argument is clipped to [0, 1], so the angle is in [0, pi/2].
        NaN when either input is constant.

    Notes
    -----
    A metric on shapes up to rotation, reflection, isotropic scaling and translation: 0 iff
    Y is such a transform of X (after padding). Not invariant to a general linear map. For
    independent isotropic noise of width d its cosine is about ``0.85 sqrt(d / n)`` (the
    best rotation fits noise), so it nears pi/2 only when n >> d. It is a distance between
    whole point clouds, not a per-point error like the l2 error.
    """
    Xc, Yc = _check(X, Y)
    return _angle(Xc, Yc, Yc.T @ Xc)


def cka_and_angle(X, Y) -> tuple[float, float]:
    """``(linear_cka(X, Y), procrustes_angle(X, Y))`` from one shared cross product.

    Parameters
    ----------
    X : array-like of shape (n_samples, d_x)
    Y : array-like of shape (n_samples, d_y)

    Returns
    -------
    cka, angle : float
        As ``linear_cka`` and ``procrustes_angle`` (same numbers, computed once).

    Notes
    -----
    Only a cost saving: ``Y^T X`` (d_y x d_x, the n-sized product) is computed once.
    """
    Xc, Yc = _check(X, Y)
    cross = Yc.T @ Xc  # (d_y, d_x)
    return _cka(Xc, Yc, cross), _angle(Xc, Yc, cross)
