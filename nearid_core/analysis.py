"""Sweep analysis: identifiability per leak, before and after ICA, and the Theorem-1 fit.

Statistical: every pair of seeds at the same leak (PAPER.md §1). Structural: the ground
truth ``u`` against each model's latents. Both use the 50/50 fit/eval protocol of
``alignment``; every task runs through the caller's executor.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from .alignment import GROUPS, alignment_errors, ica_efficiency, pairwise_errors
from .ica import fit_ica
from .kernels import split_fit_eval
from .metrics import disentanglement_scores

SCORES = ("mcc", "mcc_spearman", "weak_mcc", "infom", "infoe", "infoc", "dci_d", "dci_c",
          "dci_i")


def analyse_model(z: np.ndarray, u: np.ndarray, *, seed: int = 0) -> tuple[dict, dict]:
    """Structural identifiability of one model, before and after ICA.

    Parameters
    ----------
    z : (n, d_z) held-out latents; u : (n, d_u) their ground-truth factors.

    Returns
    -------
    result : dict with "before" and "after" (metric name -> float), "structural"
        (alignment errors of z against u), and the ICA's convergence.
    ica : arrays "latents" (n, d_z) after ICA (fitted on the fit half, applied to all
        rows), "mixing" (d_z, k), "unmixing" (k, d_z) and "mean" (d_z,), so that
        ``z = mean + latents @ mixing.T``.

    Notes
    -----
    ICA is fitted on the same fit half as every metric's own fitting, so the "after"
    scores are out of sample.
    """
    fit, _ = split_fit_eval(z.shape[0], seed=seed)
    ica = fit_ica(z[fit], seed=seed)
    z_ica = ica.transform(z)  # (n, d_z)
    result = {
        "before": disentanglement_scores(z, u, seed=seed),
        "after": disentanglement_scores(z_ica, u, seed=seed),
        "structural": alignment_errors(u, z, seed=seed),
        "ica_converged": ica.converged, "ica_n_iter": ica.n_iter, "ica_message": ica.message,
    }
    arrays = {"latents": z_ica, "mixing": ica.mixing, "unmixing": ica.unmixing,
              "mean": ica.mean}
    return result, arrays


def analyse_pairs(zs: list[np.ndarray], *, seed: int = 0) -> list[dict]:
    """Statistical identifiability: alignment errors for every pair of seeds."""
    return pairwise_errors(zs, seed=seed) if len(zs) >= 2 else []


def theorem1_fit(L: np.ndarray, err: np.ndarray) -> dict[str, float]:
    """Least squares of ``err = c * sqrt(2L + L^2)`` through the origin.

    Parameters
    ----------
    L : (k,) bi-Lipschitz excess per setting; err : (k,) alignment error.

    Returns
    -------
    dict with ``c``, ``r2`` (1 - SS_res / SS_tot around the mean error) and ``n``.

    Notes
    -----
    Theorem 1 only gives the proportionality (its constant ``c_D * diam`` is unknown), so
    ``c`` is fitted, not predicted; R² says how well the shape holds on this grid.
    """
    L, err = np.asarray(L, float), np.asarray(err, float)
    ok = np.isfinite(L) & np.isfinite(err)
    f, e = np.sqrt(2 * L[ok] + L[ok] ** 2), err[ok]
    if ok.sum() < 2 or not np.any(f > 0):
        return {"c": float("nan"), "r2": float("nan"), "n": int(ok.sum())}
    c = float(f @ e / (f @ f))
    ss_tot = float(((e - e.mean()) ** 2).sum())
    r2 = 1 - float(((e - c * f) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")
    return {"c": c, "r2": r2, "n": int(ok.sum())}


@dataclass
class SweepAnalysis:
    """Everything the tables, plots and the store need (JSON-able except ``ica``).

    per_leak : one row per leak; per_model : model index -> analyse_model result;
    pairs : leak -> pairwise error dicts; fits : Theorem-1 fits; trends : headline checks.
    ica : model index -> ICA arrays of that model (see ``analyse_model``).
    """

    per_leak: list[dict]
    per_model: dict[int, dict]
    pairs: dict[float, list[dict]]
    fits: dict[str, dict]
    trends: dict[str, float | bool]
    ica: dict[int, dict[str, np.ndarray]]

    def to_json(self) -> dict:
        return {"per_leak": self.per_leak,
                "per_model": {str(k): v for k, v in self.per_model.items()},
                "pairs": {str(k): v for k, v in self.pairs.items()},
                "fits": self.fits, "trends": self.trends}


def analyse_sweep(leak_rows: list[dict], models: list[tuple[int, float, np.ndarray]],
                  u: np.ndarray, *, executor: Executor, seed: int = 0) -> SweepAnalysis:
    """Analyse the finished models of a sweep.

    Parameters
    ----------
    leak_rows : per-leak rows with at least "leak", "L_max", "L_mean" (``sweep.leak_table``).
    models : (index, leak, latents (n, d_z)) of every model that finished.
    u : (n, d_u) ground truth of the same held-out inputs.
    executor : runs one task per model and one per leak.
    """
    by_leak = {row["leak"]: [z for _, a, z in models if a == row["leak"]] for row in leak_rows}
    model_futs = {i: executor.submit(analyse_model, z, u, seed=seed) for i, _, z in models}
    pair_futs = {a: executor.submit(analyse_pairs, zs, seed=seed) for a, zs in by_leak.items()}
    per_model, ica = {}, {}
    for i, fut in model_futs.items():
        per_model[i], ica[i] = fut.result()
    pairs = {a: f.result() for a, f in pair_futs.items()}
    leak_of = {i: a for i, a, _ in models}
    rows = [_leak_row(row, pairs[row["leak"]],
                      [per_model[i] for i in per_model if leak_of[i] == row["leak"]])
            for row in leak_rows]
    fits = {f"{g}_vs_{lk}": theorem1_fit([r[lk] for r in rows], [r[f"stat_{g}"] for r in rows])
            for g in ("rigid", "perm", "linear", "ica") for lk in ("L_max", "L_mean")}
    return SweepAnalysis(rows, per_model, pairs, fits, trends(rows), ica)


def _mean_std(values: list[float]) -> tuple[float, float]:
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    return (float(v.mean()), float(v.std())) if v.size else (float("nan"), float("nan"))


def _leak_row(base: dict, pairs: list[dict], models: list[dict]) -> dict:
    row = dict(base, n_pairs=len(pairs))
    for g in GROUPS:
        row[f"stat_{g}"], row[f"stat_{g}_std"] = _mean_std([p[g] for p in pairs])
        row[f"struct_{g}"], row[f"struct_{g}_std"] = _mean_std(
            [m["structural"][g] for m in models])
    # Efficiency of the mean errors: per-pair ratios explode when perm ~ rigid.
    row["ica_efficiency"] = ica_efficiency(row["stat_perm"], row["stat_ica"], row["stat_rigid"])
    row["struct_ica_efficiency"] = ica_efficiency(row["struct_perm"], row["struct_ica"],
                                                  row["struct_rigid"])
    for when in ("before", "after"):
        for s in SCORES:
            row[f"{s}_{when}"] = _mean_std([m[when][s] for m in models])[0]
    row["ica_not_converged"] = sum(not m["ica_converged"] for m in models)
    return row


def trends(rows: list[dict]) -> dict[str, float | bool]:
    """Headline checks of the paper's warm-up on this sweep (PAPER.md §3)."""
    def col(k):
        return np.array([r[k] for r in rows], float)

    def rank(a, b):
        ok = np.isfinite(a) & np.isfinite(b)
        return float(spearmanr(a[ok], b[ok])[0]) if ok.sum() >= 3 else float("nan")

    perm, ica, rigid, lin = (_finite_mean(col(f"stat_{g}"))
                             for g in ("perm", "ica", "rigid", "linear"))
    return {
        "rank_corr_rigid_vs_L_max": rank(col("L_max"), col("stat_rigid")),
        "rank_corr_rigid_vs_L_mean": rank(col("L_mean"), col("stat_rigid")),
        "rank_corr_recon_vs_leak": rank(col("leak"), col("recon_mse")),
        "perm_ge_rigid_ge_linear": bool(perm >= rigid >= lin),
        "perm_ge_ica": bool(perm >= ica), "ica_ge_rigid": bool(ica >= rigid),
        "mean_mcc_gain_from_ica": _finite_mean(col("mcc_after") - col("mcc_before")),
    }


def _finite_mean(a: np.ndarray) -> float:
    """Mean of the finite entries; nan when there are none (e.g. one seed: no pairs)."""
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")
