"""FastICA wrapper: seeded restarts, the best contrast kept, convergence recorded.

Whitening to unit variance followed by FastICA (logcosh contrast) is the post-processing of
the paper's Theorems 2 and 3: a representation known up to a linear map becomes known up to a
signed permutation, provided the underlying factors are independent and non-Gaussian.

FastICA is a fixed-point iteration and can stop at a poor fixed point (for two Laplace
sources, the 45-degree mixture is one). ``fit_ica`` therefore runs a few seeded restarts,
keeps the one with the largest negentropy contrast, and records whether the restarts agree.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import FastICA
from sklearn.exceptions import ConvergenceWarning

from nearid_core.science.ica_kernels import (
    ResultCache,
    amari_index,
    logcosh_contrast,
    restart_seeds,
)

__all__ = [
    "DISAGREE_AMARI", "ICA_RESTART_TEXT", "RESTARTS", "IcaRestart", "IcaResult", "amari_index",
    "fit_ica", "logcosh_contrast", "restart_seeds",
]

# A column whose spread is below this share of the largest spread is treated as constant.
_CONSTANT_RTOL = 1e-12
RESTARTS = 4  # seeded FastICA starts per fit; the best contrast is kept
# Restarts "disagree" when a converged one ends further than this Amari index from the kept
# unmixing. In 2-D the index of a rotation by t is |tan t|, so 0.05 is about 3 degrees; fits
# that reach the same optimum (tol=1e-4) differ by well under 0.01.
DISAGREE_AMARI = 0.05
ICA_RESTART_TEXT = (
    f"FastICA is run from {RESTARTS} seeded starts and the solution with the largest "
    "negentropy contrast Σ_k (E[log cosh y_k] − E[log cosh ν])² (ν standard normal) is "
    "kept. Restarts disagree when a converged one ends more than "
    f"{DISAGREE_AMARI} (Amari index, ≈ {np.degrees(np.arctan(DISAGREE_AMARI)):.0f}° in 2-D) "
    "from the kept unmixing: FastICA has several fixed points there, and the kept one is "
    "only the best of those found, not certified global."
)


@dataclass(frozen=True)
class IcaRestart:
    """One FastICA start: its seed, contrast, convergence and distance to the kept unmixing."""

    seed: int
    contrast: float
    converged: bool
    n_iter: int
    amari_to_kept: float


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
        FastICA iterations of the kept restart.
    converged : bool
        False when the kept restart stopped at ``max_iter`` without reaching ``tol`` (only
        kept when no restart converged).
    message : str
        Human-readable convergence and restart status, suitable for the UI.
    seed : int
        The seed ``fit_ica`` was given (restart seeds derive from it).
    contrast : float
        ``logcosh_contrast(sources)`` of the kept restart.
    restarts : tuple of IcaRestart
        Every start, in order; the kept one has ``amari_to_kept == 0``.
    disagree : bool
        True when a converged restart ended more than ``DISAGREE_AMARI`` from the kept one.
    """

    sources: np.ndarray
    unmixing: np.ndarray
    mixing: np.ndarray
    mean: np.ndarray
    n_iter: int
    converged: bool
    message: str
    seed: int
    contrast: float = float("nan")
    restarts: tuple[IcaRestart, ...] = ()
    disagree: bool = False

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

    def summary(self) -> dict:
        """JSON-able convergence and restart record (plain floats, ints, bools, str)."""
        others = [r.amari_to_kept for r in self.restarts if r.converged]
        return {
            "ica_converged": bool(self.converged), "ica_n_iter": int(self.n_iter),
            "ica_message": self.message, "ica_contrast": float(self.contrast),
            "ica_restarts": len(self.restarts),
            "ica_restarts_converged": sum(r.converged for r in self.restarts),
            "ica_restart_amari_max": float(max(others)) if others else float("nan"),
            "ica_restarts_disagree": bool(self.disagree),
        }


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


def _one_start(Z: np.ndarray, k: int, seed: int, max_iter: int, tol: float):
    """One FastICA fit; returns (model, sources (n, k), converged)."""
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
            warnings.warn(w.message, w.category, stacklevel=3)
    return model, sources, not not_converged


def _message(kept: IcaRestart, restarts: list[IcaRestart], disagree: bool,
             max_iter: int, tol: float) -> str:
    n_ok = sum(r.converged for r in restarts)
    if kept.converged:
        text = f"FastICA converged in {kept.n_iter} iterations (tol={tol})"
    else:
        text = (f"FastICA did not converge: {kept.n_iter} of max_iter={max_iter} iterations "
                f"used without reaching tol={tol}; the sources may be a poor unmixing. "
                "Raise max_iter, check the input has non-Gaussian structure, or try another "
                "seed")
    text += f"; best contrast of {len(restarts)} restarts ({n_ok} converged)"
    if disagree:
        worst = max(r.amari_to_kept for r in restarts if r.converged)
        text += (f"; restarts disagree (Amari index up to {worst:.3f} > {DISAGREE_AMARI}): "
                 "FastICA has several fixed points on these latents")
    return text + "."


def fit_ica(
    Z: np.ndarray,
    *,
    seed: int,
    max_iter: int = 1000,
    tol: float = 1e-4,
    n_components: int | None = None,
    restarts: int = RESTARTS,
) -> IcaResult:
    """Fit FastICA from several seeded starts; keep the best contrast; report convergence.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Rows to fit on; needs ``n_samples >= 2 * n_features`` and no constant column.
    seed : int
        Any integer >= 0; each restart's ``random_state`` derives from it
        (``restart_seeds``). Required, no global RNG.
    max_iter : int, default=1000
        FastICA iteration cap per restart.
    tol : float, default=1e-4
        FastICA convergence tolerance.
    n_components : int or None, default=None
        Number of sources; all features when None.
    restarts : int, default=RESTARTS
        Number of starts; 1 is plain FastICA.

    Returns
    -------
    IcaResult
        Sources, unmixing, mixing, mean, the kept restart's convergence and every restart.

    Notes
    -----
    Kept: the converged restart with the largest ``logcosh_contrast`` (the first on ties),
    or the largest contrast overall when none converged. Deterministic: the same input and
    seed give the same result bit for bit. Recovers independent non-Gaussian sources up to
    order and sign (and of unit variance); it cannot separate Gaussian sources (any rotation
    of them is equally independent), and the best of a few starts is not a certified global
    optimum. A non-converged result is never hidden: a ``ConvergenceWarning`` is emitted and
    ``converged`` is False.
    """
    Z = np.asarray(Z, dtype=np.float64)
    k = _check_input(Z, n_components)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if tol <= 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    if int(restarts) != restarts or restarts < 1:
        raise ValueError(f"restarts must be an integer >= 1, got {restarts}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed}")
    args = (int(seed), int(max_iter), float(tol), k, int(restarts))
    key = _cache_key(Z, args)
    result = _CACHE.get(key)
    if result is None:
        result = _fit_restarts(Z, *args)
        _CACHE.put(key, result, Z.nbytes)
    if not result.converged:
        warnings.warn(result.message, ConvergenceWarning, stacklevel=2)
    return result


def _fit_restarts(Z: np.ndarray, seed: int, max_iter: int, tol: float, k: int,
                  restarts: int) -> IcaResult:
    """Run every restart and keep the best converged contrast (arrays made read-only)."""
    fits = [(s, *_one_start(Z, k, s, max_iter, tol)) for s in restart_seeds(seed, restarts)]
    contrasts = np.array([logcosh_contrast(src) for _, _, src, _ in fits])
    ok = np.array([conv for *_, conv in fits])
    best = int(np.argmax(np.where(ok, contrasts, -np.inf) if ok.any() else contrasts))
    model, sources = fits[best][1], fits[best][2]
    record = [IcaRestart(seed=s, contrast=float(c), converged=bool(conv),
                         n_iter=int(m.n_iter_), amari_to_kept=amari_index(model.components_,
                                                                          m.components_))
              for (s, m, _, conv), c in zip(fits, contrasts, strict=True)]
    disagree = any(r.converged and r.amari_to_kept > DISAGREE_AMARI for r in record)
    arrays = [sources, model.components_.copy(), model.mixing_.copy(), model.mean_.copy()]
    for a in arrays:
        a.setflags(write=False)  # results may be shared through the cache
    return IcaResult(
        *arrays, n_iter=int(model.n_iter_), converged=record[best].converged,
        message=_message(record[best], record, disagree, max_iter, tol), seed=seed,
        contrast=float(contrasts[best]), restarts=tuple(record), disagree=disagree,
    )


def _cache_key(Z: np.ndarray, args: tuple) -> tuple:
    digest = hashlib.blake2b(np.ascontiguousarray(Z).tobytes(), digest_size=16).hexdigest()
    return (Z.shape, digest, *args)


_CACHE = ResultCache()  # process-wide; see ResultCache
