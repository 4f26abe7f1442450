"""The paper's reported numbers (PAPER.md §5) and the warm-up claims (§3), as rows."""

from __future__ import annotations

import math

REPORTED = "reported in the paper"
COMPUTED = "computed here"

TABLE1 = [  # ℓ2 error / latent diameter, pairs of pretrained models
    ("Pythia-160M seed 0 → seed 1", 0.219, 0.150, 0.131, 0.202, 0.25),
    ("MAE (timm → original)", 0.197, 0.109, 0.036, 0.145, 0.59),
    ("CheXpert MAE small → base", 0.218, 0.104, 0.048, 0.175, 0.38),
    ("ResNet-18 fc run 1 → run 2", 0.382, 0.206, 0.175, 0.312, 0.40),
]
TABLE2_MEAN = [  # InfoM / InfoE / InfoC, mean over four datasets
    ("AE", 0.39, 0.76, 0.25), ("AE + ICA", 0.65, 0.83, 0.40), ("β-VAE", 0.59, 0.81, 0.55),
    ("β-TCVAE", 0.58, 0.72, 0.59), ("BioAE", 0.54, 0.75, 0.36),
]
TABLE2_DATASETS = [  # dataset, AE (M, E, C), AE + ICA (M, E, C)
    ("Shapes3D", (0.34, 0.99, 0.16), (0.79, 0.99, 0.52)),
    ("MPI3D", (0.42, 0.40, 0.31), (0.44, 0.66, 0.31)),
    ("Falcor3D", (0.37, 0.83, 0.20), (0.71, 0.83, 0.33)),
    ("Isaac3D", (0.41, 0.80, 0.34), (0.64, 0.82, 0.43)),
]
TABLE34 = [  # post-processing of OpenPhenom MAE embeddings
    ("Base (raw)", 0.163, 0.682), ("PCA (whitened)", 0.332, 0.724),
    ("PCA + ICA", 0.386, 0.749), ("PCA + random rotation", 0.287, 0.725),
]


def table1() -> list[dict]:
    return [{"pair": p, "perm": a, "rigid": b, "linear": c, "ica": d, "ica_efficiency": e,
             "source": REPORTED} for p, a, b, c, d, e in TABLE1]


def table2() -> list[dict]:
    rows = [{"model": m, "InfoM": a, "InfoE": b, "InfoC": c, "data": "mean of 4 datasets",
             "source": REPORTED} for m, a, b, c in TABLE2_MEAN]
    for name, ae, ica in TABLE2_DATASETS:
        for model, v in (("AE", ae), ("AE + ICA", ica)):
            rows.append({"model": model, "InfoM": v[0], "InfoE": v[1], "InfoC": v[2],
                         "data": name, "source": REPORTED})
    return rows


def table34() -> list[dict]:
    return [{"post-processing": p, "biological signal in top 25% features": s,
             "EIF3H AUROC": a, "source": REPORTED} for p, s, a in TABLE34]


def computed_table1(rows: list[dict]) -> list[dict]:
    """Our Table-1 analogue: seed pairs of the warm-up autoencoders, one row per leak."""
    return [{"pair": f"AE seed pairs, leak {r['leak']:g}", "perm": r["perm"],
             "rigid": r["rigid"], "linear": r["linear"], "ica": r["ica"],
             "ica_efficiency": r["ica_efficiency"], "source": COMPUTED} for r in rows]


def computed_table2(rows: list[dict]) -> list[dict]:
    """Our Table-2 analogue: InfoMEC of the AE latents before and after ICA, per leak."""
    out = []
    for r in rows:
        for model, w in (("AE", "before"), ("AE + ICA", "after")):
            out.append({"model": model, "InfoM": r[f"infom_{w}"], "InfoE": r[f"infoe_{w}"],
                        "InfoC": r[f"infoc_{w}"], "data": f"warm-up, leak {r['leak']:g}",
                        "source": COMPUTED})
    return out


def _mark(ok) -> str:
    if ok is None or (isinstance(ok, float) and math.isnan(ok)):
        return "n/a (too few leaks)"
    return "agrees" if ok else "differs"


def claims(trends: dict) -> list[dict]:
    """The warm-up's headline claims next to this sweep's checks."""
    def val(k):
        v = trends.get(k)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    def num(v) -> str:
        return "n/a" if v is None else f"{v:+.3f}"

    def yes(v) -> str:
        return "n/a" if v is None else ("yes" if v else "no")

    rc_rigid, rc_recon = val("rank_corr_rigid_vs_L_max"), val("rank_corr_recon_vs_leak")
    gain = val("mean_mcc_gain_from_ica")
    order, perm_ica = val("perm_ge_rigid_ge_linear"), val("perm_ge_ica")
    return [
        {"claim": "rigid error grows with L (Fig. 2 / A.4)", "check": "rank corr(L_max, rigid)",
         "computed here": num(rc_rigid),
         "verdict": _mark(None if rc_rigid is None else rc_rigid > 0)},
        {"claim": "reconstruction improves as α → 1 (A.5)", "check": "rank corr(α, recon MSE)",
         "computed here": num(rc_recon),
         "verdict": _mark(None if rc_recon is None else rc_recon < 0)},
        {"claim": "perm ≥ rigid ≥ linear (Table 1)", "check": "mean errors over leaks",
         "computed here": yes(order), "verdict": _mark(order)},
        {"claim": "ICA improves on raw axes (Table 1)", "check": "perm ≥ ICA (mean errors)",
         "computed here": yes(perm_ica), "verdict": _mark(perm_ica)},
        {"claim": "ICA raises MCC (Table 2 spirit)", "check": "mean MCC gain from ICA",
         "computed here": num(gain), "verdict": _mark(None if gain is None else gain > 0)},
    ]
