"""One Table-1 row per ordered pair: normalised errors, intervals, guarded ICA efficiency.

Normalisers (PAPER.md §3): the diameter of the reference's eval rows on the main split, in
the coordinates the map lands in: raw A for linear (and for perm/rigid at equal widths), A's
top-k principal scores for perm/rigid at different widths, ICA(A) for ica. The re-drawn
splits divide by the same main-split diameters (see ``compare``'s Notes).
"""

from __future__ import annotations

import numpy as np

from nearid_core.science import efficiency
from nearid_core.science.fits import NA
from nearid_core.studies._compare_config import CI_LEVEL, CompareConfig
from nearid_core.studies._compare_kernels import Fitted
from nearid_core.studies._compare_pairs import GROUPS, common_key
from nearid_core.studies._compare_prep import Prepared

__all__ = ["interval", "normalisers", "pair_row", "raw_maps"]


def interval(point: float, values: np.ndarray) -> tuple[float, float]:
    """``CI_LEVEL`` spread of ``values`` around their median, placed at ``point``.

    ``point + percentiles(values - median(values))`` at (1 - CI_LEVEL)/2 and its mirror:
    how far re-drawn splits move the number, around the number reported. It always holds
    ``point`` (the median deviation is 0). NaN with fewer than 2 finite values.
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size < 2 or not np.isfinite(point):
        return NA, NA
    tail = 100 * (1 - CI_LEVEL) / 2
    lo, hi = np.percentile(v - np.median(v), [tail, 100 - tail])
    return float(point + lo), float(point + hi)


def normalisers(pa: Prepared, pb: Prepared, ev: np.ndarray, config: CompareConfig) -> dict:
    """Diameter per group for reference ``pa`` against ``pb``, and whether all are exact."""
    full = pa.diameter("full", ev, config)
    key = common_key(pa, pb)
    common = full if key == "full" else pa.diameter(key, ev, config)
    ica = pa.diameter("ica", ev, config) if pa.sources is not None else (NA, True)
    out = {"perm": common[0], "rigid": common[0], "linear": full[0], "ica": ica[0]}
    out["exact"] = bool(full[1] and common[1] and ica[1])
    return out


def _gap_se(boot: dict, norm: dict) -> float:
    """Spread of perm - rigid over the re-drawn splits: the noise of a single split's gap."""
    gap = boot["perm"] / norm["perm"] - boot["rigid"] / norm["rigid"]
    gap = gap[np.isfinite(gap)]
    return float(gap.std(ddof=1)) if gap.size >= 2 else NA


def pair_row(pa: Prepared, pb: Prepared, main: dict[str, Fitted], boot: dict | None,
             norm: dict, n_fit: int) -> dict:
    """The row of (reference ``pa``, candidate ``pb``); ``boot`` maps group -> (n_boot,)."""
    key = common_key(pa, pb)
    row = {"a": pa.name, "b": pb.name, "d_a": pa.width, "d_b": pb.width,
           "k_common": pa.width if key == "full" else key}
    for g in GROUPS:
        row[g] = float(main[g].norms.mean() / norm[g]) if g in main else NA
        lo, hi = interval(row[g], boot[g] / norm[g]) if boot is not None else (NA, NA)
        row[f"{g}_lo"], row[f"{g}_hi"] = lo, hi
    row["gap_se"] = _gap_se(boot, norm) if boot is not None else NA
    row.update(efficiency.guarded(row["perm"], row["rigid"], row["linear"], row["ica"],
                                  gap_se=row["gap_se"]))
    ok = [p.ica is not None and p.ica.converged for p in (pa, pb)]
    row.update({
        "diameter": norm["linear"], "diameter_common": norm["perm"],
        "diameter_ica": norm["ica"], "diameter_exact": norm["exact"],
        "ica_converged": all(ok), "ica_components_a": pa.ica_k, "ica_components_b": pb.ica_k,
        "n_fit": n_fit, "n_eval": int(main["linear"].norms.size),
    })
    return row


def raw_maps(pa: Prepared, pb: Prepared, main: dict[str, Fitted]) -> dict:
    """``group -> (matrix, offset)`` taking raw rows of ``pb`` to the target space.

    perm/rigid/linear land in A's raw coordinates (at different widths, in A's top-k
    principal subspace); ica lands in ICA(A)'s sources (zero-padded to the wider ICA).
    """
    out = {"linear": (main["linear"].matrix, main["linear"].offset)}
    key = common_key(pa, pb)
    for g in ("perm", "rigid"):
        M, o = main[g].matrix, main[g].offset
        if key != "full":
            vb, va = pb.pcs(key), pa.pcs(key)
            M, o = vb.matrix @ M @ va.matrix.T, (vb.offset @ M + o) @ va.matrix.T + pa.mean
        out[g] = (M, o)
    if "ica" in main:
        view = pb.ica_view
        out["ica"] = (view.matrix @ main["ica"].matrix,
                      view.offset @ main["ica"].matrix + main["ica"].offset)
    return out
