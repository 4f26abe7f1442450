"""Help texts: one place for what each number means (PAPER.md §3 conventions).

Every text ends with links to its glossary entries (``glossary.see``), so each help icon
leads to the plain definitions of the terms it uses.
"""

from nearid_core.science.efficiency import RULE as _EFFICIENCY_RULE
from nearid_core.studies.presets import PRESET_TEXTS

from .glossary import see

_LAZY = {  # texts defined beside the science they describe; imported on first use only
    "ICA_RESTARTS": ("nearid_core.science.ica", "ICA_RESTART_TEXT", ("amari", "ica")),
    "INFOE_ICA": ("nearid_core.science.infomec", "INFOE_ICA_TEXT", ("infoe", "ica")),
    "INFOE_PROTOCOL": ("nearid_core.science.infomec", "INFOE_PROTOCOL_TEXT",
                       ("infoe", "infomec", "held-out")),
}


def __getattr__(name: str) -> str:
    if name not in _LAZY:
        raise AttributeError(name)
    import importlib

    module, attr, terms = _LAZY[name]
    return getattr(importlib.import_module(module), attr) + see(*terms)

LEAK = ("Leak α ∈ [0, 1]: every hidden activation is LeakyReLU with negative slope 1 − α. "
        "α = 0 is the identity (a linear network), α = 1 is ReLU. (Some summaries of the "
        "paper call the slope itself α; nearid does not.)" + see("leak"))
B_Z = ("B(z) = max(σ₁, 1/σ_d) of the decoder Jacobian ∂g/∂z at the latent of a held-out "
       "input: ≥ 1, and 1 exactly when the decoder is a local isometry there. Estimated at "
       "sampled points, not certified over the whole latent space."
       + see("b-z", "jacobian", "estimated"))
L_MAX = ("L_max = max B(z) − 1 over one model's held-out points. Per leak, L_max_mean is its "
         "mean over the seeds and L_max_max its max (= B_max − 1)." + see("l", "b-z"))
L_MEAN = ("L_mean = mean B(z) − 1 over one model's held-out points. Per leak, L_mean_mean is "
          "its mean over the seeds and L_mean_max its max." + see("l", "b-z"))
BOUND = ("With orthogonal decoder weights every singular value of the Jacobian lies in "
         "[(1−α)^K, 1] for K = 2 hidden activations, so B(z) ≤ (1−α)^−K: the leak controls "
         "L exactly. Infinite for α = 1 (ReLU can switch a direction off)."
         + see("leak-bound", "decoder"))
GROUPS = ("Alignment groups, from large to small: linear (any invertible affine map) ⊃ rigid "
          "(rotations, reflections, translations) ⊃ signed permutation (reorder axes, flip "
          "signs). ICA = FastICA on each side, then a signed permutation. Smaller group = "
          "stronger statement."
          + see("alignment-group", "affine", "rigid", "signed-permutation", "ica"))
_ERROR = ("ℓ2 alignment error: fit the map h on half of the held-out points, report "
          "mean ‖A − h(B)‖ / diameter(A) on the other half.")
ERROR = _ERROR + see("alignment-error", "held-out")
STATISTICAL = ("Statistical: two seeds of the same configuration against each other (every "
               "pair) — 'the same every time, up to h'." + see("statistical", "seed-pair"))
STRUCTURAL = ("Structural: each model against the ground-truth factors u — 'right every time, "
              "up to h'. Isometric data keep the same units, so no scaling is needed."
              + see("structural", "factors"))
EFFICIENCY = ("ICA efficiency = (perm − ICA) / (perm − rigid): the share of the gap between "
              "the best raw-axis alignment and the best supervised rigid alignment that "
              "unsupervised ICA closes. Above 100% means ICA beat the rigid fit. " + _EFFICIENCY_RULE
              + see("ica-efficiency", "rigid", "signed-permutation"))
FIT = ("Theorem 1 predicts error ∝ sqrt(2L + L²). The constant c is fitted by least squares "
       "through the origin (the theorem's c_D·Δ is unknown); R² says how well the shape holds."
       + see("theorem-1-fit", "theorem-1", "r2"))
RECON = ("Mean squared reconstruction error per coordinate on held-out inputs."
         + see("reconstruction-error"))
MCC = ("MCC: mean |correlation| of latents and factors matched one-to-one (Hungarian), "
       "matched on one half of the points and scored on the other. 1 = each factor is an "
       "affine function of one latent." + see("mcc", "hungarian"))
_INFOMEC = ("InfoM (modularity), InfoE (explicitness), InfoC (compactness) from normalised "
            "mutual information between latents and binned factors (Hsu et al. 2023); "
            "1 = best.")
INFOMEC = _INFOMEC + see("infom", "infoe", "infoc", "mutual-information")
DCI = ("DCI disentanglement / completeness / informativeness with Lasso importances."
       + see("dci"))
ESTIMATED = ("Estimated, not certified: B(z) is a Jacobian at sampled points, and the "
             "absolute ε of Theorem 1 is not computable (unknown c_D), only its "
             "proportionality.")  # a caption (the sidebar's), not a help text: no links
UMAP = ("UMAP is computed in the background on at most 5,000 points and cached; PCA is shown "
        "meanwhile. The first fit of a server compiles code first (about 20 s on the "
        "benchmark machine, later fits about 6 s: BENCHMARKS.md)." + see("umap", "pca"))
PRESET = (PRESET_TEXTS["tiny"] + " The duration beside each preset is measured: the stored "
          "timings of an identical sweep trained before, else this machine's estimate."
          + see("sweep", "seed"))
DECODER = ("orthogonal: weights with orthonormal columns (widths must not shrink from latent "
           "to data, so d_z ≤ width ≤ d_x), which makes B(z) ≤ (1−α)^−2. free: ordinary "
           "weights with weight decay; B(z) is only measured." + see("decoder", "leak-bound"))

COLUMNS = {
    "leak": LEAK, "models": "Models of this leak that finished training." + see("sweep"),
    "failed": "Models whose training diverged (loss became nan or inf)." + see("training"),
    "recon_mse": RECON, "B_median": "Median of B(z) over held-out points. " + B_Z,
    "B_q90": "90% quantile of B(z)." + see("b-z"),
    "B_max": "Largest B(z) seen." + see("b-z", "estimated"),
    "L_max": L_MAX, "L_mean": L_MEAN, "bound": BOUND,
    "perm": "Error after the best signed permutation. " + _ERROR
            + see("signed-permutation", "alignment-error"),
    "rigid": "Error after the best rigid map (orthogonal Procrustes). " + _ERROR
             + see("rigid", "alignment-error"),
    "linear": "Error after the best affine map (least squares). " + _ERROR
              + see("affine", "alignment-error"),
    "ica": "Error after FastICA on both sides and a signed permutation. " + _ERROR
           + see("ica", "alignment-error"),
    "ica_efficiency": EFFICIENCY,
    "ica_converged": "Whether FastICA converged." + see("ica", "amari"),
    "status": "queued, running, done, failed (see reason), cancelled, or interrupted (the "
              "process that trained it ended; see reason)." + see("sweep"),
    "damaged": "Why this model's saved files cannot be read; it is left out of the result "
               "pages (the rest of the sweep is fine)." + see("run-store"),
    "reason": "Why a model failed or stopped." + see("training"),
    "mcc_before": MCC, "mcc_after": MCC, "c": FIT,
    "r2": "R² of the Theorem-1 fit (1 = the curve explains all variation)."
          + see("r2", "theorem-1-fit"),
    "model": "Index of the model in the sweep (leak-major)." + see("sweep"),
    "seed": "The model's seed." + see("seed"),
    "model_a": "First model of the pair." + see("seed-pair"),
    "model_b": "Second model of the pair." + see("seed-pair"),
    "seed_a": "Seed of the first model." + see("seed-pair"),
    "seed_b": "Seed of the second model." + see("seed-pair"),
    "group": GROUPS, "leaks": "Leaks in the Theorem-1 fit." + see("theorem-1-fit", "leak"),
    "metric": "Disentanglement metric: MCC, InfoM, InfoE, InfoC or DCI."
              + see("disentanglement", "mcc", "infomec", "dci"),
    "before": "On the autoencoder's latents." + see("latent"),
    "after": "On the same latents after ICA." + see("ica"),
    "change": "after − before (positive = ICA helped)." + see("ica", "disentanglement"),
    "InfoM": _INFOMEC + see("infom", "mutual-information"),
    "InfoE": _INFOMEC + see("infoe"), "InfoC": _INFOMEC + see("infoc", "mutual-information"),
    "source": "Whether the number is reported in the paper or computed by this app.",
    "pair": "Which two representations are aligned." + see("alignment-group", "seed-pair"),
    "claim": "A headline result of the paper's warm-up experiment." + see("warm-up"),
    "check": "How this app tests the claim on the chosen sweep." + see("warm-up"),
    "computed here": "The check's value on this sweep." + see("warm-up"),
    "verdict": "Whether this sweep agrees with the paper's claim." + see("warm-up"),
    "sweep": "Sweep id (a unique prefix works in links: ?sweep=abc123)." + see("sweep"),
    "progress": "Share of the sweep done (training, then analysis)." + see("sweep"),
    "done": "Models that finished." + see("sweep"),
    "data": "Data-generating process." + see("data-process"),
    "name": "Optional name given at submission." + see("sweep"),
    "created": "When the sweep was submitted." + see("sweep"),
    "n": "Samples drawn (20% held out by default)." + see("held-out"),
    "d_u": "Number of ground-truth factors." + see("factors"),
    "epochs": "Training epochs per model." + see("training"), "decoder": DECODER,
    "master seed": "The sweep's --seed: model seeds are seed × 1000 + seed index."
                   + see("seed"),
}
