"""Scoring one model's latents before and after ICA (the disentanglement study's kernel).

Three codes per model (``METHOD_TEXTS``): the AE's latents, FastICA after PCA to k factors,
and FastICA on every latent the InfoMEC authors' rule keeps active. Each is scored on the
same held-out rows by InfoM / InfoE / InfoC (the authors' protocol, read beside Table 2),
MCC (matched on one half, scored on the other) and DCI disentanglement.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from nearid_core.science.dci import dci
from nearid_core.science.ica import IcaResult, fit_ica
from nearid_core.science.infomec import infomec
from nearid_core.science.kernels import split_fit_eval
from nearid_core.science.metrics import mcc

__all__ = ["ModelScores", "analyse_latents", "score_latents"]


def score_latents(z, u, *, seed: int = 0, infoe: float | None = None) -> dict:
    """InfoM, InfoE, InfoC (authors' protocol), MCC and DCI D of latents against factors.

    Parameters
    ----------
    z : array-like of shape (n_samples, d_z)
        Latents of held-out inputs.
    u : array-like of shape (n_samples, d_u)
        Their ground-truth factors (a factor with at most 20 values keeps one class per
        value; continuous ones are cut into 20 quantile bins).
    seed : int, default=0
        Seed of the 50/50 split of MCC and DCI and of the MI estimator's jitter.
    infoe : float, optional
        InfoE of latents of which ``z`` is an invertible linear map, reused as is
        (``infomec.INFOE_ICA_TEXT``).

    Returns
    -------
    dict
        ``infom``, ``infoe``, ``infoc``, ``mcc``, ``dci_d`` (floats) and ``n_active`` (the
        latents InfoM and InfoC counted), ``active`` (bool array, shape (d_z,)).

    Notes
    -----
    1, 1, 1, 1, 1 for any signed permutation of the factors (and per-axis scaling). InfoE is
    in-sample (the authors' protocol); MCC and DCI are out of sample. High scores say each
    latent carries one factor; they do not say the code generalises beyond these inputs.
    """
    z, u = np.asarray(z, dtype=np.float64), np.asarray(u, dtype=np.float64)
    fit, ev = split_fit_eval(z.shape[0], seed=seed)
    info = infomec(z, u, seed=seed, protocol="authors", infoe=infoe)
    return {"infom": info.infom, "infoe": info.infoe, "infoc": info.infoc,
            "mcc": mcc(z, u, fit_idx=fit, eval_idx=ev).score,
            "dci_d": dci(z, u, seed=seed).disentanglement,
            "n_active": int(info.active.sum()), "active": info.active}


@dataclass(frozen=True, eq=False)
class ModelScores:
    """One model's three codes and their scores.

    scores : method ("ae", "ica_k", "ica_all") -> ``score_latents`` dict (without ``active``).
    ica_k, ica_all : the fitted ICAs; ``ica_all`` unmixes the latents ``kept`` only.
    kept : (d_kept,) indices of the latents the authors' rule keeps active.
    """

    scores: dict[str, dict]
    ica_k: IcaResult
    ica_all: IcaResult
    kept: np.ndarray

    def record(self) -> dict:
        """JSON-able scores and ICA convergence."""
        return {"scores": self.scores, "kept_latents": self.kept.tolist(),
                "ica_k": self.ica_k.summary(), "ica_all": self.ica_all.summary()}


def _ica(z_fit: np.ndarray, seed: int, n_components: int | None, max_iter: int) -> IcaResult:
    with warnings.catch_warnings():
        # Non-convergence is recorded (IcaResult.summary) and reported, not raised.
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        return fit_ica(z_fit, seed=seed, n_components=n_components, max_iter=max_iter)


def analyse_latents(z: np.ndarray, u: np.ndarray, *, n_factors: int, seed: int = 0,
                    ica_max_iter: int = 1000) -> ModelScores:
    """Score a model's held-out latents as they are and after ICA, two ways.

    Parameters
    ----------
    z : (n, d_z) held-out latents; u : (n, d_u) their factors.
    n_factors : k, the sources of the PCA-then-ICA code.
    seed : seed of the split (ICA is fitted on the fit half) and of FastICA.
    ica_max_iter : FastICA iterations per restart (``ica.fit_ica``'s ``max_iter``).

    Returns
    -------
    ModelScores

    Notes
    -----
    Both ICAs are fitted on the fit half and applied to every row, so MCC and DCI after ICA
    are out of sample. InfoE is refitted for the k-source code (not an invertible map of all
    latents) and for ICA of a pruned set; otherwise it is reused, since it cannot change.
    """
    fit, _ = split_fit_eval(z.shape[0], seed=seed)
    ae = score_latents(z, u, seed=seed)
    kept = np.flatnonzero(ae.pop("active"))
    ica_k = _ica(z[fit], seed, n_factors, ica_max_iter)
    ica_all = _ica(z[fit][:, kept], seed, None, ica_max_iter)
    same = kept.size == z.shape[1]
    scores = {"ae": ae,
              "ica_k": score_latents(ica_k.transform(z), u, seed=seed),
              "ica_all": score_latents(ica_all.transform(z[:, kept]), u, seed=seed,
                                       infoe=ae["infoe"] if same else None)}
    for s in scores.values():
        s.pop("active", None)
    return ModelScores(scores, ica_k, ica_all, kept)
