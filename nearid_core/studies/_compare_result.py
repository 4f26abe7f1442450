"""The Compare study's result: rows per ordered pair, notes, maps, and their exports."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nearid_core.config import json_safe, to_dict
from nearid_core.science import efficiency
from nearid_core.studies._compare_config import CI_LEVEL, CompareConfig

__all__ = ["TABLE_COLUMNS", "CompareResult", "json_safe"]

TABLE_COLUMNS = (
    "a", "b", "d_a", "d_b", "k_common",
    "perm", "perm_lo", "perm_hi", "rigid", "rigid_lo", "rigid_hi",
    "linear", "linear_lo", "linear_hi", "ica", "ica_lo", "ica_hi",
    "ica_efficiency", "efficiency", "ica_vs_linear", "cka", "procrustes_angle",
    "diameter_exact", "ica_converged",
)


@dataclass(frozen=True, eq=False)
class CompareResult:
    """Everything ``compare`` found, for the screen and for export.

    Attributes
    ----------
    names : tuple of str
        Embedding names, in input order.
    config : CompareConfig
    rows : list of dict
        One per ordered pair (``a`` reference, ``b`` candidate); keys in ``compare``'s Notes.
    ica_components : dict
        name -> number of principal components ICA ran on.
    ica_details : dict
        name -> {"k", "rule", "explained", "converged", "message"}.
    notes : list of str
        Plain sentences for the screen (conventions, caps, skipped work, warnings).
    maps : dict
        (a, b) -> group -> (matrix (d_b, d_t), offset (d_t,)) on raw rows of b, main split.
    ica_maps : dict
        name -> (matrix (d, k), offset (k,)): raw rows -> that embedding's ICA sources.
    truth : dict
        name -> {"before": scores, "after": scores} with ``factors``; else empty.
    per_label : list of dict
        One per (ordered pair, label) with enough eval rows; empty without ``labels``.
    """

    names: tuple[str, ...]
    config: CompareConfig
    rows: list[dict]
    ica_components: dict[str, int]
    ica_details: dict[str, dict]
    notes: list[str]
    maps: dict = field(repr=False)
    ica_maps: dict = field(repr=False)
    truth: dict = field(default_factory=dict)
    per_label: list[dict] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """The Table-1 view: one line per ordered pair, ``TABLE_COLUMNS`` in order.

        ``efficiency`` is the short cell text of ``efficiency.short`` ("85%" or the reason).
        """
        lines = [{**r, "efficiency": efficiency.short(r["ica_efficiency"],
                                                       r["ica_efficiency_note"])}
                 for r in self.rows]
        return pd.DataFrame(lines, columns=list(TABLE_COLUMNS))

    def to_json_dict(self) -> dict:
        """JSON-safe summary (no maps): ``json.dumps(..., allow_nan=False)`` accepts it."""
        return json_safe({
            "names": list(self.names), "config": to_dict(self.config),
            "ci_level": CI_LEVEL, "rows": self.rows, "ica_components": self.ica_components,
            "ica_details": self.ica_details, "notes": self.notes, "truth": self.truth,
            "per_label": self.per_label,
        })

    def maps_npz_dict(self) -> dict[str, np.ndarray]:
        """Flat float64 arrays for ``np.savez``: ``A__B__rigid_matrix``, ``A__ica_offset`` ..."""
        out = {}
        for (a, b), groups in self.maps.items():
            for g, (matrix, offset) in groups.items():
                out[f"{a}__{b}__{g}_matrix"] = np.asarray(matrix, np.float64)
                out[f"{a}__{b}__{g}_offset"] = np.asarray(offset, np.float64)
        for name, (matrix, offset) in self.ica_maps.items():
            out[f"{name}__ica_matrix"] = np.asarray(matrix, np.float64)
            out[f"{name}__ica_offset"] = np.asarray(offset, np.float64)
        return out
