"""Maps between two representations of the same inputs, and their normalised l2 errors.

PAPER.md section 3, "l2 alignment error": split the rows 50/50 into fit and eval, fit the best
map ``h`` of a group on the fit rows, report ``mean_i ||A_i - h(B_i)||_2 / diam(A_eval)`` on
the eval rows. Groups, large to small: linear (affine) > rigid (orthogonal + translation) >
signed permutation (+ translation); "ica" is FastICA on each side, then a signed permutation.

Shapes: ``A`` is the reference (n, d_a), ``B`` the candidate (n, d_b). When the widths differ,
``A`` is zero-padded to ``d_t = max(d_a, d_b)`` columns, an isometric embedding that keeps its
diameter, and every map goes from R^d_b to R^d_t. A B-column that no group member can map onto
A (extra dims of a wider B under perm/rigid) is therefore compared with zero and counts as error;
A-columns left unmatched by a narrower B are predicted by their fit mean.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import lstsq, orthogonal_procrustes

from nearid_core.science.groups import GROUPS
from nearid_core.science.ica import IcaResult, fit_ica
from nearid_core.science.kernels import (
    check_pair,
    check_rows,
    correlation_matrix,
    diameter,
    signed_matching,
    split_fit_eval,
)

__all__ = [
    "GROUPS", "Alignment", "align", "alignment_errors", "check_rows", "correlation_matrix",
    "diameter", "ica_efficiency", "pairwise_errors", "signed_matching", "split_fit_eval",
]


@dataclass(frozen=True, eq=False)
class Alignment:
    """A fitted map ``h(B) = B @ matrix + offset`` and its normalised l2 error.

    Attributes
    ----------
    group : str
        One of ``GROUPS``.
    error : float
        ``mean_i ||T_i - h(B_i)||_2 / diam(T_eval)`` over eval rows; ``T`` is ``A`` (or
        ``ICA(A)`` for group "ica"), zero-padded to ``matrix.shape[1]`` columns.
    matrix : ndarray of shape (d_b, d_t)
        Linear part; ``d_t = max(d_ref, d_b)``, its first ``d_ref`` columns are the reference's.
    offset : ndarray of shape (d_t,)
        Translation (fit mean of the target minus the mapped fit mean of B).
    diameter : float
        ``diam`` of the target's eval rows, the normaliser.
    n_fit, n_eval : int
        Rows used to fit the map and to score it.
    d_ref : int
        Width of the target before padding (d_a, or ICA(A)'s components).
    target : str
        ``"A"``, or ``"ICA(A)"`` when ``apply`` lands in the sources of the reference's ICA.
    seed : int
        Seed of the split (and of FastICA).
    permutation : ndarray of int of shape (d_b,) or None
        Signed-permutation groups: target column of each B (or ICA(B)) column.
    signs : ndarray of shape (d_b,) or None
        Signed-permutation groups: +1/-1 sign applied to each B (or ICA(B)) column.
    ica_a, ica_b : IcaResult or None
        The two FastICA fits (group "ica"), with their convergence records.
    """

    group: str
    error: float
    matrix: np.ndarray
    offset: np.ndarray
    diameter: float
    n_fit: int
    n_eval: int
    d_ref: int
    target: str
    seed: int
    permutation: np.ndarray | None = None
    signs: np.ndarray | None = None
    ica_a: IcaResult | None = None
    ica_b: IcaResult | None = None

    def apply(self, B) -> np.ndarray:
        """Map candidate rows B (n, d_b) to the target space, shape (n, d_t)."""
        B = check_rows(B, name="B")
        if B.shape[1] != self.matrix.shape[0]:
            raise ValueError(f"B must have {self.matrix.shape[0]} columns, got {B.shape}")
        return B @ self.matrix + self.offset  # (n, d_t)


def _pad(X: np.ndarray, width: int) -> np.ndarray:
    return np.hstack([X, np.zeros((X.shape[0], width - X.shape[1]))])  # (n, width)


def _fit_map(group: str, A: np.ndarray, B: np.ndarray):
    """Best map of ``group`` from fit rows B (n, d_b) to A (n, d_t), centred by fit means.

    Returns (matrix (d_b, d_t), offset (d_t,), permutation or None, signs or None).
    """
    mean_a, mean_b = A.mean(axis=0), B.mean(axis=0)
    Ac, Bc = A - mean_a, B - mean_b
    d_b, d_t = B.shape[1], A.shape[1]
    permutation = signs = None
    if group == "perm":
        rows, cols, signs = signed_matching(correlation_matrix(Bc, Ac))  # d_b <= d_t: all rows
        matrix = np.zeros((d_b, d_t))
        matrix[rows, cols] = signs
        permutation = cols[np.argsort(rows)]
        signs = signs[np.argsort(rows)]
    elif group == "rigid":
        # Zero-padding B makes R[:d_b] range over all maps with orthonormal rows.
        R, _ = orthogonal_procrustes(_pad(Bc, d_t), Ac)  # (d_t, d_t)
        matrix = R[:d_b]
    else:
        matrix = lstsq(Bc, Ac)[0]  # (d_b, d_t)
    return matrix, mean_a - mean_b @ matrix, permutation, signs


def _alignment(group, target_fit, target_eval, B, fit, ev, seed, **extra) -> Alignment:
    """Fit ``group`` on fit rows, score on eval rows; shared by the raw and ICA paths."""
    d_t = max(target_fit.shape[1], B.shape[1])
    matrix, offset, perm, signs = _fit_map(group, _pad(target_fit, d_t), B[fit])
    diam = diameter(target_eval, seed=seed)
    if diam <= 0:
        raise ValueError("the reference's eval rows all coincide (diameter 0): error undefined")
    residual = _pad(target_eval, d_t) - (B[ev] @ matrix + offset)  # (n_eval, d_t)
    return Alignment(
        group=group, error=float(np.linalg.norm(residual, axis=1).mean() / diam),
        matrix=matrix, offset=offset, diameter=diam, n_fit=len(fit), n_eval=len(ev),
        d_ref=target_fit.shape[1], target="A", seed=seed, permutation=perm, signs=signs,
        **extra,
    )


def align(A, B, *, group: str, seed: int = 0, ica: tuple | None = None) -> Alignment:
    """Fit the best map of ``group`` from B to A on fit rows; its l2 error on eval rows.

    Parameters
    ----------
    A : array-like of shape (n_samples, d_a)
        Reference representation (or ground-truth factors, for structural identifiability).
    B : array-like of shape (n_samples, d_b)
        Candidate representation of the same inputs, row for row.
    group : {"perm", "rigid", "linear", "ica"}
        Signed permutation (Hungarian on |corr|), orthogonal Procrustes (no scaling),
        least-squares affine map, or FastICA on each side followed by a signed permutation.
    seed : int, default=0
        Seed of the 50/50 split and of both FastICA fits.
    ica : tuple of two IcaResult, optional
        Already fitted (ICA(A fit rows), ICA(B fit rows)) for the same seed, to avoid refitting.

    Returns
    -------
    Alignment

    Notes
    -----
    An out-of-sample mean error relative to the reference's diameter: 0 means B equals A up
    to the group on these inputs. It is not the sup-norm epsilon of the paper's definition
    (a mean, on finite data), and "ica" is normalised by diam(ICA(A)), not diam(A).
    """
    A, B = check_pair(A, B, names=("A", "B"))
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    fit, ev = split_fit_eval(A.shape[0], seed=seed)
    if group != "ica":
        return _alignment(group, A[fit], A[ev], B, fit, ev, seed)
    ica_a, ica_b = ica if ica is not None else (
        fit_ica(A[fit], seed=seed), fit_ica(B[fit], seed=seed))
    result = _alignment(
        "perm", ica_a.sources, ica_a.transform(A[ev]), ica_b.transform(B), fit, ev, seed,
        ica_a=ica_a, ica_b=ica_b,
    )
    # Compose the unmixing of B with the signed permutation so that apply() takes raw B rows.
    matrix = ica_b.unmixing.T @ result.matrix  # (d_b, d_t)
    offset = result.offset - ica_b.mean @ matrix
    return replace(result, group="ica", target="ICA(A)", matrix=matrix, offset=offset)


def ica_efficiency(perm: float, ica: float, rigid: float, *, atol: float = 1e-12) -> float:
    """Share of the perm-to-rigid error gap that ICA closes: ``(perm - ica) / (perm - rigid)``.

    Parameters
    ----------
    perm, ica, rigid : float
        Normalised l2 errors under the three groups.
    atol : float, default=1e-12
        Gaps with ``|perm - rigid| <= atol * max(1, |perm|)`` give NaN.

    Returns
    -------
    float
        Not clipped: negative when ICA is worse than raw axes, above 1 when it beats rigid.

    Notes
    -----
    NaN when perm and rigid coincide (B is already axis-aligned: there is no gap to close) or
    an input is not finite. The ICA error is on a different normaliser (diam of ICA(A)).
    """
    gap = perm - rigid
    if not np.all(np.isfinite([perm, ica, rigid])) or abs(gap) <= atol * max(1.0, abs(perm)):
        return float("nan")
    return float((perm - ica) / gap)


def alignment_errors(A, B, *, seed: int = 0, ica: tuple | None = None) -> dict:
    """All four normalised l2 errors of B against A, and the ICA efficiency.

    Parameters
    ----------
    A : array-like of shape (n_samples, d_a)
    B : array-like of shape (n_samples, d_b)
    seed : int, default=0
        Split and FastICA seed, shared by all groups.
    ica : tuple of two IcaResult, optional
        Already fitted (ICA(A fit rows), ICA(B fit rows)) for the same seed, to avoid
        refitting (``fit_ica(X[fit], seed=seed)`` with ``fit`` from ``split_fit_eval``).

    Returns
    -------
    dict
        ``perm``, ``rigid``, ``linear``, ``ica``, ``ica_efficiency`` (floats),
        ``ica_converged`` (bool: both FastICA fits converged) and ``ica_restarts_disagree``
        (bool: either fit's restarts ended at different unmixings, see ``ica.fit_ica``).

    Notes
    -----
    On the same split, perm >= rigid >= linear up to sampling noise of the eval half (the
    groups are nested, and each map is fitted on the fit half, so the order is not exact).
    """
    A, B = check_pair(A, B, names=("A", "B"))
    fit, _ = split_fit_eval(A.shape[0], seed=seed)
    icas = ica if ica is not None else (fit_ica(A[fit], seed=seed), fit_ica(B[fit], seed=seed))
    out = {g: align(A, B, group=g, seed=seed, ica=icas).error for g in GROUPS}
    out["ica_efficiency"] = ica_efficiency(out["perm"], out["ica"], out["rigid"])
    out["ica_converged"] = bool(icas[0].converged and icas[1].converged)
    out["ica_restarts_disagree"] = bool(icas[0].disagree or icas[1].disagree)
    return out


def pairwise_errors(reps, *, seed: int = 0) -> list[dict]:
    """Alignment errors for all unordered pairs ``i < j`` of representations (one per seed).

    Parameters
    ----------
    reps : list of array-like, each of shape (n_samples, d_k)
        Representations of the same inputs, e.g. one per training seed.
    seed : int, default=0
        Split and FastICA seed, shared by all pairs.

    Returns
    -------
    list of dict
        ``alignment_errors(reps[i], reps[j])`` with keys ``i`` and ``j`` added, reps[i] as
        the reference; ``len(reps) * (len(reps) - 1) / 2`` entries.

    Notes
    -----
    Statistical identifiability: how far two runs are from each other up to each group; it
    says nothing about whether either run recovers the ground truth.
    """
    reps = [check_rows(r, name=f"reps[{k}]") for k, r in enumerate(reps)]
    if len(reps) < 2:
        raise ValueError(f"reps must hold at least 2 representations, got {len(reps)}")
    sizes = {r.shape[0] for r in reps}
    if len(sizes) != 1:
        raise ValueError(f"reps must all have the same number of rows, got {[r.shape for r in reps]}")
    fit, _ = split_fit_eval(reps[0].shape[0], seed=seed)
    icas = [fit_ica(r[fit], seed=seed) for r in reps]  # one fit per representation
    return [
        {"i": i, "j": j, **alignment_errors(reps[i], reps[j], seed=seed, ica=(icas[i], icas[j]))}
        for i in range(len(reps)) for j in range(i + 1, len(reps))
    ]
