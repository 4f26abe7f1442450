"""Result containers of the digits study (``realdata``): per-family numbers, the table, JSON
and the embeddings for download."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nearid_core.config import to_dict
from nearid_core.studies._realdata_summary import (
    PAPER_TABLE1,
    REGIME_RULE,
    json_safe,
    paper_rows,
)

FAMILY_LABELS = {
    "ae": "autoencoder (orthonormal decoder, leak α)",
    "mae": "masked autoencoder",
    "clf": "MLP classifier, penultimate layer",
}
TABLE_COLUMNS = (
    "source", "model", "perm", "perm_std", "rigid", "rigid_std", "linear", "linear_std", "ica",
    "ica_std", "ica_efficiency", "ica_efficiency_note", "regime", "statement", "B_median",
    "B_max", "test_accuracy", "recon_mse", "train_s", "n_pairs",
)


@dataclass(frozen=True, eq=False)
class FamilyResult:
    """One family's seeds on the held-out digits.

    embeddings : (seeds, n_test, d) float64, row i of every seed is test digit i.
    pairs : ``alignment.pairwise_errors`` rows (one per unordered seed pair).
    summary : ``summarise_pairs(pairs)``: means, stds, guarded efficiency, regime, statement.
    b_median, b_max : median and max of the per-sample decoder B(z) over every seed's test
        latents (AE, MAE; nan for the classifier); b_seed_median : (seeds,) per-seed medians.
    test_accuracy (classifier) / recon_mse (AE, MAE, clean inputs): (seeds,), else None.
    train_s, align_s : wall seconds; align_error : why alignment failed, or "".
    """

    family: str  # "ae", "mae" or "clf"
    model_seeds: list[int]
    embeddings: np.ndarray
    pairs: list[dict]
    summary: dict
    b_median: float = float("nan")
    b_max: float = float("nan")
    b_seed_median: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None
    recon_mse: np.ndarray | None = None
    train_s: float = 0.0
    align_s: float = 0.0
    align_error: str = ""

    def row(self) -> dict:
        """One table row (means over seeds where a per-seed number exists)."""
        def mean(a):
            return float(np.mean(a)) if a is not None else float("nan")
        return {"source": "ours (digits)", "model": FAMILY_LABELS[self.family], **self.summary,
                "B_median": self.b_median, "B_max": self.b_max,
                "test_accuracy": mean(self.test_accuracy), "recon_mse": mean(self.recon_mse),
                "train_s": self.train_s}


@dataclass(frozen=True, eq=False)
class RealDataResult:
    """The study's outcome; ``config`` is saved beside it."""

    config: Any  # RealDataConfig
    families: dict[str, FamilyResult]
    train_idx: np.ndarray
    test_idx: np.ndarray
    y_test: np.ndarray
    seconds: float
    extra: dict = field(default_factory=dict)

    def table(self, *, include_paper: bool = True) -> pd.DataFrame:
        """Our families (then, by default, the paper's Table 1 rows) with ``TABLE_COLUMNS``."""
        rows = [f.row() for f in self.families.values()]
        rows += paper_rows() if include_paper else []
        return pd.DataFrame(rows).reindex(columns=list(TABLE_COLUMNS))

    def to_json_dict(self) -> dict:
        """Config, per-family summaries, pair rows and per-seed numbers; NaN -> None."""
        fams = {name: {"summary": f.summary, "pairs": f.pairs, "b_median": f.b_median,
                       "b_max": f.b_max, "b_seed_median": f.b_seed_median,
                       "test_accuracy": f.test_accuracy, "recon_mse": f.recon_mse,
                       "train_s": f.train_s, "align_s": f.align_s, "align_error": f.align_error,
                       "embedding_shape": list(f.embeddings.shape),
                       "model_seeds": f.model_seeds}
                for name, f in self.families.items()}
        return json_safe({"config": to_dict(self.config), "regime_rule": REGIME_RULE,
                          "families": fams, "paper_table1": list(PAPER_TABLE1),
                          "test_idx": self.test_idx, "seconds": self.seconds})

    def embeddings_npz_dict(self, families: tuple[str, ...] | None = None) -> dict:
        """``{family}_seed{k}`` -> (n_test, d) embeddings of the same held-out digits."""
        chosen = self.families if families is None else {f: self.families[f] for f in families}
        return {f"{name}_seed{k}": emb for name, fam in chosen.items()
                for k, emb in enumerate(fam.embeddings)}
