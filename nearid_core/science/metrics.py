"""Structural identifiability metrics: MCC, weak MCC, and (re-exported) InfoMEC and DCI.

Each metric compares latents ``z`` (n, d_z) with ground-truth factors ``u`` (n, d_u) of the
same inputs. Pure kernels live in ``kernels``, ``infomec`` and ``dci``; this module is the
public face (PAPER.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from nearid_core.science.dci import DciResult, dci
from nearid_core.science.infomec import InfoMecResult, bin_factors, infoe_authors, infomec
from nearid_core.science.kernels import (
    check_pair,
    correlation_matrix,
    signed_matching,
    split_fit_eval,
)

__all__ = [
    "DciResult", "InfoMecResult", "MccResult", "WeakMccResult", "dci",
    "disentanglement_scores", "infoe_authors", "infomec", "mcc", "weak_mcc",
]

_METHODS = ("pearson", "spearman")


@dataclass(frozen=True, eq=False)
class MccResult:
    """Mean correlation coefficient after one-to-one matching of latents to factors.

    Attributes
    ----------
    score : float
        Mean ``|corr|`` over the ``min(d_z, d_u)`` matched pairs, on the scoring rows.
    pairs : ndarray of int, shape (min(d_z, d_u), 2)
        ``(latent index, factor index)`` of each matched pair, sorted by factor.
    per_factor : ndarray of shape (d_u,)
        ``|corr|`` of each factor with its matched latent; NaN for an unmatched factor.
    corr : ndarray of shape (d_z, d_u)
        Signed correlations on the scoring rows.
    method : str
        "pearson" or "spearman".
    out_of_sample : bool
        True when matched on fit rows and scored on eval rows.
    """

    score: float
    pairs: np.ndarray
    per_factor: np.ndarray
    corr: np.ndarray
    method: str
    out_of_sample: bool


@dataclass(frozen=True, eq=False)
class WeakMccResult:
    """Mean canonical correlation between z and u (identifiability up to a linear map).

    Attributes
    ----------
    score : float
        Mean of ``canonical``.
    canonical : ndarray of shape (min(d_z, d_u),)
        ``|corr|`` of each pair of canonical projections on the scoring rows (0 for a pair
        beyond the rank of z or u on the fit rows: no such linear combination).
    out_of_sample : bool
        True when CCA was fitted on fit rows and scored on eval rows.
    """

    score: float
    canonical: np.ndarray
    out_of_sample: bool


def _rows(n: int, fit_idx, eval_idx) -> tuple[np.ndarray, np.ndarray, bool]:
    """Fit and scoring rows: the given split, or all rows for both."""
    if (fit_idx is None) != (eval_idx is None):
        raise ValueError("fit_idx and eval_idx must be given together (or both left None)")
    if fit_idx is None:
        return np.arange(n), np.arange(n), False
    out = []
    for name, idx in (("fit_idx", fit_idx), ("eval_idx", eval_idx)):
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size < 3 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"{name} must be a 1-D integer index of >= 3 rows, got {idx!r}")
        if idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"{name} must index rows in [0, {n}), got range "
                             f"[{idx.min()}, {idx.max()}]")
        out.append(idx)
    return out[0], out[1], True


def _ranked(X: np.ndarray, method: str) -> np.ndarray:
    return rankdata(X, axis=0) if method == "spearman" else X


def mcc(z, u, *, method: str = "pearson", fit_idx=None, eval_idx=None) -> MccResult:
    """Mean |correlation| of latents and factors matched one-to-one (Hungarian).

    Parameters
    ----------
    z : array-like of shape (n_samples, d_z)
        Latents.
    u : array-like of shape (n_samples, d_u)
        Ground-truth factors; ``d_z != d_u`` is allowed (``min(d_z, d_u)`` pairs).
    method : {"pearson", "spearman"}, default="pearson"
        Spearman ranks each column (within the fit rows and within the eval rows).
    fit_idx, eval_idx : array-like of int, optional
        Match on ``fit_idx`` rows, score on ``eval_idx`` rows; both None uses all rows twice.

    Returns
    -------
    MccResult

    Notes
    -----
    1 iff each factor is an affine (Pearson) or monotone (Spearman) function of one latent:
    identifiability up to signed permutation and per-axis scaling. Unmatched latents of a
    wider code are ignored, and a high MCC says nothing about dependence between latents.
    """
    z, u = check_pair(z, u, names=("z", "u"))
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    fit, ev, oos = _rows(z.shape[0], fit_idx, eval_idx)
    corr_fit = correlation_matrix(_ranked(z[fit], method), _ranked(u[fit], method))
    rows, cols, _ = signed_matching(corr_fit)  # (latent, factor) pairs
    corr = correlation_matrix(_ranked(z[ev], method), _ranked(u[ev], method))  # (d_z, d_u)
    per_factor = np.full(u.shape[1], np.nan)
    per_factor[cols] = np.abs(corr[rows, cols])
    order = np.argsort(cols)
    return MccResult(
        score=float(np.abs(corr[rows, cols]).mean()),
        pairs=np.column_stack([rows[order], cols[order]]), per_factor=per_factor,
        corr=corr, method=method, out_of_sample=oos,
    )


def weak_mcc(z, u, *, fit_idx=None, eval_idx=None) -> WeakMccResult:
    """Mean canonical correlation of ``z`` and ``u``, out of sample if split.

    Parameters
    ----------
    z : array-like of shape (n_samples, d_z)
    u : array-like of shape (n_samples, d_u)
    fit_idx, eval_idx : array-like of int, optional
        Fit CCA on ``fit_idx`` rows, correlate projections on ``eval_idx`` rows.

    Returns
    -------
    WeakMccResult

    Notes
    -----
    1 iff ``min(d_z, d_u)`` linear combinations of z match those of u exactly: identifiability
    up to an invertible linear map, strictly weaker than MCC. It does not reward
    axis-alignment (any rotation of z scores the same).

    CCA is solved in closed form (``canonical_directions``): the directions scikit-learn's
    ``CCA`` reaches when its NIPALS iterations converge (equal within 1e-7 at ``tol=1e-14``,
    tested), without its iterations, which stop short when two canonical correlations are
    close (seen at 6 factors: "Maximum number of iterations reached").
    """
    z, u = check_pair(z, u, names=("z", "u"))
    fit, ev, oos = _rows(z.shape[0], fit_idx, eval_idx)
    k = min(z.shape[1], u.shape[1])
    (wz, mz), (wu, mu) = canonical_directions(z[fit], u[fit])
    canonical = np.zeros(k)
    r = wz.shape[1]
    if r:
        pz, pu = (z[ev] - mz) @ wz, (u[ev] - mu) @ wu  # (n_eval, r) each
        canonical[:r] = np.abs(np.diag(correlation_matrix(pz, pu)))
    return WeakMccResult(score=float(canonical.mean()), canonical=canonical, out_of_sample=oos)


def canonical_directions(x: np.ndarray, y: np.ndarray):
    """Classical CCA of two blocks of rows: ``((Wx, mean_x), (Wy, mean_y))`` with
    ``(x - mean_x) @ Wx`` and ``(y - mean_y) @ Wy`` the canonical variates, strongest first,
    ``r = min(rank x, rank y)`` columns each.

    Each block is whitened by its thin SVD (directions of singular value below round-off
    are dropped: a constant or collinear column adds no variate), and the SVD of the
    whitened cross-product gives the pairs; the canonical correlations on these rows are
    its singular values.
    """
    mx, my = x.mean(axis=0), y.mean(axis=0)
    (qx, wx), (qy, wy) = _whiten(x - mx), _whiten(y - my)
    r = min(qx.shape[1], qy.shape[1])
    if r == 0:  # a block without variation has no variates
        return (np.zeros((x.shape[1], 0)), mx), (np.zeros((y.shape[1], 0)), my)
    a, _, bt = np.linalg.svd(qx.T @ qy, full_matrices=False)
    return (wx @ a[:, :r], mx), (wy @ bt.T[:, :r], my)


def _whiten(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q, W) with Q = a @ W orthonormal columns, one per direction above round-off."""
    left, s, vt = np.linalg.svd(a, full_matrices=False)
    keep = s > (s[0] if s.size else 0.0) * max(a.shape) * np.finfo(np.float64).eps
    keep &= s > 0
    return left[:, keep], vt[keep].T / s[keep]


def disentanglement_scores(z, u, *, seed: int = 0, authors_infoe: bool = False,
                           authors: bool = False, same_infoe: dict | None = None) -> dict:
    """All structural metrics as flat floats, on one seeded 50/50 split.

    Parameters
    ----------
    z : array-like of shape (n_samples, d_z)
    u : array-like of shape (n_samples, d_u)
    seed : int, default=0
        Seed of the split, InfoMEC's subsample and MI estimator, and DCI's split.
    authors_infoe : bool, default=False
        Also return ``infoe_authors``: InfoE by the InfoMEC authors' protocol
        (``infomec.infoe_authors``), for reading beside the paper's Table 2. About twice the
        cost of the other metrics together on 1,600 rows.
    authors : bool, default=False
        Also return ``infom_authors``, ``infoe_authors`` and ``infoc_authors``: InfoMEC by
        the authors' protocol (``infomec(..., protocol="authors")``), the one read beside
        the paper's Table 2.
    same_infoe : dict, optional
        Scores of latents of which ``z`` is an invertible linear map (ICA of all latents):
        their ``infoe`` (and ``infoe_authors``) are reused instead of refitted, because
        InfoE cannot change under such a map (``infomec.INFOE_ICA_TEXT``).

    Returns
    -------
    dict
        ``mcc``, ``mcc_spearman``, ``weak_mcc`` (out of sample), ``infom``, ``infoe``,
        ``infoc``, ``dci_d``, ``dci_c``, ``dci_i``, and ``infoe_authors`` when asked.

    Notes
    -----
    See each metric: MCC/InfoM/DCI-D reward axis-alignment, weak MCC does not; none proves
    that the factors were independent or that the code generalises beyond these inputs.
    InfoE and weak MCC cannot change under an invertible linear map of z such as ICA
    (``infomec.INFOE_ICA_TEXT``).
    """
    z, u = check_pair(z, u, names=("z", "u"))
    fit, ev = split_fit_eval(z.shape[0], seed=seed)
    reuse = same_infoe or {}
    info = infomec(z, u, seed=seed, infoe=reuse.get("infoe"))
    d = dci(z, u, seed=seed)
    scores = {
        "mcc": mcc(z, u, fit_idx=fit, eval_idx=ev).score,
        "mcc_spearman": mcc(z, u, method="spearman", fit_idx=fit, eval_idx=ev).score,
        "weak_mcc": weak_mcc(z, u, fit_idx=fit, eval_idx=ev).score,
        "infom": info.infom, "infoe": info.infoe, "infoc": info.infoc,
        "dci_d": d.disentanglement, "dci_c": d.completeness, "dci_i": d.informativeness,
    }
    if authors:
        theirs = infomec(z, u, seed=seed, protocol="authors", infoe=reuse.get("infoe_authors"),
                         same_z=info)
        scores |= {"infom_authors": theirs.infom, "infoe_authors": theirs.infoe,
                   "infoc_authors": theirs.infoc}
    elif authors_infoe:
        scores["infoe_authors"] = infoe_authors(z, bin_factors(u, n_bins=info.n_bins))
    return scores
