"""Kernels of the batch-effect study: the four embedding post-processings it compares and
the numbers it reads off them.

Post-processings (PAPER.md §5, Tables 3–4), all fitted on training rows only:
- **Base**: the embedding as is;
- **PCA**: ``sklearn.decomposition.PCA(whiten=True)``: identity covariance on the fit rows;
- **PCA + ICA**: nearid's seeded FastICA (``science.ica.fit_ica``, scikit-learn's FastICA
  with restarts and a convergence record) on the whitened rows;
- **PCA + Rand**: the whitened rows times a seeded Haar-random orthogonal matrix, the control
  that is as white as PCA + ICA but rotated at random.
Numbers: Hoyer sparsity and the top-quarter share of a per-feature effect, and the held-out
AUROC of a logistic-regression probe (scikit-learn's ``LogisticRegression``, ``roc_auc_score``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nearid_core.science.data import orthonormal_columns
from nearid_core.science.ica import IcaResult, fit_ica

__all__ = ["CONDITIONS", "CONDITION_LABELS", "PostProcessing", "fit_postprocessing",
           "heldout_auroc", "hoyer_sparsity", "standardised_effect", "top_share"]

CONDITIONS = ("base", "pca", "pca_ica", "pca_rand")
CONDITION_LABELS = {"base": "Base", "pca": "PCA", "pca_ica": "PCA + ICA",
                    "pca_rand": "PCA + Rand"}


def hoyer_sparsity(v) -> float:
    """Hoyer (2004) sparsity ``(√n − ‖v‖₁/‖v‖₂) / (√n − 1)`` of a vector.

    Parameters
    ----------
    v : array-like of shape (n,), n >= 2, not all zero.

    Returns
    -------
    float in [0, 1]: 1 for a one-hot vector, 0 for a vector of equal magnitudes.

    Notes
    -----
    Scale and sign invariant; says how concentrated the entries are, not which ones.
    """
    v = np.abs(np.asarray(v, dtype=np.float64)).ravel()
    if v.size < 2:
        raise ValueError(f"v needs at least 2 entries for Hoyer sparsity, got {v.size}")
    l2 = float(np.linalg.norm(v))
    if not math.isfinite(l2) or l2 == 0.0:
        raise ValueError(f"v must be finite and not all zero, got norm {l2}")
    root = math.sqrt(v.size)
    return float((root - v.sum() / l2) / (root - 1.0))


def top_share(effect_per_feature, q: float = 0.25) -> float:
    """Share of the total squared effect held by the top ``q`` of features.

    Parameters
    ----------
    effect_per_feature : array-like of shape (n,), e.g. standardised mean differences.
    q : share of features kept, in (0, 1]; the top ``ceil(q * n)`` features by squared effect.

    Returns
    -------
    float in [ceil(q n)/n, 1] (at least the share a flat effect gives): ``Σ_top e² / Σ e²``.

    Notes
    -----
    PAPER.md §5's "share of biological signal in the top 25% of features"; the digest does
    not define it further, and the paper's Base value (0.163 < 0.25) shows its definition
    differs from this one, so the numbers need not be comparable.
    """
    sq = np.square(np.asarray(effect_per_feature, dtype=np.float64)).ravel()
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q must be in (0, 1], got {q}")
    total = float(sq.sum())
    if sq.size == 0 or not math.isfinite(total) or total == 0.0:
        raise ValueError(f"the effect must be finite and not all zero (sum of squares {total})")
    k = math.ceil(q * sq.size)
    return float(np.sort(sq)[::-1][:k].sum() / total)


def standardised_effect(Z: np.ndarray, label: np.ndarray, p: int) -> np.ndarray:
    """Per-feature ``(mean of label p − mean of controls) / std of controls``: (n, d) -> (d,).

    Notes
    -----
    Controls are label 0; the std uses ddof=1. Computed on whatever rows are passed (the
    study passes training batches only).
    """
    ctrl, pert = Z[label == 0], Z[label == p]
    return (pert.mean(axis=0) - ctrl.mean(axis=0)) / ctrl.std(axis=0, ddof=1)


def heldout_auroc(train_X, train_y, test_X, test_y, *, seed: int, l1_ratio: float = 1.0,
                  C: float = 0.1) -> float:
    """AUROC on test rows of a logistic-regression probe fitted on train rows.

    Parameters
    ----------
    train_X : (n_train, d); train_y : (n_train,) two classes (the larger label is positive).
    test_X : (n_test, d); test_y : (n_test,) the same two classes.
    seed : ``random_state`` of the solver (liblinear shuffles coordinates).
    l1_ratio : 1 = L1 penalty (a sparse probe, the default), 0 = L2.
    C : inverse penalty strength (scikit-learn's convention: the loss is summed over rows).

    Returns
    -------
    float: ``roc_auc_score`` of the probe's decision values on the test rows.

    Notes
    -----
    Features are standardised with training statistics first. An L2 penalty is invariant
    under rotations, so on whitened features an L2 probe scores PCA, PCA + ICA and PCA + Rand
    almost alike (only the per-feature standardisation of the probe's rows differs); the L1
    probe rewards features that carry the signal on their own. 1 for separable classes,
    about 0.5 (within sampling error) when both classes share one law.
    """
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    classes = np.unique(train_y)
    if classes.size != 2 or not np.array_equal(np.unique(test_y), classes):
        raise ValueError(f"train and test need the same two classes, got "
                         f"{classes.tolist()} and {np.unique(test_y).tolist()}")
    probe = make_pipeline(StandardScaler(), LogisticRegression(
        C=C, l1_ratio=l1_ratio, solver="liblinear", random_state=seed))
    probe.fit(np.asarray(train_X, dtype=np.float64), train_y)
    scores = probe.decision_function(np.asarray(test_X, dtype=np.float64))  # (n_test,)
    return float(roc_auc_score(test_y == classes[1], scores))


@dataclass(frozen=True, eq=False)
class PostProcessing:
    """The fitted post-processings: ``transform`` maps rows to each condition's features.

    pca : the fitted whitening PCA (k components); ica : the FastICA fit on whitened rows;
    rotation : (k, k) the Haar-random orthogonal matrix of PCA + Rand.
    """

    pca: PCA
    ica: IcaResult
    rotation: np.ndarray

    def transform(self, Z: np.ndarray) -> dict[str, np.ndarray]:
        """Rows (n, d) -> {condition: (n, d) for Base, (n, k) for the others}."""
        white = self.pca.transform(Z)  # (n, k)
        return {"base": np.asarray(Z, dtype=np.float64), "pca": white,
                "pca_ica": self.ica.transform(white), "pca_rand": white @ self.rotation}

    def summary(self) -> dict:
        """JSON-able record: components, variance kept, and ICA convergence."""
        return {"components": int(self.pca.n_components_),
                "variance_kept": float(self.pca.explained_variance_ratio_.sum()),
                **self.ica.summary()}


def fit_postprocessing(train_Z: np.ndarray, *, n_components: int, seed: int,
                       ) -> PostProcessing:
    """Fit PCA whitening, FastICA and the random rotation on training rows only.

    Parameters
    ----------
    train_Z : (n_train, d) embedding of the training rows; n_components : k <= d.
    seed : seeds FastICA's restarts and the random rotation (independent streams).

    Returns
    -------
    PostProcessing; apply it to any rows (e.g. held-out batches) with ``transform``.

    Notes
    -----
    Whitened training rows have identity covariance (ddof=1); PCA + Rand equals PCA up to
    an orthogonal map by construction. ICA's convergence is in ``summary()``; a failed
    convergence also warns (``ConvergenceWarning``).
    """
    pca = PCA(n_components=n_components, whiten=True, svd_solver="full").fit(train_Z)
    white = pca.transform(train_Z)  # (n_train, k)
    ica = fit_ica(white, seed=seed)
    rotation = orthonormal_columns(np.random.default_rng([seed, 1]), n_components, n_components)
    return PostProcessing(pca, ica, rotation)
