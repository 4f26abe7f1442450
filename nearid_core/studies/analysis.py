"""Sweep analysis: identifiability per leak, before and after ICA, and the Theorem-1 fit.

Statistical: every pair of seeds at the same leak (PAPER.md §1). Structural: the ground
truth ``u`` against each model's latents. Both use the 50/50 fit/eval protocol of
``alignment``; every task runs through the caller's executor.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np

from nearid_core.science.fits import NA, origin_fit
from nearid_core.science.groups import GROUPS
from nearid_core.studies import summary
from nearid_core.studies.claims import claim_rows

SCORES = ("mcc", "mcc_spearman", "weak_mcc", "infom", "infoe", "infoc", "dci_d", "dci_c",
          "dci_i")
AUTHORS = ("infom_authors", "infoe_authors", "infoc_authors")  # beside the paper's Table 2


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
    # The science is imported where it runs (pool workers have it preloaded): the sweep's
    # coordinator, which only gathers results, never imports scipy.stats and the rest.
    from nearid_core.science.alignment import alignment_errors
    from nearid_core.science.ica import fit_ica
    from nearid_core.science.kernels import split_fit_eval
    from nearid_core.science.metrics import disentanglement_scores

    fit, _ = split_fit_eval(z.shape[0], seed=seed)
    ica = fit_ica(z[fit], seed=seed)
    z_ica = ica.transform(z)  # (n, d_z)
    before = disentanglement_scores(z, u, seed=seed, authors=True)
    result = {
        "before": before,
        # ICA of all latents is an invertible linear map: InfoE is carried over, not refitted
        "after": disentanglement_scores(z_ica, u, seed=seed, authors=True, same_infoe=before),
        "structural": alignment_errors(u, z, seed=seed,
                                       ica=(fit_ica(u[fit], seed=seed), ica)),
        **ica.summary(),
    }
    arrays = {"latents": z_ica, "mixing": ica.mixing, "unmixing": ica.unmixing,
              "mean": ica.mean}
    return result, arrays


def analyse_pairs(zs: list[np.ndarray], *, seed: int = 0) -> list[dict]:
    """Statistical identifiability: alignment errors for every pair of seeds."""
    from nearid_core.science.alignment import pairwise_errors

    return pairwise_errors(zs, seed=seed) if len(zs) >= 2 else []


def theorem1_fit(L: np.ndarray, err: np.ndarray) -> dict[str, float]:
    """Least squares of ``err = c * sqrt(2L + L^2)`` through the origin (the bare kernel).

    Parameters
    ----------
    L : (k,) bi-Lipschitz excess per setting; err : (k,) alignment error.

    Returns
    -------
    dict with ``c``, ``r2`` (1 - SS_res / SS_tot around the mean error) and ``n``.

    Notes
    -----
    No caveats here: ``fits.fit_per_leak`` / ``fit_per_unit`` refuse too few leaks or too
    little spread in L and add the bootstrap interval and the alternative line; show those.
    """
    L, err = np.asarray(L, float), np.asarray(err, float)
    ok = np.isfinite(L) & np.isfinite(err)
    c, r2 = origin_fit(L[ok], err[ok])
    return {"c": c, "r2": r2, "n": int(ok.sum())}


@dataclass
class SweepAnalysis:
    """Everything the tables, plots and the store need (JSON-able except ``ica``).

    per_leak : one row per leak (``summary.leak_rows``); per_model : model index ->
    analyse_model result; pairs : leak -> pairwise error dicts (with "model_a", "model_b");
    fits : statistical Theorem-1 fits (``summary.stored_fits``); claims : the warm-up's
    claims checked on this sweep (``claims.claim_rows``).
    ica : model index -> ICA arrays of that model (see ``analyse_model``).
    """

    per_leak: list[dict]
    per_model: dict[int, dict]
    pairs: dict[float, list[dict]]
    fits: dict[str, dict]
    claims: list[dict]
    ica: dict[int, dict[str, np.ndarray]]

    def to_json(self) -> dict:
        return {"per_leak": self.per_leak,
                "per_model": {str(k): v for k, v in self.per_model.items()},
                "pairs": {str(k): v for k, v in self.pairs.items()},
                "fits": self.fits, "claims": self.claims}


def analyse_sweep(leak_rows: list[dict], models: list[tuple[int, float, np.ndarray]],
                  u: np.ndarray, *, executor: Executor, seed: int = 0,
                  lipschitz: dict[int, dict] | None = None,
                  started: dict[int, Future] | None = None) -> SweepAnalysis:
    """Analyse the finished models of a sweep.

    Parameters
    ----------
    leak_rows : per-leak rows with at least "leak", "L_max", "L_mean" (the seed means, as
        ``sweep.leak_table`` gives them) and "B_max".
    models : (index, leak, latents (n, d_z)) of every model that finished.
    u : (n, d_u) ground truth of the same held-out inputs.
    executor : runs one task per model and one per leak.
    lipschitz : model index -> its metrics with "L_max" and "L_mean"; without it the
        per-leak L maxima over seeds (but L_max_max = B_max − 1) and the per-pair fits are nan.
    started : model index -> the future of ``analyse_model(z, u, seed=seed)`` submitted
        already (as each chunk of a sweep ends); the others are submitted here.
    """
    by_leak = {row["leak"]: [i for i, a, _ in models if a == row["leak"]] for row in leak_rows}
    latents = {i: z for i, _, z in models}
    started = started or {}
    model_futs = {i: started[i] if i in started else executor.submit(analyse_model, z, u, seed=seed)
                  for i, _, z in models}
    pair_futs = {a: executor.submit(analyse_pairs, [latents[i] for i in idx], seed=seed)
                 for a, idx in by_leak.items()}
    per_model, ica = {}, {}
    for i, fut in model_futs.items():
        per_model[i], ica[i] = fut.result()
    pairs = {a: [p | {"model_a": by_leak[a][p["i"]], "model_b": by_leak[a][p["j"]]}
                 for p in f.result()] for a, f in pair_futs.items()}
    leak_of = {i: a for i, a, _ in models}
    rows = [_leak_row(row, pairs[row["leak"]],
                      [per_model[i] for i in per_model if leak_of[i] == row["leak"]])
            for row in leak_rows]
    doc = {"per_leak": rows, "per_model": {str(i): r for i, r in per_model.items()},
           "pairs": {str(a): ps for a, ps in pairs.items()}}
    runs = [{"index": i, "leak": a, "status": "done", "metrics": (lipschitz or {}).get(i, {})}
            for i, a, _ in models]
    rows = summary.leak_rows(doc, runs)
    return SweepAnalysis(rows, per_model, pairs, summary.stored_fits(doc, runs),
                         claim_rows(rows, extra=True), ica)


def _mean_std(values: list[float]) -> tuple[float, float]:
    v = np.asarray([x for x in values if np.isfinite(x)], float)
    return (float(v.mean()), float(v.std())) if v.size else (NA, NA)


def _leak_row(base: dict, pairs: list[dict], models: list[dict]) -> dict:
    row = dict(base, n_pairs=len(pairs))
    for g in GROUPS:
        row[f"stat_{g}"], row[f"stat_{g}_std"] = _mean_std([p[g] for p in pairs])
        row[f"struct_{g}"], row[f"struct_{g}_std"] = _mean_std(
            [m["structural"][g] for m in models])
    for when in ("before", "after"):
        for s in SCORES:
            row[f"{s}_{when}"] = _mean_std([m[when][s] for m in models])[0]
        for s in AUTHORS:  # absent from sweeps analysed before they were computed
            row[f"{s}_{when}"] = _mean_std([m[when].get(s, NA) for m in models])[0]
    row["ica_not_converged"] = sum(not m["ica_converged"] for m in models)
    row["ica_restarts_disagree"] = sum(bool(m.get("ica_restarts_disagree")) for m in models)
    return row
