"""The overlay picture: A's points and B's mapped points in one plane, per map.

For teaching near-identifiability: two representations of the same inputs, A (reference) and
B (candidate), drawn together as is, after the best signed permutation, after the best
rotation, and after ICA. Every map is ``alignment.align``'s (fitted on the fit rows, same
seed), so each picture's error is the number ``alignment_errors`` reports; the points drawn are
eval rows, and in the 2-D teaching case their residual segments are exactly what that error
averages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nearid_core.science.alignment import _pad, align
from nearid_core.science.ica import fit_ica
from nearid_core.science.kernels import check_pair, diameter, split_fit_eval
from nearid_core.science.projection import subsample

__all__ = ["MAPS", "MAP_NAMES", "MAP_SHORT", "Overlay", "pair_overlays"]

MAPS = ("raw", "perm", "rigid", "ica")
MAP_NAMES = {"raw": "as is", "perm": "after the best signed permutation",
             "rigid": "after the best rotation", "ica": "after ICA"}
MAP_SHORT = {"raw": "raw (no map)", "perm": "signed permutation", "rigid": "rotation (rigid)",
             "ica": "ICA"}


@dataclass(frozen=True, eq=False)
class Overlay:
    """One panel of the overlay picture.

    Attributes
    ----------
    group : str
        One of ``MAPS``.
    pa : ndarray of shape (m, 2)
        The target's drawn rows (A, or ICA(A) for "ica") in the plane, centred.
    pb : ndarray of shape (m, 2)
        B's drawn rows after the map, in the same plane and centring; row i pairs with pa[i].
    error : float
        Normalised l2 error on all eval rows, as ``align(...).error`` (identity map for
        "raw"); NaN when the map could not be fitted (see ``note``).
    plane : str
        What the two axes are ("A's axes", "A's top-2 principal plane", ...).
    note : str
        Why the panel is empty, or "".
    """

    group: str
    pa: np.ndarray
    pb: np.ndarray
    error: float
    plane: str
    note: str = ""


def _raw_error(A: np.ndarray, B: np.ndarray, ev: np.ndarray, seed: int) -> float:
    """``mean ||A_i - B_i|| / diam(A_eval)`` on eval rows, the narrower side zero-padded."""
    d_t = max(A.shape[1], B.shape[1])
    residual = _pad(A[ev], d_t) - _pad(B[ev], d_t)  # (n_eval, d_t)
    return float(np.linalg.norm(residual, axis=1).mean() / diameter(A[ev], seed=seed))


def _plane(T: np.ndarray, d_ref: int, name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Centre (d_t,), basis (d_t, 2) and text of the plane of the target's drawn rows T.

    A target of at most 2 columns keeps its own axes (a 1-D one gets a zero second axis);
    a wider one is shown on its top-2 principal axes, each signed so that its largest
    loading is positive (a stable picture across calls).
    """
    mean = T.mean(axis=0)
    basis = np.zeros((T.shape[1], 2))
    if d_ref <= 2:
        basis[:d_ref, :d_ref] = np.eye(d_ref)
        return mean, basis, f"{name}'s {'components' if name == 'ICA(A)' else 'axes'}"
    _, _, vt = np.linalg.svd(T - mean, full_matrices=False)  # vt: (min(m, d_t), d_t)
    basis[:, : min(2, vt.shape[0])] = vt[:2].T
    lead = basis[np.abs(basis).argmax(axis=0), [0, 1]]
    basis *= np.where(lead < 0, -1.0, 1.0)
    return mean, basis, f"{name}'s top-2 principal plane"


def _overlay(group: str, frame: tuple, T: np.ndarray, H: np.ndarray, error: float) -> Overlay:
    """Target rows T and mapped rows H (m, d_t) projected on ``frame`` = (mean, basis, text)."""
    mean, basis, text = frame
    return Overlay(group=group, pa=(T - mean) @ basis, pb=(H - mean) @ basis,  # (m, 2) each
                   error=float(error), plane=text)


def _ica_overlay(A, B, rows, seed, ica) -> Overlay:
    """The "ica" panel: target ICA(A) sources; an empty panel with the reason if ICA fails."""
    if ica is None:
        fit, _ = split_fit_eval(A.shape[0], seed=seed)
        try:
            ica = (fit_ica(A[fit], seed=seed), fit_ica(B[fit], seed=seed))
        except ValueError as exc:  # too few rows, constant or rank-deficient columns
            empty = np.zeros((0, 2))
            return Overlay(group="ica", pa=empty, pb=empty, error=float("nan"),
                           plane="ICA(A)'s components", note=f"ICA could not run: {exc}")
    al = align(A, B, group="ica", seed=seed, ica=ica)
    T = _pad(al.ica_a.transform(A[rows]), al.matrix.shape[1])  # (m, d_t)
    frame = _plane(T, al.d_ref, "ICA(A)")
    return _overlay("ica", frame, T, al.apply(B[rows]), al.error)


def pair_overlays(A, B, *, seed: int = 0, max_points: int = 400,
                  ica: tuple | None = None) -> tuple[dict[str, Overlay], np.ndarray]:
    """A and B in A's plane: as is, after the best signed permutation, rotation, and ICA.

    Parameters
    ----------
    A : array-like of shape (n_samples, d_a)
        Reference (e.g. ground-truth factors u, or one seed's latents).
    B : array-like of shape (n_samples, d_b)
        Candidate representation of the same inputs, row for row.
    seed : int, default=0
        Seed of the fit/eval split, of FastICA and of the subsample of drawn rows.
    max_points : int, default=400
        Most eval rows drawn (a seeded subsample when there are more).
    ica : tuple of two IcaResult, optional
        Already fitted (ICA(A fit rows), ICA(B fit rows)) for the same seed, as ``align``.

    Returns
    -------
    overlays : dict of str to Overlay
        One per ``MAPS`` key, each with pa, pb of shape (m, 2).
    rows : ndarray of int of shape (m,)
        Sorted indices into the n rows of the points drawn (eval rows): colour by ``u[rows]``.

    Notes
    -----
    Errors equal ``alignment_errors(A, B, seed=seed)`` (raw: identity map, normalised by
    diam(A_eval)). When the target has at most 2 columns and B at most as many, the segments
    pa_i -> pb_i are the full residuals, so their mean length over all eval rows divided by the
    diameter is the error; otherwise the picture is a 2-D view and hides the other directions.
    """
    A, B = check_pair(A, B, names=("A", "B"))
    if int(max_points) != max_points or max_points < 2:
        raise ValueError(f"max_points must be an integer >= 2, got {max_points}")
    _, ev = split_fit_eval(A.shape[0], seed=seed)
    rows = ev[subsample(len(ev), int(max_points), seed=seed)]  # sorted, since ev is sorted
    fits = {g: align(A, B, group=g, seed=seed, ica=ica) for g in ("perm", "rigid")}
    d_t = max(A.shape[1], B.shape[1])
    T = _pad(A[rows], d_t)  # (m, d_t)
    frame = _plane(T, A.shape[1], "A")  # one plane for raw, perm and rigid
    out = {"raw": _overlay("raw", frame, T, _pad(B[rows], d_t), _raw_error(A, B, ev, seed))}
    for g, al in fits.items():
        out[g] = _overlay(g, frame, T, al.apply(B[rows]), al.error)
    out["ica"] = _ica_overlay(A, B, rows, seed, ica)
    return out, rows
