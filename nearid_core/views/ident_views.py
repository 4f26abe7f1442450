"""Identifiability views of a stored sweep: error curves against L with the Theorem-1 fits,
the per-leak identifiability table, the warm-up's claims and what drives L.

Plain rows and arrays for the pages, the command line and the HTML report (no plotting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nearid_core.studies import claims as claims_mod
from nearid_core.studies import summary
from nearid_core.views.results import N_HIDDEN_DECODER, VIEWS, SweepView

GROUPS = summary.GROUPS
UNIT = {"statistical": "seed pairs", "structural": "models"}


@dataclass(frozen=True)
class ErrorCurves:
    """ℓ2 alignment error per leak, against L, for each group.

    L, leaks : (k,) per leak (L is the ``L_kind`` summary over seeds); mean, std : group ->
    (k,) over units; points : group -> (L of each unit, its error), a unit being a seed pair
    (L = the larger of its two models') or a model (structural); fits : group ->
    {"leak": Theorem1Fit, "unit": Theorem1Fit}.
    """

    view: str
    L_kind: str
    leaks: np.ndarray
    L: np.ndarray
    mean: dict
    std: dict
    points: dict
    fits: dict


def error_curves(view: SweepView, *, kind: str = "statistical",
                 L_kind: str = "L_max_max") -> ErrorCurves:
    """Identifiability error against the bi-Lipschitz excess L, with Theorem-1 fits.

    Parameters
    ----------
    kind : "statistical" (seed pairs) or "structural" (each model against u).
    L_kind : one of ``summary.L_SUMMARIES`` (a bare "L_max" / "L_mean" is the seed mean).

    Notes
    -----
    The fit ``c * sqrt(2L + L^2)`` tests the proportionality of Theorem 1 only: its constant
    is fitted, and L is estimated at held-out points, not certified.
    """
    if kind not in VIEWS:
        raise ValueError(f"kind must be one of {VIEWS}, got {kind!r}")
    base, over = summary.split_L(L_kind)
    key = f"{base}_{over}"
    rows, runs = view.per_leak, view.runs()
    prefix = "stat" if kind == "statistical" else "struct"
    leaks = np.array([r["leak"] for r in rows], float)
    L = np.array([r[key] for r in rows], float)
    mean = {g: np.array([r[f"{prefix}_{g}"] for r in rows], float) for g in GROUPS}
    std = {g: np.array([r[f"{prefix}_{g}_std"] for r in rows], float) for g in GROUPS}
    us = summary.units(view.analysis or {}, runs, kind)
    points = {g: (np.concatenate([us[a][base] for a in leaks if a in us] or [np.array([])]),
                  np.concatenate([us[a][g] for a in leaks if a in us] or [np.array([])]))
              for g in GROUPS}
    fits = summary.theorem1_fits(view.analysis or {}, runs, kind=kind, L_kind=key)
    return ErrorCurves(kind, key, leaks, L, mean, std, points, fits)


def fit_rows(curves: ErrorCurves, groups=("rigid",)) -> list[dict]:
    """The fits of ``groups`` as table rows, over leaks and over units, with their caveats."""
    base = summary.split_L(curves.L_kind)[0]
    rows = []
    for g in groups:
        unit_L = (f"the pair's larger {base}" if curves.view == "statistical"
                  else f"each model's {base}")
        for basis, what, L in (("leak", "leaks", curves.L_kind),
                               ("unit", UNIT[curves.view], unit_L)):
            f = curves.fits[g][basis]
            rows.append({"group": g, "fit over": what, "L": L, "c": f.c,
                         "c_low": f.c_low, "c_high": f.c_high, "r2": f.r2,
                         "r2_line": f.r2_line, "shapes": f.shapes(),
                         "theorem": "Theorem 1 bounds this error" if g == "rigid"
                         else "not covered by Theorem 1",
                         "note": f.note(), "leaks": f.n_leaks, "points": f.n_points})
    return rows


def ident_table(view: SweepView, kind: str = "statistical") -> list[dict]:
    """Per leak: the four L summaries, the errors of each group and the guarded efficiency."""
    p = "stat_" if kind == "statistical" else "struct_"
    e = "" if kind == "statistical" else "struct_"
    return [{"leak": r["leak"], **{k: r[k] for k in summary.L_SUMMARIES},
             **{g: r[f"{p}{g}"] for g in GROUPS},
             "ica_efficiency": r[f"{e}ica_efficiency"],
             "ica_vs_linear": r[f"{e}ica_vs_linear"],
             "ica_efficiency_note": r[f"{e}ica_efficiency_note"]} for r in view.per_leak]


def claims(view: SweepView, *, L_kind: str = "L_max_max", kind: str = "statistical",
           extra: bool = False) -> list[dict]:
    """The warm-up's claims checked on this sweep (``claims.claim_rows``)."""
    prefix = "stat_" if kind == "statistical" else "struct_"
    return claims_mod.claim_rows(view.per_leak, L_kind=L_kind, prefix=prefix, extra=extra)


def _sigma_min_share(view: SweepView) -> dict[float, float] | None:
    shares = {}
    for a in view.leaks:
        sv = [m.singular_values for m in view.done
              if m.leak == a and m.singular_values is not None]
        if sv:
            s = np.concatenate(sv)  # (n, d) descending
            ok = np.all(np.isfinite(s), axis=1) & (s[:, -1] > 0)
            if ok.any():
                shares[a] = float(np.mean(1 / s[ok, -1] >= s[ok, 0]))
    return shares or None


def l_drivers(view: SweepView) -> tuple[list[dict], list[str]]:
    """Per leak what sets L (``claims.l_drivers``), and a sentence for every fall of L."""
    K = N_HIDDEN_DECODER if view.config.model.decoder == "orthogonal" else None
    rows = view.per_leak
    drivers = claims_mod.l_drivers(rows, K=K, sigma_min_share=_sigma_min_share(view))
    return drivers, claims_mod.l_dips(rows, drivers, K=K)
