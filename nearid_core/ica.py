"""FastICA wrapper that records convergence instead of hiding it.

Whitening to unit variance followed by FastICA (logcosh contrast) is the post-processing of
the paper's Theorems 2 and 3: a representation known up to a linear map becomes known up to a
signed permutation, provided the underlying factors are independent and non-Gaussian.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import FastICA
from sklearn.exceptions import ConvergenceWarning

__all__ = ["IcaResult", "fit_ica"]

# A column whose spread is below this share of the largest spread is treated as constant.
_CONSTANT_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class IcaResult:
    """A fitted FastICA unmixing and the sources of the rows it was fitted on.

    Attributes
    ----------
    sources : ndarray of shape (n_samples, n_components)
        Unit-variance independent components of the fitted rows.
    unmixing : ndarray of shape (n_components, n_features)
        Whitening and rotation in one matrix (sklearn's ``components_``).
    mixing : ndarray of shape (n_features, n_components)
        Pseudo-inverse of ``unmixing`` (sklearn's ``mixing_``).
    mean : ndarray of shape (n_features,)
        Column means of the fitted rows, removed before unmixing.
    n_iter : int
        FastICA iterations used.
    converged : bool
        False when FastICA stopped at ``max_iter`` without reaching ``tol``.
    message : str
        Human-readable convergence status, suitable for the UI.
    seed : int
        The ``random_state`` FastICA was given.
    """

    sources: np.ndarray
    unmixing: np.ndarray
    mixing: np.ndarray
    mean: np.ndarray
    n_iter: int
    converged: bool
    message: str
    seed: int

    def transform(self, Z: np.ndarray) -> np.ndarray:
        """Apply the fitted unmixing to new rows.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            ``(Z - mean) @ unmixing.T``, exactly what FastICA.transform returns.
        """
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"Z must have shape (n, {self.mean.shape[0]}) to match the fitted ICA, "
                f"got {Z.shape}"
            )
        return (Z - self.mean) @ self.unmixing.T  # (n, k)


def _check_input(Z: np.ndarray, n_components: int | None) -> int:
    """Reject inputs FastICA would whiten into garbage; return the number of components."""
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (n_samples, n_features), got shape {Z.shape}")
    n, d = Z.shape
    if not np.all(np.isfinite(Z)):
        raise ValueError("Z must be finite: it contains NaN or inf")
    if n < 2 * d:
        raise ValueError(
            f"Z needs at least 2 * n_features rows for ICA (n >= {2 * d}), got n = {n}"
        )
    spread = Z.max(axis=0) - Z.min(axis=0)
    constant = np.flatnonzero(spread <= _CONSTANT_RTOL * max(float(spread.max()), 1e-300))
    if constant.size:
        raise ValueError(f"Z has constant columns {constant.tolist()}: ICA cannot whiten them")
    k = d if n_components is None else int(n_components)
    if not 1 <= k <= d:
        raise ValueError(f"n_components must be in [1, {d}] (n_features), got {n_components}")
    singular = np.linalg.svd(Z - Z.mean(axis=0), compute_uv=False)
    if singular[k - 1] <= 1e-10 * singular[0]:
        raise ValueError(
            f"Z has rank below n_components = {k} (singular values {singular.round(6).tolist()}): "
            "pass a smaller n_components"
        )
    return k


def fit_ica(
    Z: np.ndarray,
    *,
    seed: int,
    max_iter: int = 1000,
    tol: float = 1e-4,
    n_components: int | None = None,
) -> IcaResult:
    """Fit FastICA with unit-variance whitening and report whether it converged.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Rows to fit on; needs ``n_samples >= 2 * n_features`` and no constant column.
    seed : int
        ``random_state`` of FastICA (initial rotation); required, no global RNG.
    max_iter : int, default=1000
        FastICA iteration cap.
    tol : float, default=1e-4
        FastICA convergence tolerance.
    n_components : int or None, default=None
        Number of sources; all features when None.

    Returns
    -------
    IcaResult
        Sources, unmixing, mixing, mean and the convergence record.

    Notes
    -----
    Recovers independent non-Gaussian sources up to order and sign (and of unit variance);
    it cannot separate Gaussian sources (any rotation of them is equally independent), and a
    converged fit says nothing about whether the input really had independent factors. A
    non-converged fit is never hidden: a ``ConvergenceWarning`` is re-emitted with a clear
    message and ``converged`` is False.
    """
    Z = np.asarray(Z, dtype=np.float64)
    k = _check_input(Z, n_components)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if tol <= 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    model = FastICA(
        n_components=k, whiten="unit-variance", fun="logcosh",
        max_iter=max_iter, tol=tol, random_state=seed,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sources = model.fit_transform(Z)  # (n, k)
    not_converged = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:
        if w not in not_converged:
            warnings.warn(w.message, w.category, stacklevel=2)
    converged = not not_converged
    if converged:
        message = f"FastICA converged in {model.n_iter_} iterations (tol={tol})."
    else:
        message = (
            f"FastICA did not converge: {model.n_iter_} of max_iter={max_iter} iterations "
            f"used without reaching tol={tol}; the sources may be a poor unmixing. "
            "Raise max_iter, check the input has non-Gaussian structure, or try another seed."
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    return IcaResult(
        sources=sources, unmixing=model.components_.copy(), mixing=model.mixing_.copy(),
        mean=model.mean_.copy(), n_iter=int(model.n_iter_), converged=bool(converged),
        message=message, seed=int(seed),
    )
