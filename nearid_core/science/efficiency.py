"""ICA efficiency ``(perm − ICA) / (perm − rigid)``, shown only where it means something.

The ratio divides by the gap between the raw axes (signed permutation) and the best rotation
(rigid). When that gap is small, or not above the noise between seed pairs, the ratio is a
quotient of two noises: 2.18 or 6669% say nothing. Such a leak gets no number but a reason.
Beside the efficiency comes ``ICA / linear``: where ICA lands against the best linear map
(the whitened frame ICA starts from), which explains values above 100%.
"""

from __future__ import annotations

import numpy as np

from nearid_core.science.fits import NA

MIN_GAP_SHARE = 0.10  # perm − rigid must be at least this share of perm ...
NOISE_SE = 2.0  # ... and above this many standard errors of perm − rigid over seed pairs
AXES = "n/a — the raw axes are already as good as a rotation"
WORSE = "ICA worse than the raw axes"
MISSING = "n/a — an error is missing"
RULE = (f"Shown only when perm − rigid ≥ {MIN_GAP_SHARE:.0%} of perm and above {NOISE_SE:g} "
        "standard errors of perm − rigid over the seed pairs (or models) of the leak; "
        "otherwise n/a with the reason.")


def _finite(*xs) -> bool:
    return bool(np.all(np.isfinite(np.asarray(xs, float))))


def guarded(perm: float, rigid: float, linear: float, ica: float, *,
            gap_se: float = NA) -> dict:
    """ICA efficiency with the reason when it is not shown, and ICA against linear.

    Parameters
    ----------
    perm, rigid, linear, ica : mean ℓ2 errors under each group.
    gap_se : standard error of ``perm − rigid`` over the units averaged (nan: unknown, e.g.
        a single seed pair; then only the share rule applies).

    Returns
    -------
    dict with ``ica_efficiency`` (nan unless shown), ``ica_efficiency_note`` (why it is n/a,
    or what a value above 100% means; "" otherwise) and ``ica_vs_linear`` (ICA / linear).

    Notes
    -----
    The ICA error is on its own normaliser (the diameter of ICA(A)), so a ratio near 1 says
    ICA is as good as the best linear map, not that it found that map.
    """
    vs_lin = float(ica / linear) if _finite(ica, linear) and linear > 0 else NA
    out = {"ica_efficiency": NA, "ica_efficiency_note": "", "ica_vs_linear": vs_lin}
    if not _finite(perm, rigid, ica):
        out["ica_efficiency_note"] = MISSING
        return out
    gap, floor = perm - rigid, MIN_GAP_SHARE * perm
    noise = NOISE_SE * gap_se if np.isfinite(gap_se) else 0.0
    worse = f"{WORSE} (ICA {ica:.4g} > perm {perm:.4g})" if ica > perm else ""
    if gap < floor or gap <= noise:
        why = (f"perm − rigid = {gap:.3g}, below {MIN_GAP_SHARE:.0%} of perm ({floor:.3g})"
               if gap < floor else
               f"perm − rigid = {gap:.3g}, within {NOISE_SE:g} standard errors ({noise:.3g})")
        out["ica_efficiency_note"] = f"{AXES} ({why})" + (f"; {worse}" if worse else "")
        return out
    if worse:
        out["ica_efficiency_note"] = worse
        return out
    out["ica_efficiency"] = eff = float((perm - ica) / gap)
    if eff > 1:
        out["ica_efficiency_note"] = (
            f"above 100%: ICA {ica:.4g} is below rigid {rigid:.4g}; ICA / linear = "
            f"{vs_lin:.2f} (ICA at the level of the best linear map, {linear:.4g}, which "
            "may rescale where a rigid map cannot)")
    return out


def from_units(units: dict, *, prefix: str = "") -> dict:
    """``guarded`` on the mean errors of a leak's units, with the noise of perm − rigid.

    Parameters
    ----------
    units : group -> (n,) errors of each seed pair (or model) of one leak.
    prefix : prepended to the returned keys (e.g. "struct_").

    Returns
    -------
    dict as ``guarded`` (keys prefixed), plus ``{prefix}gap_se``: standard error of
    ``perm − rigid`` over the units (nan with fewer than 2).
    """
    arr = {g: np.asarray(units.get(g, []), float).ravel()
           for g in ("perm", "rigid", "linear", "ica")}
    ok = np.isfinite(np.stack(list(arr.values()))).all(0)  # (n,) units with all four errors
    means = {g: float(a[ok].mean()) if ok.any() else NA for g, a in arr.items()}
    diff = (arr["perm"] - arr["rigid"])[ok]
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size >= 2 else NA
    res = guarded(means["perm"], means["rigid"], means["linear"], means["ica"], gap_se=se)
    return {f"{prefix}{k}": v for k, v in res.items()} | {f"{prefix}gap_se": se}


def short(value: float, note: str) -> str:
    """The efficiency as a short table cell: "85%", or the reason in a few words."""
    if value is not None and np.isfinite(value):
        return f"{value:.0%}"
    if note.startswith(AXES):
        return "n/a: axes" + ("; ICA worse" if WORSE in note else "")
    if note.startswith(WORSE):
        return "ICA worse"
    return "n/a"


LEGEND = (f"n/a: axes = {AXES.split('— ')[1]}. {RULE} ICA worse = ICA's error is above perm's. "
          "ICA/lin = ICA error / linear error (1 = ICA as good as the best linear map, which "
          "can beat a rotation: that is how efficiency exceeds 100%).")
