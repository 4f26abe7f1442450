"""Plain sentences that state the Compare study's conventions where the user sees the numbers."""

from __future__ import annotations

from nearid_core.science import efficiency
from nearid_core.studies._compare_config import CI_LEVEL, CompareConfig
from nearid_core.studies._compare_prep import Prepared

__all__ = ["general", "ica_detail"]


def ica_detail(p: Prepared) -> dict:
    """How ICA ran on one embedding: components, why, variance kept, convergence."""
    explained = float(p.variance[: p.ica_k].sum() / p.variance.sum())
    return {
        "k": p.ica_k, "rule": p.ica_text, "explained": explained,
        "input": "raw coordinates" if p.ica_k == p.width else "principal components",
        "converged": None if p.ica is None else bool(p.ica.converged),
        "message": p.ica_error if p.ica is None else p.ica.message,
    }


def _protocol(config: CompareConfig, n_eval: int) -> list[str]:
    out = [
        f"Errors: mean l2 distance on the {n_eval} eval rows of a seeded 50/50 split "
        f"(seed {config.seed}), divided by the diameter of the reference's eval rows; every "
        "map is fitted on the fit rows after centring by their means (PAPER.md §3).",
        "Linear CKA and the Procrustes angle (radians; 0 = same shape up to rotation, "
        "scaling and translation) use all rows and fit no map.",
    ]
    if config.n_boot:
        out.append(
            f"Intervals: the {CI_LEVEL:.0%} spread of {config.n_boot} re-drawn seeded splits "
            "(5th to 95th percentile around their median), placed around each reported "
            "value; each split refits the perm, rigid and linear maps, while the PCA, the "
            "ICA unmixings and the diameters stay those of the main split, so the intervals "
            "leave out FastICA's and the diameter's own variability.")
        noise = f"above {efficiency.NOISE_SE:g} standard deviations of perm − rigid over them"
    else:
        out.append("No intervals (n_boot = 0).")
        noise = "(no re-drawn splits: no noise rule)"
    out.append(f"ICA efficiency = (perm − ICA) / (perm − rigid), shown only when perm − rigid "
               f"is at least {efficiency.MIN_GAP_SHARE:.0%} of perm and {noise}; otherwise "
               "n/a with the reason. ICA errors are relative to the diameter of ICA(A).")
    return out


def _widths(rows: list[dict]) -> list[str]:
    out, seen = [], set()
    for r in rows:
        if r["d_a"] == r["d_b"] or frozenset((r["a"], r["b"])) in seen:
            continue
        seen.add(frozenset((r["a"], r["b"])))
        out.append(
            f"{r['a']} and {r['b']} have different widths ({r['d_a']} vs {r['d_b']}): perm "
            f"and rigid compare their top {r['k_common']} principal components (PCA on the "
            "fit rows; errors relative to the diameter of the reference's top components), "
            "while linear maps all columns of the candidate to all of the reference. perm "
            "then matches principal axes, not raw axes, so it and the ICA efficiency are not "
            "the paper's raw-axis numbers.")
    return out


def _ica(p: Prepared) -> list[str]:
    d = ica_detail(p)
    on = "its raw coordinates" if d["input"] == "raw coordinates" else (
        f"its top {p.ica_k} principal components")
    out = [f"ICA on {p.name} runs on {on} ({d['explained']:.1%} of its variance; {d['rule']})."]
    if p.ica is None:
        out.append(f"ICA could not run on {p.name}: {p.ica_error}; its ICA errors are n/a.")
    elif not p.ica.converged:
        out.append(f"ICA on {p.name}: {p.ica.message}")
    elif p.ica.disagree:
        out.append(f"ICA on {p.name}: {p.ica.message}")
    return out


def general(config: CompareConfig, preps: list[Prepared], rows: list[dict],
            n_eval: int) -> list[str]:
    """Every note of a comparison, in reading order."""
    out = _protocol(config, n_eval) + _widths(rows)
    for p in preps:
        out += _ica(p)
    if not all(r["diameter_exact"] for r in rows):
        out.append(
            f"The eval half has {n_eval} rows, more than max_rows_diameter = "
            f"{config.max_rows_diameter}: diameters are kernels.diameter's pruned estimate "
            "(exact unless too many rows survive pruning, then a lower bound).")
    return out
