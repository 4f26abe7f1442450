"""InfoMEC: modularity, explicitness, compactness of a code (Hsu et al. 2023; PAPER.md §4).

``NMI[i, j] = I(z_j; v_i) / H(v_i)`` between standardised latents ``z_j`` and binned factors
``v_i`` (k-NN estimate of sklearn's ``mutual_info_classif``); InfoM and InfoC are how peaked
each latent's (resp. each factor's) NMI row is, rescaled so that uniform is 0 and one-hot 1;
InfoE is how much a linear classifier on the latents beats knowing nothing.

Two protocols for InfoE (``INFOE_PROTOCOL_TEXT``): nearid's held-out one (the default, used
in every sweep table) and the InfoMEC authors' in-sample one (``protocol="authors"``), to be
read beside the paper's Table 2, whose numbers come from the authors' code.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgWarning
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from nearid_core.science.kernels import check_pair, split_fit_eval
from nearid_core.science.logistic import fit_multinomial
from nearid_core.science.mi import mutual_info_cd_many

__all__ = [
    "INFOE_ICA_TEXT", "INFOE_PROTOCOL_TEXT", "PROTOCOLS", "InfoMecResult", "bin_factors",
    "infoe_authors", "infomec",
]

PROTOCOLS = ("nearid", "authors")
_MAX_ROWS = 2000  # nearid: MI and logistic regression on a seeded subsample of this many rows
_N_NEIGHBORS = 10  # k of the k-NN MI estimator, as in the reference implementation
_ACTIVE_SHARE = 1 / 20  # a latent is active when its range exceeds this share of the largest
_C = 1e4  # near the reference's unpenalised fit (sharp bin edges), but finite if separable
# Exact Newton steps on this tiny problem (d_z features): converges where lbfgs at its
# default tolerance stopped ~0.005 short in InfoE, in 60% of lbfgs's time.
_SOLVER = "newton-cholesky"
# Authors' protocol: their unpenalised fit, solved to its optimum (their lbfgs stops after
# 100 iterations, which on ill-conditioned latents is short of it; see INFOE_PROTOCOL_TEXT).
_AUTHORS_TOL, _AUTHORS_MAX_ITER = 1e-10, 1000
# Both protocols first solve their fit to its optimum with ``logistic.fit_multinomial`` (same
# objective as sklearn's, a fraction of its time); sklearn's call, unchanged, runs only where
# that did not converge (separable or degenerate factors), so those keep today's numbers.
_FAST_LOGISTIC = True
_FAST_TOL, _FAST_MAX_ITER = 1e-10, 100
# Separable classes (no finite optimum): the authors' fit heads for infinity and its value is
# wherever the solver stops. Newton's steps stop where the probabilities saturate (the Hessian
# turns singular) or the objective no longer falls in float64, with a gradient of 1e-10 to
# 1e-4 (about 0.05 at the start); such a fit is kept, within 3e-4 of where scikit-learn's
# solver would stop (tests/core/test_logistic.py). scikit-learn still runs where Newton made
# no such progress (a singular Hessian from the start: collinear latents).
_AUTHORS_STALL = 1e-3

INFOE_PROTOCOL_TEXT = (
    "InfoE (explicitness) = mean over factors of 1 − (log-loss of a multinomial logistic "
    "regression predicting the factor's class from all standardised latents) / (log-loss of "
    "knowing nothing). Continuous factors are cut into 20 equal-count bins; a factor with at "
    "most 20 distinct values keeps one class per value (as the authors' label encoding of "
    "their discrete factors). nearid's protocol, used in every table except the one beside "
    "the paper's Table 2: at most 2,000 seeded rows, fitted on one half and scored on the "
    "other, C = 1e4 (almost unpenalised, yet "
    "finite when a factor is perfectly separable); the baseline is the held-out log-loss of "
    "the training half's class frequencies (Jeffreys-smoothed), so InfoE can be slightly "
    "negative. The InfoMEC authors' protocol (Hsu et al. 2023, whose code produced the "
    "paper's Table 2), for reading beside Table 2: all rows, fitted and scored on the same "
    "rows, unpenalised, class-balanced weights, baseline log K (their class-balanced null "
    "model predicts each of the K classes with probability 1/K), InfoM and InfoC from the "
    "mutual information of each latent on its own, InfoE solved to its optimum (their "
    "lbfgs stops after 100 iterations: up to 0.02 lower on our latents). Fitted "
    "and scored on the same rows, the authors' InfoE is higher than nearid's: by 0.04 on "
    "average (0.02 to 0.07 per model) on the default sweep (master seed 0)."
)
INFOE_ICA_TEXT = (
    "InfoE cannot change under ICA. ICA's unmixing is an invertible linear map of the "
    "latents, and a logistic regression on all latents absorbs any invertible linear map of "
    "its inputs into its weights: unpenalised, it reaches the same fitted probabilities, so "
    "the authors' InfoE is the same before and after ICA (to the solver's tolerance). "
    "nearid's fit carries a small penalty (C = 1e4), which is not invariant: refitted, it "
    "moved by at most about 0.001 on the default sweep, solver and penalty noise rather than "
    "information, so nearid reports InfoE after ICA as the value before, by either "
    "protocol. Only InfoM and InfoC, which look at each "
    "latent on its own, can show ICA's gain. A change in InfoE after ICA, as in the paper's "
    "Table 2, must come from something other than the unmixing itself: a fit stopped "
    "before its optimum, a stronger penalty, or keeping fewer ICA components than latents."
)


@dataclass(frozen=True, eq=False)
class InfoMecResult:
    """InfoM, InfoE, InfoC and what they were computed from.

    Attributes
    ----------
    infom, infoe, infoc : float
        Modularity, explicitness, compactness; 1 is ideal. NaN where undefined (one factor
        for InfoM, one active latent for InfoC).
    nmi : ndarray of shape (n_factors, n_latents)
        Normalised mutual information, clipped to [0, 1] (not clipped by the authors'
        protocol, whose k-NN estimate can stray slightly outside).
    active : ndarray of bool, shape (n_latents,)
        Latents counted by InfoM and InfoC.
    n_bins : int
        Quantile bins per continuous factor.
    n_rows : int
        Rows used after subsampling.
    protocol : str
        "nearid" or "authors" (see ``INFOE_PROTOCOL_TEXT``).
    raw_nmi : ndarray of shape (n_factors, n_latents)
        The NMI estimate before any clipping.
    """

    infom: float
    infoe: float
    infoc: float
    nmi: np.ndarray
    active: np.ndarray
    n_bins: int
    n_rows: int
    protocol: str = "nearid"
    raw_nmi: np.ndarray | None = None


def bin_factors(u: np.ndarray, *, n_bins: int) -> np.ndarray:
    """Discretise each factor into class codes.

    Parameters
    ----------
    u : ndarray of shape (n_samples, n_factors)
    n_bins : int
        Quantile bins per continuous column.

    Returns
    -------
    ndarray of int64, shape (n_samples, n_factors)
        Codes consecutive from 0 in each column.

    Notes
    -----
    A column with at most ``n_bins`` distinct values is taken as already discrete and keeps
    one class per value; ties at quantile edges can leave fewer than ``n_bins`` classes.
    Binning discards within-bin information.
    """
    codes = np.empty(u.shape, dtype=np.int64)
    for i, col in enumerate(u.T):
        if np.unique(col).size > n_bins:
            edges = np.quantile(col, np.linspace(0, 1, n_bins + 1)[1:-1])
            col = np.searchsorted(edges, col, side="right")
        codes[:, i] = np.unique(col, return_inverse=True)[1]
    return codes


def _entropy(codes: np.ndarray) -> float:
    p = np.bincount(codes) / codes.size
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())  # nats, like mutual_info_classif


def _standardise(z: np.ndarray) -> np.ndarray:
    std = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)  # constant latents become 0


def _nmi(z: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """(d_u, d_z) NMI, not clipped (nearid clips to [0, 1]; the authors do not).

    sklearn's k-NN estimator (``mutual_info_classif``, computed bit for bit by
    ``mi.mutual_info_cd_many`` without its per-label tree builds) treats each latent on its
    own, as the authors' per-latent calls do; one call for all latents differs from theirs
    only in the 1e-10-scale jitter it adds to break ties.
    """
    mi = mutual_info_cd_many(z, v, n_neighbors=_N_NEIGHBORS, random_state=seed)  # (d_u, d_z)
    return mi / np.array([_entropy(codes) for codes in v.T])[:, None]


def _peakedness(nmi: np.ndarray, axis: int) -> float:
    """``(mean max/sum - 1/K) / (1 - 1/K)`` along ``axis`` (K entries); 0 = uniform, 1 = one-hot.

    A slice with zero total NMI carries no information and counts as uniform.
    """
    k = nmi.shape[axis]
    if k < 2:
        return float("nan")
    total = nmi.sum(axis=axis)
    ratio = np.where(total > 0, nmi.max(axis=axis) / np.where(total > 0, total, 1.0), 1 / k)
    return float((ratio.mean() - 1 / k) / (1 - 1 / k))


def _log_loss(proba: np.ndarray, classes: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """Mean negative log-likelihood of ``y``; classes never seen in training get 1e-12."""
    full = np.full((y.size, n_classes), 1e-12)  # proba may be one broadcast row
    full[:, classes] = proba
    full /= full.sum(axis=1, keepdims=True)
    return float(-np.log(full[np.arange(y.size), y]).mean())


def _infoe(z: np.ndarray, v: np.ndarray, seed: int) -> float:
    fit, ev = split_fit_eval(z.shape[0], seed=seed)
    scores = []
    for codes in v.T:
        n_classes = int(codes.max()) + 1
        prior = np.bincount(codes[fit], minlength=n_classes) + 0.5  # Jeffreys-smoothed prior
        null = _log_loss(prior[None, :] / prior.sum(), np.arange(n_classes),
                         codes[ev], n_classes)
        if np.unique(codes[fit]).size < 2:
            scores.append(0.0)  # nothing to learn from a single class
            continue
        fast = (fit_multinomial(z[fit], codes[fit], C=_C, tol=_FAST_TOL, max_iter=_FAST_MAX_ITER)
                if _FAST_LOGISTIC else None)
        if fast is not None and fast.converged:
            proba, classes = fast.predict_proba(z[ev]), fast.classes
        else:
            model = LogisticRegression(C=_C, solver=_SOLVER, max_iter=200).fit(z[fit], codes[fit])
            proba, classes = model.predict_proba(z[ev]), model.classes_
        loss = _log_loss(proba, classes, codes[ev], n_classes)
        scores.append((null - loss) / null)
    return float(np.mean(scores))


def infoe_authors(z, v) -> float:
    """InfoE as the InfoMEC authors compute it: in-sample, unpenalised, class-balanced.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_latents)
        Latents, standardised here (as their ``StandardScaler``).
    v : array-like of int, shape (n_samples, n_factors)
        Class codes of each factor, consecutive from 0 (``bin_factors``).

    Returns
    -------
    float
        Mean over factors of ``(log K - L) / log K``: ``L`` the mean log-loss on the fitted
        rows of a multinomial logistic regression (no penalty, ``class_weight="balanced"``)
        and ``log K`` that of their class-balanced null model, which predicts 1/K.

    Notes
    -----
    In-sample, so it rewards overfitting (about ``(K-1) d_z / (2 n log K)`` on pure noise)
    and is never below that of a model with no latents. The fit is unpenalised, so InfoE
    is invariant to any invertible linear map of ``z`` (``INFOE_ICA_TEXT``); for a factor
    that the latents separate perfectly the optimum is at infinity and the value is the
    solver's approach to 1 (here where Newton's steps stop, within 3e-4 of where sklearn's
    stops). Solved to tol 1e-10 (their lbfgs stops at 100 iterations), by
    ``logistic.fit_multinomial``, or by sklearn where Newton makes no progress.
    """
    zs = _standardise(np.asarray(z, dtype=np.float64))
    scores = []
    for codes in np.asarray(v).T:
        k = int(codes.max()) + 1
        if k < 2:
            scores.append(0.0)
            continue
        fast = (fit_multinomial(zs, codes, C=np.inf, balanced=True, tol=_AUTHORS_TOL,
                                max_iter=_FAST_MAX_ITER, stop="decrement")
                if _FAST_LOGISTIC else None)
        if fast is not None and (fast.converged or fast.grad_max <= _AUTHORS_STALL):
            loss = _log_loss(fast.predict_proba(zs), fast.classes, codes, k)
            scores.append((np.log(k) - loss) / np.log(k))
            continue
        model = LogisticRegression(C=np.inf, class_weight="balanced", solver=_SOLVER,
                                   tol=_AUTHORS_TOL, max_iter=_AUTHORS_MAX_ITER)
        with warnings.catch_warnings():
            # A (nearly) separable factor has no finite optimum, or a flat one: Newton's
            # Hessian turns singular and sklearn switches to lbfgs by itself, or the solver
            # stops close to InfoE = 1. Neither is an error of the input.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", LinAlgWarning)
            model.fit(zs, codes)
        loss = _log_loss(model.predict_proba(zs), model.classes_, codes, k)
        scores.append((np.log(k) - loss) / np.log(k))
    return float(np.mean(scores))


def infomec(z, u, *, n_bins: int = 20, seed: int = 0, protocol: str = "nearid",
            infoe: float | None = None, same_z: InfoMecResult | None = None) -> InfoMecResult:
    """InfoM / InfoE / InfoC of latents ``z`` against ground-truth factors ``u``.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_latents)
        Continuous latents (standardised internally).
    u : array-like of shape (n_samples, n_factors)
        Factors; continuous ones are cut into ``n_bins`` quantile bins, a factor with at most
        ``n_bins`` distinct values keeps one class per value (the authors' label encoding).
    n_bins : int, default=20
        Bins per continuous factor (reported in the result).
    seed : int, default=0
        Seed of the row subsample, the MI estimator's jitter and InfoE's 50/50 split.
    protocol : {"nearid", "authors"}, default="nearid"
        See ``INFOE_PROTOCOL_TEXT``. "authors" uses all rows, estimates MI latent by latent
        without clipping, and computes InfoE with ``infoe_authors`` (in-sample, unpenalised).
    infoe : float, optional
        InfoE already computed, by the same protocol, on latents of which ``z`` is an
        invertible linear map (e.g. before ICA): used as is instead of refitting
        (``INFOE_ICA_TEXT``: exact for the authors' protocol, within about 0.001 for nearid's).
    same_z : InfoMecResult, optional
        A result for the same ``z``, ``u``, ``n_bins`` and ``seed`` by the other protocol:
        where it used the same rows (all of them: at most 2,000), its MI estimate is reused,
        since both protocols run the same estimator with the same seed on them.

    Returns
    -------
    InfoMecResult

    Notes
    -----
    nearid: at most 2,000 seeded rows for MI and the classifiers; InfoE by multinomial
    logistic regression (C=1e4) scored on a held-out half against the training class prior,
    so it can be slightly negative. Active latents are decided on the raw ranges of all rows.
    High InfoM/InfoC mean each latent is informative about one factor and vice versa; they
    do not say the relation is linear, nor that the code is complete (that is InfoE), and
    binning caps how much information a factor can carry (``log n_bins`` nats). InfoE is
    (almost, for nearid; exactly, for the authors) invariant to invertible linear maps of z.
    """
    z, u = check_pair(z, u, names=("z", "u"))
    if int(n_bins) != n_bins or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    ranges = z.max(axis=0) - z.min(axis=0)
    if ranges.max() <= 0:
        raise ValueError("z must vary: every latent is constant")
    active = ranges > ranges.max() * _ACTIVE_SHARE
    rows = np.arange(z.shape[0])
    if rows.size > _MAX_ROWS and protocol == "nearid":
        rows = np.sort(np.random.default_rng(seed).choice(rows.size, _MAX_ROWS, replace=False))
    if rows.size < 20:
        raise ValueError(f"z and u need at least 20 rows for InfoMEC, got {rows.size}")
    v = bin_factors(u[rows], n_bins=int(n_bins))  # (n, d_u) int
    constant = [i for i in range(v.shape[1]) if v[:, i].max() == 0]
    if constant:
        raise ValueError(f"u has constant factors {constant}: their entropy is 0")
    zs = _standardise(z[rows])
    authors = protocol == "authors"
    reuse = same_z is not None and same_z.n_rows == rows.size == z.shape[0]
    raw = same_z.raw_nmi if reuse else _nmi(zs, v, seed)
    nmi = raw if authors else np.clip(raw, 0.0, 1.0)
    return InfoMecResult(
        infom=_peakedness(nmi[:, active], axis=0),
        infoe=(float(infoe) if infoe is not None
               else infoe_authors(zs, v) if authors else _infoe(zs, v, seed)),
        infoc=_peakedness(nmi[:, active], axis=1), nmi=nmi, active=active,
        n_bins=int(n_bins), n_rows=int(rows.size), protocol=protocol, raw_nmi=raw,
    )
