"""Multinomial logistic regression by exact Newton steps, with scikit-learn's objective.

InfoE fits one softmax regression per factor (about 20 classes, a handful of latents, at most
2,000 rows). scikit-learn's solvers assemble the multinomial Hessian class pair by class pair
(K² small products per Newton step), which dominated an analysis; here it is two matrix
products. The objective is scikit-learn 1.9's ``LogisticRegression`` (lbfgs, newton-cg,
newton-cholesky; ``_logistic_regression_path`` and ``LinearModelLoss``)::

    f(W, b) = sum_i s_i * logloss_i / sum_i s_i + ||W||² / (2 * C * sum_i s_i)

with sample weights ``s`` (1, or ``n / (K * count_k)`` for ``class_weight="balanced"``) and
unpenalised intercepts ``b``. For K = 2 it is scikit-learn's binary model (one weight vector,
penalised once); for K > 2 the full K-class parametrisation, penalising every class's
weights. So at the optimum the fitted probabilities are scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dsyrk as _syrk
from scipy.linalg.lapack import dposv as _posv

__all__ = ["MultinomialFit", "fit_multinomial"]

_ARMIJO = 1e-4  # sufficient decrease of the backtracking line search
_MAX_HALVINGS = 40
# At the optimum the Newton step must be this small relative to the weights: a small gradient
# with a large step means flat curvature (separable classes, optimum at infinity).
_STEP_TOL = 1e-6
_FLAT_STRIKES = 3  # iterations with gradient <= tol but a large step before giving up
_ROUNDOFF = 1e-12  # relative change of f that float64 sums of 2,000 terms cannot resolve


@dataclass(frozen=True, eq=False)
class MultinomialFit:
    """A fitted softmax regression ``P(k | x) ∝ exp(x · coef[k] + intercept[k])``.

    Attributes
    ----------
    classes : ndarray of shape (K,)
        Sorted labels (``np.unique(y)``); columns of ``predict_proba``.
    coef : ndarray of shape (K, n_features)
        Class weights. K = 2: row 0 is zero and row 1 scikit-learn's binary ``coef_[0]``;
        K > 2: centred over classes, as scikit-learn's.
    intercept : ndarray of shape (K,)
        Centred over classes for K > 2; for K = 2, ``[0, intercept_]``.
    converged : bool
        Gradient at most ``tol`` and a vanishing Newton step. False also when the optimum is
        at infinity (separable classes, ``C=inf``) or the Hessian is singular.
    n_iter : int
        Newton iterations run.
    grad_max : float
        Largest absolute gradient entry of the objective at the returned weights.
    """

    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    converged: bool
    n_iter: int
    grad_max: float

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, K), columns in ``classes`` order."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.coef.shape[1]:
            raise ValueError(f"X must have shape (n_samples, {self.coef.shape[1]}), got {X.shape}")
        return _softmax(self.coef @ X.T + self.intercept[:, None])[0].T


@dataclass(frozen=True, eq=False)
class _Problem:
    # Arrays run over rows last, (K, n) and (q, n): reductions over the K classes of each row
    # are then contiguous, several times faster than along a short last axis.
    xt: np.ndarray  # (q, n): features then a row of ones, q = p + 1
    outer: np.ndarray  # (n, q*q): row-wise xa ⊗ xa, for the Hessian's diagonal blocks
    picked: np.ndarray  # (n,) flat index of each row's own class in a (K, n) array
    w: np.ndarray  # (n,) sample weights / their sum
    sw: np.ndarray  # (n,) their square roots
    lam: float  # 1 / (C * sum of weights); 0 when unpenalised
    pen: np.ndarray  # (K, q) 1 where the penalty applies (weights of free classes)
    m: int  # parameters solved for: the first m of theta.ravel(); the others stay at 0
    blocks: tuple  # (rows, cols, sel): where the diagonal blocks land among the first m


def _problem(xa, codes, s, k, lam, pen, m) -> _Problem:
    n, q = xa.shape
    kk, a, b = np.meshgrid(np.arange(k), np.arange(q), np.arange(q), indexing="ij")
    rows, cols = (kk * q + a).ravel(), (kk * q + b).ravel()  # (K*q*q,) in blocks' order
    sel = (rows < m) & (cols < m) & (rows <= cols)  # the upper triangle, which LAPACK reads
    w = s / s.sum()
    return _Problem(xt=np.ascontiguousarray(xa.T),
                    outer=(xa[:, :, None] * xa[:, None, :]).reshape(n, q * q),
                    picked=codes * n + np.arange(n), w=w, sw=np.sqrt(w), lam=lam, pen=pen,
                    m=m, blocks=(rows[sel], cols[sel], np.flatnonzero(sel)))


def _softmax(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softmax over axis 0 and log-sum-exp of (K, n) scores, overflow-safe; overwrites eta."""
    m = eta.max(axis=0)  # (n,)
    eta -= m
    np.exp(eta, out=eta)
    total = eta.sum(axis=0)
    eta /= total
    return eta, m + np.log(total)


def _value(pb: _Problem, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """Objective at ``theta`` (K, q) and the probabilities (K, n) there."""
    eta = theta @ pb.xt  # (K, n)
    own = eta.ravel()[pb.picked]  # (n,) score of each row's class
    proba, lse = _softmax(eta)
    loss = pb.w @ (lse - own)
    return float(loss + 0.5 * pb.lam * np.sum((pb.pen * theta) ** 2)), proba


def _gradient(pb: _Problem, theta: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Gradient over the free parameters, shape (m,)."""
    resid = proba * pb.w  # (K, n)
    resid.ravel()[pb.picked] -= pb.w
    grad = resid @ pb.xt.T + pb.lam * pb.pen * theta  # (K, q)
    return grad.ravel()[: pb.m]


def _hessian(pb: _Problem, proba: np.ndarray) -> np.ndarray:
    """Upper triangle of the Hessian over the free parameters (the lower one is not set):
    blockdiag_k(Xaᵀ diag(w P_k) Xa) − YᵀY + λ·pen, with Y[i, (k, a)] = √w_i P_ik xa_ia."""
    k, n = proba.shape
    q = pb.xt.shape[0]
    blocks = ((proba * pb.w) @ pb.outer).ravel()  # (K*q*q,): K blocks of (q, q)
    sp = proba * pb.sw  # (K, n)
    y = (sp[:, None, :] * pb.xt[None, :, :]).reshape(k * q, n)[: pb.m]  # (m, n): Yᵀ
    hess = _syrk(-1.0, y.T, trans=1)  # −YᵀY, upper triangle: half a full product's work
    rows, cols, sel = pb.blocks
    hess[rows, cols] += blocks[sel]
    idx = np.arange(pb.m)
    hess[idx, idx] += pb.lam * pb.pen.ravel()[: pb.m]
    return hess


def _solve(hess: np.ndarray, grad: np.ndarray) -> np.ndarray | None:
    """−hess⁻¹ grad by Cholesky of the upper triangle; None where it is not positive definite
    or not finite."""
    if not np.isfinite(hess.sum()):  # the lower triangle is 0: one sum checks the upper
        return None
    _, x, info = _posv(hess, -grad, lower=0, overwrite_a=1)
    return x if info == 0 else None


def _line_search(pb, theta, f, grad, step):
    """Backtracking (Armijo) along ``step``; None when no decrease can be found."""
    slope = float(grad @ step)  # < 0 for a descent direction
    for i in range(_MAX_HALVINGS):
        t = 0.5**i
        cand = theta.copy()
        cand.ravel()[: pb.m] += t * step
        f_new, proba = _value(pb, cand)
        if f_new <= f + _ARMIJO * t * slope:
            return cand, f_new, proba
        if i == 0 and f_new - f <= _ROUNDOFF * max(1.0, abs(f)):
            # Near the optimum the decrease is below f's round-off: accept the full Newton
            # step when it shrinks the gradient.
            if np.abs(_gradient(pb, cand, proba)).max() < np.abs(grad).max():
                return cand, f_new, proba
    return None


def _newton(pb: _Problem, theta: np.ndarray, tol: float, max_iter: int, stop: str):
    """Damped Newton from ``theta``; returns (theta, converged, n_iter, grad_max)."""
    f, proba = _value(pb, theta)
    strikes = 0
    for it in range(max_iter):
        grad = _gradient(pb, theta, proba)
        gmax = float(np.abs(grad).max())
        step = _solve(_hessian(pb, proba), grad)
        if step is None or not np.all(np.isfinite(step)):
            return theta, False, it, gmax  # singular or non-finite Hessian
        if gmax <= tol:
            if stop == "decrement" and -0.5 * float(grad.ravel() @ step.ravel()) <= tol:
                return theta, True, it, gmax  # scikit-learn's NewtonSolver stops here too
            if np.abs(step).max() <= _STEP_TOL * (1.0 + np.abs(theta).max()):
                return theta, True, it, gmax
            strikes += 1
            if strikes >= _FLAT_STRIKES:
                return theta, False, it, gmax
        found = _line_search(pb, theta, f, grad, step)
        if found is None:
            return theta, False, it, gmax
        theta, f, proba = found
    gmax = float(np.abs(_gradient(pb, theta, proba)).max())
    return theta, False, max_iter, gmax


def _flushing() -> bool:
    """Whether this thread's arithmetic flushes subnormal floats to zero now."""
    return bool((np.array([5e-324]) * np.array([1.0]))[0] == 0.0)


@contextmanager
def _subnormals_flushed() -> Iterator[None]:
    """Treat subnormal floats as zero in this thread meanwhile (the CPU's FTZ and DAZ
    modes, set through torch; nothing where the CPU has none).

    On bins the latents separate, a fit's softmax probabilities saturate and become
    subnormal (below 2.2e-308), and arithmetic on subnormals is many times slower: with
    them flushed the InfoMEC authors' InfoE of the default sweep took 1.2 s against 2.2 s,
    with the same numbers to the last bit (their share of any sum is far below its
    rounding).
    """
    if _flushing():  # already on (a caller's choice): leave it so
        yield
        return
    import torch

    on = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if on:
            torch.set_flush_denormal(False)


def _check(X, y, C, tol, max_iter) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"X must be a 2-D array (n_samples >= 2, n_features >= 1), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"X must be finite: it contains {np.sum(~np.isfinite(X))} NaN/inf")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must be 1-D with one label per row of X ({X.shape[0]}), got {y.shape}")
    if not (C > 0):  # also rejects NaN
        raise ValueError(f"C must be > 0 (np.inf: no penalty), got {C}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter}")
    return X, y


def fit_multinomial(X, y, *, C: float = np.inf, balanced: bool = False, tol: float = 1e-10,
                    max_iter: int = 100, stop: str = "optimum") -> MultinomialFit:
    """Fit scikit-learn's (multinomial) logistic regression by damped Newton steps.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Labels, any sortable values; at least two distinct.
    C : float, default=np.inf
        Inverse penalty strength, as ``LogisticRegression(C=...)``; ``np.inf`` for none.
    balanced : bool, default=False
        Weight each row by ``n / (K * count of its class)`` (``class_weight="balanced"``).
    tol : float, default=1e-10
        Convergence when the largest absolute gradient entry is at most ``tol`` (and the
        Newton step vanishes).
    max_iter : int, default=100
        Newton iterations at most.
    stop : {"optimum", "decrement"}, default="optimum"
        "optimum": converged only where the Newton step vanishes too (a finite optimum).
        "decrement": scikit-learn's ``NewtonSolver`` rule, the gradient at most ``tol`` and
        half the Newton decrement (``stepᵀ H step / 2``) at most ``tol``; where the classes
        are separable (no finite optimum) this stops on the way to infinity, as
        scikit-learn does, and counts as converged.

    Returns
    -------
    MultinomialFit

    Notes
    -----
    Guarantees, when ``converged``, a stationary point of a convex objective: the same fitted
    probabilities as scikit-learn solved to its optimum (scikit-learn stops at its own ``tol``,
    so its numbers differ by that). Constant columns get weight 0 (their effect is the
    intercept's). Not converged is reported, never raised: separable classes without penalty
    (optimum at infinity), collinear columns without penalty, or ``max_iter`` reached.
    """
    X, y = _check(X, y, C, tol, max_iter)
    if stop not in ("optimum", "decrement"):
        raise ValueError(f"stop must be 'optimum' or 'decrement', got {stop!r}")
    classes, codes = np.unique(y, return_inverse=True)
    k, (n, p) = classes.size, X.shape
    if k < 2:
        raise ValueError(f"y needs at least 2 classes, got {k}: {classes!r}")
    counts = np.bincount(codes, minlength=k)
    s = n / (k * counts[codes]) if balanced else np.ones(n)
    keep = np.ptp(X, axis=0) > 0  # constant columns carry no more than the intercept
    xa = np.column_stack([X[:, keep], np.ones(n)])  # (n, q)
    q = xa.shape[1]
    # Softmax is invariant to a common shift of the intercepts and, unpenalised, of the
    # weights: the last class's intercept (and weights, when C=inf or K=2: scikit-learn's
    # binary model) stay at 0, so the solved parameters are the first m of theta.ravel().
    fixed = q if (k == 2 or np.isinf(C)) else 1
    pen = np.zeros((k, q))
    pen[:, :-1] = np.isfinite(C)
    pen.ravel()[k * q - fixed:] = 0.0
    pb = _problem(xa, codes, s, k, 0.0 if np.isinf(C) else 1.0 / (C * s.sum()), pen,
                  k * q - fixed)
    theta = np.zeros((k, q))
    prior = np.bincount(codes, weights=s, minlength=k)
    theta[:, -1] = np.log(prior / prior[-1])  # the optimum of the intercepts alone
    with _subnormals_flushed():
        theta, converged, n_iter, gmax = _newton(pb, theta, tol, int(max_iter), stop)
    if k == 2:
        theta -= theta[0]  # scikit-learn's binary coef_ and intercept_ in row 1
    else:
        theta[:, -1] -= theta[:, -1].mean()
        theta[:, :-1] -= theta[:, :-1].mean(axis=0) * bool(np.isinf(C))
    coef = np.zeros((k, p))
    coef[:, keep] = theta[:, :-1]
    return MultinomialFit(classes=classes, coef=coef, intercept=theta[:, -1].copy(),
                          converged=converged, n_iter=n_iter, grad_max=gmax)
