"""Optional parts of the Compare study: ground-truth factors, per-label errors, overlay points."""

from __future__ import annotations

import numpy as np

from nearid_core.science.fits import NA
from nearid_core.science.kernels import check_rows
from nearid_core.science.metrics import disentanglement_scores
from nearid_core.science.projection import subsample
from nearid_core.studies._compare_config import MIN_LABEL_ROWS
from nearid_core.studies._compare_pairs import GROUPS
from nearid_core.studies._compare_prep import Prepared

__all__ = ["check_factors", "check_labels", "label_rows", "overlay_points", "truth_scores"]


def truth_scores(preps: list[Prepared], factors, seed: int) -> dict:
    """name -> {"before": scores of the raw axes, "after": scores of the ICA sources}.

    Scores are ``metrics.disentanglement_scores`` (MCC, InfoMEC, DCI ...) on the same seeded
    split; "after" is empty when ICA could not run on that embedding.
    """
    u = check_factors(factors, preps[0].X.shape[0])
    out = {}
    for p in preps:
        after = {} if p.sources is None else disentanglement_scores(p.sources, u, seed=seed)
        out[p.name] = {"before": disentanglement_scores(p.X, u, seed=seed), "after": after,
                       "ica_components": p.ica_k}
    return out


def check_factors(factors, n: int) -> np.ndarray:
    """Ground-truth factors as a finite float64 (n, d_u) array, one row per input."""
    u = check_rows(factors, name="factors")
    if u.shape[0] != n:
        raise ValueError(f"factors must have one row per input ({n}), got shape {u.shape}")
    return u


def check_labels(labels, n: int) -> np.ndarray:
    """One discrete label per input, as a 1-D array of length n."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels must be a 1-D array with one label per input ({n}), "
                         f"got shape {labels.shape}")
    return labels


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def label_rows(labels: np.ndarray, ev: np.ndarray, main: dict,
               norms: dict) -> tuple[list[dict], list[str]]:
    """Errors of every ordered pair restricted to the eval rows of each label.

    The maps are the main split's (fitted on all labels) and the normaliser stays the
    diameter of all the reference's eval rows, so per-label errors compare with the overall.
    """
    lab = labels[ev]
    values = np.unique(labels)
    counts = {v: int((lab == v).sum()) for v in values}
    keep = [v for v in values if counts[v] >= MIN_LABEL_ROWS]
    notes = [f"Label {_plain(v)!r} skipped: {counts[v]} eval rows (fewer than "
             f"{MIN_LABEL_ROWS})." for v in values if counts[v] < MIN_LABEL_ROWS]
    rows = []
    for (a, b), groups in main.items():
        for v in keep:
            mask = lab == v
            row = {"a": a, "b": b, "label": _plain(v), "n_eval": counts[v]}
            for g in GROUPS:
                row[g] = (float(groups[g].norms[mask].mean() / norms[a, b][g])
                          if g in groups else NA)
            rows.append(row)
    return rows, notes


def overlay_points(target: np.ndarray, mapped: np.ndarray, *, max_points: int,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Both point sets (n, d_t) in the target's top-2 principal plane, on a shared subsample."""
    idx = subsample(target.shape[0], max_points, seed=seed)
    T, H = target[idx], mapped[idx]  # (m, d_t)
    mean = T.mean(axis=0)
    _, _, vt = np.linalg.svd(T - mean, full_matrices=False)
    plane = np.zeros((T.shape[1], 2))
    plane[:, : min(2, vt.shape[0])] = vt[:2].T  # (d_t, 2); a 1-D target gets a zero axis
    return (T - mean) @ plane, (H - mean) @ plane
