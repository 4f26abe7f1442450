"""Per-embedding work of the Compare study, done once: PCA, ICA, coordinate views, diameters.

Each embedding gets one PCA (fitted on the main split's fit rows) that serves everything
that needs principal components: the common subspace of a pair of different widths, the
number of components ICA runs on and the input of ICA itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nearid_core.science.ica import IcaResult, fit_ica
from nearid_core.studies._compare_config import CompareConfig
from nearid_core.studies._compare_kernels import Side, diameter_of, make_side

__all__ = ["Prepared", "View", "fit_ica_on", "ica_count", "prepare"]

_RANK_RTOL = 1e-12  # eigenvalues below this share of the largest count as zero variance


@dataclass(frozen=True, eq=False)
class View:
    """An affine view ``x -> x @ matrix + offset`` of raw rows (matrix None: the identity)."""

    matrix: np.ndarray | None
    offset: np.ndarray | None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return X if self.matrix is None else X @ self.matrix + self.offset


@dataclass(eq=False)
class Prepared:
    """One embedding with its PCA and ICA fitted on the main split's fit rows.

    X : (n, d) raw rows; mean : (d,) fit mean; basis : (d, d) principal axes, by decreasing
    variance; variance : (d,) their variances; ica_k : components ICA runs on; ica_text :
    how ica_k was chosen; ica : the FastICA fit (None when it could not run); ica_view :
    raw rows -> ICA sources; sources : (n, ica_k) ICA sources of every row (or None).
    """

    name: str
    X: np.ndarray
    mean: np.ndarray
    basis: np.ndarray
    variance: np.ndarray
    ica_k: int
    ica_text: str
    ica: IcaResult | None = None
    ica_view: View | None = None
    sources: np.ndarray | None = None
    ica_error: str = ""
    _views: dict = field(default_factory=dict)
    _diameters: dict = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.X.shape[1]

    def pcs(self, k: int) -> View:
        """Raw rows -> scores on the top-k principal axes (centred by the fit mean)."""
        if k not in self._views:
            V = self.basis[:, :k]  # (d, k)
            self._views[k] = View(V, -self.mean @ V)
        return self._views[k]

    def coords(self, key) -> np.ndarray:
        """Rows of a view: "full" (raw), "ica" (sources) or an int k (top-k PC scores)."""
        if key == "full":
            return self.X
        if key == "ica":
            return self.sources
        if ("coords", key) not in self._views:
            self._views[("coords", key)] = self.pcs(key)(self.X)  # (n, k)
        return self._views[("coords", key)]

    def diameter(self, key, ev: np.ndarray, config: CompareConfig) -> tuple[float, bool]:
        """Diameter of a view's main-split eval rows (cached): ``(value, exact)``."""
        if key not in self._diameters:
            self._diameters[key] = diameter_of(
                self.coords(key)[ev], max_rows=config.max_rows_diameter, seed=config.seed)
        return self._diameters[key]


def _pca(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes (d, d) and variances (d,) from the centred fit Gram, largest first."""
    w, V = np.linalg.eigh(gram)
    w, V = np.clip(w[::-1], 0.0, None), V[:, ::-1]
    signs = np.sign(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])])
    return V * np.where(signs == 0, 1.0, signs), w  # largest loading positive: stable


def ica_count(variance: np.ndarray, n_rows: int, config: CompareConfig) -> tuple[int, str]:
    """Number of principal components ICA runs on, and a sentence saying why.

    The variance rule (or ``ica_components``) is capped by the width, the numerical rank
    and ``n_rows // 2`` (FastICA needs twice as many rows as components).
    """
    rank = int((variance > _RANK_RTOL * variance[0]).sum()) if variance[0] > 0 else 0
    if config.ica_components is not None:
        k, text = config.ica_components, f"ica_components = {config.ica_components}"
    else:
        share = np.cumsum(variance) / variance.sum()
        need = min(int(np.searchsorted(share, config.ica_variance - 1e-12)) + 1, len(variance))
        k = min(need, config.max_pcs)
        text = f"{need} reach {config.ica_variance:.0%} of the variance"
        text += f", capped by max_pcs = {config.max_pcs}" if need > config.max_pcs else ""
    capped = max(1, min(k, len(variance), rank, n_rows // 2))
    if capped < k:
        text += f"; capped at {capped} (width, rank or half the {n_rows} ICA rows)"
    return capped, text


def _ica_rows(fit: np.ndarray, config: CompareConfig) -> np.ndarray:
    if fit.size <= config.ica_max_rows:
        return fit
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 3]))
    return np.sort(rng.choice(fit, size=config.ica_max_rows, replace=False))


def fit_ica_on(prep: Prepared, fit: np.ndarray, config: CompareConfig) -> None:
    """FastICA on the stated PCs (raw coordinates when it keeps them all, as ``align``).

    Not thread-safe: ``fit_ica`` reads convergence from ``warnings.catch_warnings``, so two
    concurrent fits could swap their records. Call it from one thread at a time.
    """
    raw = prep.ica_k == prep.width
    view = View(None, None) if raw else prep.pcs(prep.ica_k)
    Z = view(prep.X)  # (n, k)
    try:
        ica = fit_ica(Z[_ica_rows(fit, config)], seed=config.seed,
                      max_iter=config.ica_max_iter, restarts=config.ica_restarts)
    except ValueError as exc:  # e.g. a constant column: ICA cannot whiten it
        prep.ica_error = str(exc)
        return
    E = np.eye(prep.width) if raw else view.matrix  # (d, k)
    e = np.zeros(prep.ica_k) if raw else view.offset
    prep.ica, prep.sources = ica, ica.transform(Z)
    prep.ica_view = View(E @ ica.unmixing.T, (e - ica.mean) @ ica.unmixing.T)


def prepare(name: str, X: np.ndarray, fit: np.ndarray, ev: np.ndarray,
            config: CompareConfig) -> tuple[Prepared, Side]:
    """PCA of X (n, d) on the main split and ICA's component count; its main-split Side.

    The PCA comes from the Side's fit Gram, which the main split's maps reuse. ICA itself
    is ``fit_ica_on``, run afterwards.
    """
    side = make_side(X, fit, ev, gram=True)
    basis, variance = _pca(side.gram)
    k, text = ica_count(variance, min(fit.size, config.ica_max_rows), config)
    prep = Prepared(name=name, X=X, mean=side.mean, basis=basis, variance=variance,
                    ica_k=k, ica_text=text)
    return prep, side
