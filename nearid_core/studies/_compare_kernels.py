"""Array kernels of the Compare study: one split's maps and residuals, and a fast diameter.

The maps are those of ``alignment.align`` (PAPER.md §3: fit-mean centring, Hungarian on
|corr|, orthogonal Procrustes, least squares) written on precomputed fit-row products, so
that one cross product ``B_fit^T A_fit`` serves the perm, rigid and linear maps of both
directions of a pair. Pure NumPy/SciPy float64, no state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, lstsq

from nearid_core.science.kernels import diameter, signed_matching

__all__ = ["Fitted", "Side", "diameter_of", "exact_diameter", "linear", "make_side",
           "perm", "perm_both", "rigid_both"]

_BLOCK_BYTES = 16 * 2**20  # one block of squared distances in exact_diameter
_PAIR_CHUNK = 4096  # candidate pairs re-measured at once
# Cholesky is used when the factor's diagonal spread keeps cond(B^T B) below ~1e10, so the
# normal equations lose at most ~1e-6 relative accuracy; otherwise SVD least squares.
_CHOL_RATIO = 1e-5


@dataclass(frozen=True, eq=False)
class Side:
    """One representation on one fit/eval split, centred by its fit mean.

    fit : (n_fit, d) fit rows minus the fit mean; ev : (n_eval, d) eval rows minus the fit
    mean; mean : (d,) the fit mean; scale : (d,) column norms of ``fit``; gram : (d, d)
    ``fit.T @ fit`` (None when no linear map starts from this side).
    """

    fit: np.ndarray
    ev: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    gram: np.ndarray | None


@dataclass(frozen=True, eq=False)
class Fitted:
    """A fitted map ``h(x) = x @ matrix + offset`` and its eval residual norms.

    norms : (n_eval,) ``||target_i - h(source_i)||``; matrix : (d_source, d_t);
    offset : (d_t,), with ``d_t`` the (zero-padded) target width.
    """

    norms: np.ndarray
    matrix: np.ndarray
    offset: np.ndarray


def make_side(X: np.ndarray, fit: np.ndarray, ev: np.ndarray, *, gram: bool) -> Side:
    """Centre ``X`` (n, d) by the mean of its ``fit`` rows; Gram matrix if asked."""
    Xf = X[fit]  # (n_fit, d), a copy: centred in place
    mean = Xf.mean(axis=0)
    Xf -= mean
    Xe = X[ev]
    Xe -= mean
    return Side(fit=Xf, ev=Xe, mean=mean, scale=np.sqrt(np.einsum("ij,ij->j", Xf, Xf)),
                gram=Xf.T @ Xf if gram else None)


def _row_norms(R: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", R, R))  # (n,) without an (n, d) square


def _pad(X: np.ndarray, width: int) -> np.ndarray:
    if X.shape[-1] == width:
        return X
    pad = [(0, 0)] * (X.ndim - 1) + [(0, width - X.shape[-1])]
    return np.pad(X, pad)


def _correlations(a: Side, b: Side, cross: np.ndarray) -> np.ndarray:
    """Pearson correlations (d_b, d_a) of the fit rows, as ``kernels.correlation_matrix``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cross / np.outer(b.scale, a.scale)  # (d_b, d_a)
    return np.clip(np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0)


def _apply_perm(a: Side, b: Side, rows, cols, signs) -> Fitted:
    """Signed permutation taking b column ``rows[i]`` to target column ``cols[i]``."""
    n, d_t = b.ev.shape[0], max(a.fit.shape[1], b.fit.shape[1])
    matrix = np.zeros((b.fit.shape[1], d_t))
    matrix[rows, cols] = signs
    if cols.size == d_t:  # every target column is hit: one gather, no product needed
        source, sign = np.empty(d_t, dtype=int), np.empty(d_t)
        source[cols], sign[cols] = rows, signs
        mapped = b.ev[:, source]  # (n_eval, d_t)
        mapped *= sign
    else:
        mapped = np.zeros((n, d_t))
        mapped[:, cols] = b.ev[:, rows] * signs
    np.subtract(_pad(a.ev, d_t), mapped, out=mapped)  # the residual, in place
    return Fitted(_row_norms(mapped), matrix, _pad(a.mean, d_t) - b.mean @ matrix)


def perm(a: Side, b: Side, cross: np.ndarray) -> Fitted:
    """Signed permutation from ``b`` to ``a`` (Hungarian on |corr| of the fit rows).

    ``cross`` is ``b.fit.T @ a.fit`` (d_b, d_a). As ``alignment``: a narrower target is
    zero-padded to ``d_t = max(d_a, d_b)``, so every b column is matched.
    """
    d_t = max(a.fit.shape[1], b.fit.shape[1])
    rows, cols, signs = signed_matching(_pad(_correlations(a, b, cross), d_t))
    return _apply_perm(a, b, rows, cols, signs)


def perm_both(a: Side, b: Side, cross: np.ndarray) -> tuple[Fitted, Fitted]:
    """Signed permutations b -> a and a -> b from one Hungarian run (equal widths).

    The a -> b problem is the transposed one; its optimum is the inverse matching, with the
    same signs (ties aside, which continuous data do not have).
    """
    rows, cols, signs = signed_matching(_correlations(a, b, cross))
    return _apply_perm(a, b, rows, cols, signs), _apply_perm(b, a, cols, rows, signs)


def rigid_both(a: Side, b: Side, cross: np.ndarray) -> tuple[Fitted, Fitted]:
    """Orthogonal Procrustes b -> a and a -> b (equal widths), from one SVD and one product.

    ``cross`` is ``b.fit.T @ a.fit`` (d, d). The a -> b map is the transpose R^T, and its
    residuals are ``-(a_i - b_i R) R^T``: the same norms, so one product serves both.
    """
    u, _, vt = np.linalg.svd(cross)
    R = u @ vt  # (d, d), as scipy.linalg.orthogonal_procrustes(b.fit, a.fit)
    norms = _row_norms(a.ev - b.ev @ R)
    return (Fitted(norms, R, a.mean - b.mean @ R),
            Fitted(norms, R.T, b.mean - a.mean @ R.T))


def _solve(b: Side, a: Side, cross: np.ndarray) -> np.ndarray:
    """Least-squares ``argmin_M ||b.fit M - a.fit||``: Cholesky, or SVD when ill-posed."""
    try:
        factor = cho_factor(b.gram, check_finite=False)
        diag = np.abs(np.diag(factor[0]))
        if diag.min() > _CHOL_RATIO * diag.max():
            return cho_solve(factor, cross, check_finite=False)
    except LinAlgError:
        pass
    return lstsq(b.fit, a.fit)[0]


def linear(a: Side, b: Side, cross: np.ndarray) -> Fitted:
    """Least-squares affine map b -> a; ``cross`` is ``b.fit.T @ a.fit`` (d_b, d_a)."""
    M = _solve(b, a, cross)  # (d_b, d_a)
    norms = _row_norms(a.ev - b.ev @ M)
    return Fitted(norms, M, a.mean - b.mean @ M)


def _pair_distances(X: np.ndarray, i: np.ndarray, j: np.ndarray) -> float:
    best = 0.0
    for s in range(0, i.size, _PAIR_CHUNK):
        diff = X[i[s : s + _PAIR_CHUNK]] - X[j[s : s + _PAIR_CHUNK]]  # (chunk, d)
        best = max(best, float(np.linalg.norm(diff, axis=1).max()))
    return best


def exact_diameter(X: np.ndarray) -> float:
    """Largest pairwise distance of the rows of X (n, d), exactly, at matrix-product speed.

    Squared distances come from the Gram matrix in row blocks; every pair within the
    Gram's round-off bound of the running maximum is re-measured by direct differences, so
    the result is the exact maximum (as ``kernels.diameter``'s all-pairs path) up to the
    round-off of one difference norm.
    """
    X = X - X.mean(axis=0)  # (n, d); centring keeps the Gram round-off small
    n, d = X.shape
    sq = np.einsum("ij,ij->i", X, X)  # (n,)
    # |computed - exact| squared distance <= ~4 d eps max ||x||^2 (dot-product bound); x2.
    tol = 8 * (d + 2) * np.finfo(np.float64).eps * float(sq.max())
    rows = max(1, _BLOCK_BYTES // (8 * n))
    best_est, best = -np.inf, 0.0
    for s in range(0, n - 1, rows):
        d2 = sq[s : s + rows, None] + sq[None, s:] - 2 * (X[s : s + rows] @ X[s:].T)  # (b, n-s)
        top = float(d2.max())
        if top < best_est - 2 * tol:
            continue
        best_est = max(best_est, top)
        i, j = np.nonzero(d2 >= best_est - 2 * tol)
        best = max(best, _pair_distances(X, i + s, j + s))
    return best


def diameter_of(X: np.ndarray, *, max_rows: int, seed: int) -> tuple[float, bool]:
    """``(diameter, exact)``: exact up to ``max_rows`` rows, else ``kernels.diameter``'s bound.

    Raises ValueError when the rows all coincide (the normalised error is undefined).
    """
    exact = X.shape[0] <= max_rows
    value = exact_diameter(X) if exact else diameter(X, max_rows=max_rows, seed=seed)
    if not value > 0:
        raise ValueError("the reference's eval rows all coincide (diameter 0): error undefined")
    return value, exact
