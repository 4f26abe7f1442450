"""Help texts: one place for what each number means (PAPER.md §3 conventions)."""

from nearid_core.science.efficiency import RULE as _EFFICIENCY_RULE
from nearid_core.studies.presets import PRESET_TEXTS

_LAZY = {  # texts defined beside the science they describe; imported on first use only
    "ICA_RESTARTS": ("nearid_core.science.ica", "ICA_RESTART_TEXT"),
    "INFOE_ICA": ("nearid_core.science.infomec", "INFOE_ICA_TEXT"),
    "INFOE_PROTOCOL": ("nearid_core.science.infomec", "INFOE_PROTOCOL_TEXT"),
}


def __getattr__(name: str) -> str:
    if name not in _LAZY:
        raise AttributeError(name)
    import importlib

    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module), attr)

LEAK = ("Leak α ∈ [0, 1]: every hidden activation is LeakyReLU with negative slope 1 − α. "
        "α = 0 is the identity (a linear network), α = 1 is ReLU. (Some summaries of the "
        "paper call the slope itself α; nearid does not.)")
B_Z = ("B(z) = max(σ₁, 1/σ_d) of the decoder Jacobian ∂g/∂z at the latent of a held-out "
       "input: ≥ 1, and 1 exactly when the decoder is a local isometry there. Estimated at "
       "sampled points, not certified over the whole latent space.")
L_MAX = ("L_max = max B(z) − 1 over one model's held-out points. Per leak, L_max_mean is its "
         "mean over the seeds and L_max_max its max (= B_max − 1).")
L_MEAN = ("L_mean = mean B(z) − 1 over one model's held-out points. Per leak, L_mean_mean is "
          "its mean over the seeds and L_mean_max its max.")
BOUND = ("With orthogonal decoder weights every singular value of the Jacobian lies in "
         "[(1−α)^K, 1] for K = 2 hidden activations, so B(z) ≤ (1−α)^−K: the leak controls "
         "L exactly. Infinite for α = 1 (ReLU can switch a direction off).")
GROUPS = ("Alignment groups, from large to small: linear (any invertible affine map) ⊃ rigid "
          "(rotations, reflections, translations) ⊃ signed permutation (reorder axes, flip "
          "signs). ICA = FastICA on each side, then a signed permutation. Smaller group = "
          "stronger statement.")
ERROR = ("ℓ2 alignment error: fit the map h on half of the held-out points, report "
         "mean ‖A − h(B)‖ / diameter(A) on the other half.")
STATISTICAL = ("Statistical: two seeds of the same configuration against each other (every "
               "pair) — 'the same every time, up to h'.")
STRUCTURAL = ("Structural: each model against the ground-truth factors u — 'right every time, "
              "up to h'. Isometric data keep the same units, so no scaling is needed.")
EFFICIENCY = ("ICA efficiency = (perm − ICA) / (perm − rigid): the share of the gap between "
              "the best raw-axis alignment and the best supervised rigid alignment that "
              "unsupervised ICA closes. Above 100% means ICA beat the rigid fit. " + _EFFICIENCY_RULE)
FIT = ("Theorem 1 predicts error ∝ sqrt(2L + L²). The constant c is fitted by least squares "
       "through the origin (the theorem's c_D·Δ is unknown); R² says how well the shape holds.")
RECON = "Mean squared reconstruction error per coordinate on held-out inputs."
MCC = ("MCC: mean |correlation| of latents and factors matched one-to-one (Hungarian), "
       "matched on one half of the points and scored on the other. 1 = each factor is an "
       "affine function of one latent.")
INFOMEC = ("InfoM (modularity), InfoE (explicitness), InfoC (compactness) from normalised "
           "mutual information between latents and binned factors (Hsu et al. 2023); "
           "1 = best.")
DCI = "DCI disentanglement / completeness / informativeness with Lasso importances."
ESTIMATED = ("Estimated, not certified: B(z) is a Jacobian at sampled points, and the "
             "absolute ε of Theorem 1 is not computable (unknown c_D), only its "
             "proportionality.")
UMAP = ("UMAP is computed in the background on at most 5,000 points and cached; PCA is shown "
        "meanwhile. The first fit of a server compiles code first (about 20 s on the "
        "benchmark machine, later fits about 6 s: BENCHMARKS.md).")
PRESET = (PRESET_TEXTS["tiny"] + " The duration beside each preset is measured: the stored "
          "timings of an identical sweep trained before, else this machine's estimate.")
DECODER = ("orthogonal: weights with orthonormal columns (widths must not shrink from latent "
           "to data, so d_z ≤ width ≤ d_x), which makes B(z) ≤ (1−α)^−2. free: ordinary "
           "weights with weight decay; B(z) is only measured.")

COLUMNS = {
    "leak": LEAK, "models": "Models of this leak that finished training.",
    "failed": "Models whose training diverged (loss became nan or inf).",
    "recon_mse": RECON, "B_median": "Median of B(z) over held-out points. " + B_Z,
    "B_q90": "90% quantile of B(z).", "B_max": "Largest B(z) seen.",
    "L_max": L_MAX, "L_mean": L_MEAN, "bound": BOUND,
    "perm": "Error after the best signed permutation. " + ERROR,
    "rigid": "Error after the best rigid map (orthogonal Procrustes). " + ERROR,
    "linear": "Error after the best affine map (least squares). " + ERROR,
    "ica": "Error after FastICA on both sides and a signed permutation. " + ERROR,
    "ica_efficiency": EFFICIENCY, "ica_converged": "Whether FastICA converged.",
    "status": "queued, running, done, failed (see reason), cancelled, or interrupted (the "
              "process that trained it ended; see reason).",
    "damaged": "Why this model's saved files cannot be read; it is left out of the result "
               "pages (the rest of the sweep is fine).",
    "reason": "Why a model failed or stopped.", "mcc_before": MCC, "mcc_after": MCC,
    "c": FIT, "r2": "R² of the Theorem-1 fit (1 = the curve explains all variation).",
    "model": "Index of the model in the sweep (leak-major).", "seed": "The model's seed.",
    "model_a": "First model of the pair.", "model_b": "Second model of the pair.",
    "seed_a": "Seed of the first model.", "seed_b": "Seed of the second model.",
    "group": GROUPS, "leaks": "Leaks in the Theorem-1 fit.",
    "metric": "Disentanglement metric. " + MCC, "before": "On the autoencoder's latents.",
    "after": "On the same latents after ICA.", "change": "after − before (positive = ICA helped).",
    "InfoM": INFOMEC, "InfoE": INFOMEC, "InfoC": INFOMEC,
    "source": "Whether the number is reported in the paper or computed by this app.",
    "pair": "Which two representations are aligned.",
    "claim": "A headline result of the paper's warm-up experiment.",
    "check": "How this app tests the claim on the chosen sweep.",
    "computed here": "The check's value on this sweep.",
    "verdict": "Whether this sweep agrees with the paper's claim.",
    "sweep": "Sweep id (a unique prefix works in links: ?sweep=abc123).",
    "progress": "Share of the sweep done (training, then analysis).",
    "done": "Models that finished.", "data": "Data-generating process.",
    "name": "Optional name given at submission.", "created": "When the sweep was submitted.",
    "n": "Samples drawn (20% held out by default).", "d_u": "Number of ground-truth factors.",
    "epochs": "Training epochs per model.", "decoder": DECODER,
    "master seed": "The sweep's --seed: model seeds are seed × 1000 + seed index.",
}
