"""Help texts of the identifiability columns (L summaries, guarded efficiency, fits, claims).

Kept beside ``texts`` and merged into ``texts.COLUMNS`` on import, so every table that shows
these columns explains them.
"""

from __future__ import annotations

from nearid_core.science import fits

from . import texts
from .glossary import see

_PER_MODEL = "over one model's held-out points"
L_MAX_MODEL = (f"L_max = max B(z) − 1 {_PER_MODEL} (for a seed pair: the larger of its two "
               "models' L_max)." + see("l", "b-z", "seed-pair"))
L_MEAN_MODEL = (f"L_mean = mean B(z) − 1 {_PER_MODEL} (for a seed pair: the larger of its two "
                "models' L_mean)." + see("l", "b-z", "seed-pair"))
L_SEEDS = ("Per leak: the max (L_max_max, L_mean_max) or the mean (L_max_mean, L_mean_mean) "
           "over the leak's seeds of each model's L_max = max B(z) − 1 or L_mean = mean "
           "B(z) − 1. L_max_max = B_max − 1." + see("l", "seed"))
EFFICIENCY = texts.EFFICIENCY  # already ends with efficiency.RULE and its glossary links
FIT = ("Theorem 1 predicts the rigid error ∝ √(2L + L²). c is fitted through the origin "
       f"(the theorem's c_D·Δ is unknown) on ≥ {fits.MIN_LEAKS} leaks whose L spans "
       f"≥ {fits.MIN_L_SPREAD:g}; otherwise there is no fit and the note says why."
       + see("theorem-1-fit", "theorem-1", "l"))

COLUMNS = {
    "L_max_max": "Max over the leak's seeds of each model's max B(z) − 1 (= B_max − 1)."
                 + see("l"),
    "L_max_mean": "Mean over the leak's seeds of each model's max B(z) − 1." + see("l"),
    "L_mean_max": "Max over the leak's seeds of each model's mean B(z) − 1." + see("l"),
    "L_mean_mean": "Mean over the leak's seeds of each model's mean B(z) − 1." + see("l"),
    "L_max": L_MAX_MODEL, "L_mean": L_MEAN_MODEL,
    "ica_efficiency": EFFICIENCY,
    "ica_efficiency_note": ("Why the efficiency is n/a (the raw axes are already as good as a "
                            "rotation; ICA worse than the raw axes), or what a value above "
                            "100% means." + see("ica-efficiency")),
    "ica_vs_linear": ("ICA error / linear error: 1 = ICA is as good as the best linear map "
                      "(the whitened frame ICA starts from), which can beat any rotation."
                      + see("ica", "affine", "whitening")),
    "gap_se": "Standard error of perm − rigid over the leak's seed pairs."
              + see("ica-efficiency", "seed-pair"),
    "c": FIT,
    "c_low": (f"Lower end of the {fits.CI:.0%} bootstrap interval of c: seed pairs (or models) "
              f"resampled within each leak, {fits.N_BOOT} times, with a fixed seed."
              + see("bootstrap", "theorem-1-fit")),
    "c_high": f"Upper end of the {fits.CI:.0%} bootstrap interval of c." + see("bootstrap"),
    "r2": ("R² of c·√(2L + L²) through the origin; below 0 it is further from the errors than "
           "their mean (worse than a constant)." + see("r2", "theorem-1-fit")),
    "r2_line": "R² of the straight line a + bL (two parameters) on the same points."
               + see("r2"),
    "shapes": ("Whether the data tell √(2L + L²) and a + bL apart: one shape must leave at "
               f"most 1/{fits.SHAPE_RATIO:g} of the other's unexplained variance (1 − R²)."
               + see("theorem-1-fit", "r2")),
    "theorem": ("Theorem 1 bounds the rigid error only; a fit of another group tests the same "
                "shape with no theorem behind it." + see("theorem-1", "alignment-group")),
    "note": "The fit's caveat: why there is no fit, or what a negative R² means."
            + see("theorem-1-fit", "r2"),
    "fit over": ("One point per leak (its L summary, mean error over its seed pairs) or one "
                 "per seed pair (L = the larger of its two models' L)."
                 + see("theorem-1-fit", "seed-pair")),
    "L": "The L the fit is drawn against." + see("l"),
    "points": "Points in the fit." + see("theorem-1-fit"),
    "leaks": "Leaks with errors in the fit." + see("theorem-1-fit", "leak"),
    "k_median": ("k with B = (1 − α)^−k at the median point: how much of the leaky slope the "
                 "decoder reaches (0 ≤ k ≤ K = 2 for an orthogonal decoder)."
                 + see("leak-bound", "b-z")),
    "k_max": "k at the point with the largest B(z)." + see("leak-bound"),
    "B_from_sigma_min": ("Share of held-out points where B(z) is 1/σ_min (the decoder shrinks "
                         "a direction) rather than σ_max (it stretches one)."
                         + see("b-z", "jacobian")),
    "holds": "True: the claim holds on this sweep; False: it does not; empty: cannot tell."
             + see("warm-up"),
    "verdict": "Computed from this sweep, with the number that decided it." + see("warm-up"),
}
texts.COLUMNS.update(COLUMNS)
