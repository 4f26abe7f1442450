"""The paper's reported numbers (PAPER.md §5) and the warm-up claims (§3), as rows."""

from __future__ import annotations

import numpy as np

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


# Every table and figure of the paper, and the page that reproduces its analogue here:
# (the paper's item, what it shows, page file, link label, the command line's equivalent).
WHERE = (
    ("Figure 1", "two seeds agree up to a rotation; ICA finds the factors",
     "app_pages/playground_page.py", "Playground", "python -m nearid_core sweep"),
    ("Figure 2, A.4", "the ℓ2 error falls as the bi-Lipschitz constant L is controlled",
     "app_pages/identifiability_page.py", "Identifiability", "python -m nearid_core sweep"),
    ("Figure A.3", "B(z) tightens around 1 as the leak α → 0",
     "app_pages/bilipschitz_page.py", "Bi-Lipschitz", "python -m nearid_core sweep"),
    ("Figure A.5", "reconstruction improves as α → 1, yet identifiability does not need it",
     "app_pages/identifiability_page.py", "Identifiability", "python -m nearid_core sweep"),
    ("Table 1", "ℓ2 errors by alignment group between two trained models",
     "app_pages/compare_page.py", "Compare", "python -m nearid_core realdata"),
    ("Table 2", "a plain autoencoder, then ICA, is as disentangled as purpose-built models",
     "app_pages/disentangle_page.py", "Disentanglement",
     "python -m nearid_core disentangle"),
    ("Tables 3–4", "whitening + ICA concentrates biology and generalises across batches",
     "app_pages/batch_page.py", "Batch effects", "python -m nearid_core batch"),
)

PRESET_LABELS = {"paper": "the paper's warm-up preset", "tiny": "the warm-up's tiny preset"}


def sweep_label(config) -> str:
    """What the sweep is, from its config id: one of the warm-up presets (at some master
    seed), or a custom sweep.

    Nothing is called warm-up unless its settings equal a preset's (``jobs.PRESETS``) at the
    sweep's own master seed.
    """
    from nearid_core.config import config_id
    from nearid_core.studies.presets import preset

    from .jobs import PRESETS

    cid = config_id(config)
    for key in PRESETS:
        if config_id(preset(key, seed=config.seed)) == cid:
            label = PRESET_LABELS.get(key, f"the warm-up's {key} preset")
            return label + (f" (master seed {config.seed})" if config.seed else "")
    return "a custom sweep (not a warm-up preset)"


def computed_table1(rows: list[dict]) -> list[dict]:
    """Our Table-1 analogue: seed pairs of this sweep's autoencoders, one row per leak."""
    return [{"pair": f"AE seed pairs, leak {r['leak']:g}", "perm": r["perm"],
             "rigid": r["rigid"], "linear": r["linear"], "ica": r["ica"],
             "ica_efficiency": r["ica_efficiency"], "ica_vs_linear": r["ica_vs_linear"],
             "ica_efficiency_note": r["ica_efficiency_note"], "source": COMPUTED}
            for r in rows]


def computed_table2(rows: list[dict], data: str = "this sweep") -> list[dict]:
    """Our Table-2 analogue: InfoMEC of the AE latents before and after ICA, per leak.

    By the InfoMEC authors' protocol (the one behind the paper's Table 2) when the sweep
    has it; sweeps analysed before it was computed show nearid's, and say so.
    """
    out = []
    for r in rows:
        theirs = np.isfinite(r.get("infom_authors_before", np.nan))
        tag, protocol = ("_authors", "InfoMEC authors'") if theirs else ("", "nearid's")
        for model, w in (("AE", "before"), ("AE + ICA", "after")):
            out.append({"model": model, "InfoM": r[f"infom{tag}_{w}"],
                        "InfoE": r[f"infoe{tag}_{w}"], "InfoC": r[f"infoc{tag}_{w}"],
                        "data": f"{data}, leak {r['leak']:g}", "protocol": protocol,
                        "source": COMPUTED})
    return out


def claims(rows: list[dict]) -> list[dict]:
    """The warm-up's claims as table rows (from ``ident_views.claims``): claim, check,
    verdict; "holds" stays out of the table, its word is in the verdict."""
    return [{k: c[k] for k in ("claim", "check", "verdict")} for c in rows]
