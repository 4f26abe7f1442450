"""The warm-up's claims (PAPER.md §3), each computed from a sweep's per-leak rows.

Every claim ends in "holds here", "does not hold here" or "cannot tell here", with the
number that decided it, so no caption on screen asserts what the sweep does not show.
``l_drivers`` and ``l_dips`` explain from measurements why L falls between two leaks.
"""

from __future__ import annotations

import math

import numpy as np

from nearid_core.science.fits import NA

N_HIDDEN_DECODER = 2  # K: the decoder d_z -> w -> w -> d_x has two hidden activations
RANK_MIN = 0.8  # |Spearman rank correlation| a trend needs to count as present
MIN_LEAKS = 3


def _ranks(v: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (as scipy.stats.rankdata)."""
    order = np.argsort(v, kind="stable")
    r = np.empty(v.size)
    r[order] = np.arange(1, v.size + 1)
    for t in np.unique(v):
        tie = v == t
        r[tie] = r[tie].mean()
    return r


def rank(x, y) -> tuple[float, int]:
    """Spearman rank correlation of the finite pairs, and how many there were (nan < 3).

    Numpy only (scipy.stats costs the command line seconds to import); equal to
    ``scipy.stats.spearmanr`` including ties.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < MIN_LEAKS or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return NA, n
    return float(np.corrcoef(_ranks(x[ok]), _ranks(y[ok]))[0, 1]), n


def verdict(holds: bool | None, detail: str) -> str:
    """"holds here (detail)", "does not hold here (detail)" or "cannot tell here (detail)"."""
    word = {True: "holds here", False: "does not hold here", None: "cannot tell here"}[holds]
    return f"{word} ({detail})"


def _rank_claim(x, y, sign: int, what: str) -> tuple[bool | None, str]:
    rho, n = rank(x, y)
    if not math.isfinite(rho):
        return None, f"{n} leaks with values, needs ≥ {MIN_LEAKS} that vary"
    need = f"≥ {RANK_MIN:+.1f}" if sign > 0 else f"≤ {-RANK_MIN:+.1f}"
    return sign * rho >= RANK_MIN, f"rank {rho:+.2f} {what}; needs {need}"


def _col(rows, key) -> np.ndarray:
    return np.array([r.get(key, np.nan) if r.get(key) is not None else np.nan for r in rows],
                    float)


def _row(claim: str, check: str, holds, detail: str) -> dict:
    return {"claim": claim, "check": check, "verdict": verdict(holds, detail), "holds": holds}


def claim_rows(rows: list[dict], *, L_kind: str = "L_max_max", prefix: str = "stat_",
               extra: bool = False) -> list[dict]:
    """The warm-up's four trends (and with ``extra`` the ICA ones) checked on these rows.

    Parameters
    ----------
    rows : per-leak rows (``summary.leak_rows``), any order.
    L_kind : which L summary the rigid error is ranked against.
    prefix : "stat_" (seed pairs) or "struct_" (against the ground truth).

    Returns
    -------
    dicts with "claim", "check", "verdict" (text) and "holds" (True, False or None).

    Notes
    -----
    A rank correlation over a handful of leaks is a description of this grid, not a test:
    with 3 leaks only a perfect order reaches ``RANK_MIN``.
    """
    rows = sorted(rows, key=lambda r: r["leak"])
    leak = _col(rows, "leak")
    out = [_row("rigid error grows with L (Fig. 2 / A.4)",
                f"rank corr({L_kind}, rigid error)",
                *_rank_claim(_col(rows, L_kind), _col(rows, f"{prefix}rigid"), 1, f"with {L_kind}")),
           _perm_above_rigid(rows, leak, prefix),
           _row("reconstruction improves as α → 1 (A.5)", "rank corr(α, recon MSE)",
                *_rank_claim(leak, _col(rows, "recon_mse"), -1, "with α")),
           _row("B(z) tightens around 1 as α → 0 (A.3)", "rank corr(α, median B(z))",
                *_b_claim(rows, leak))]
    if extra:
        out += _ica_claims(rows, leak, prefix)
    return out


def _perm_above_rigid(rows, leak, prefix) -> dict:
    gap = _col(rows, f"{prefix}perm") - _col(rows, f"{prefix}rigid")
    ok = np.isfinite(gap)
    if not ok.any():
        return _row("perm above rigid at every leak (Table 1)", "perm − rigid per leak", None,
                    "no leak has both errors")
    below = [f"α = {a:g}" for a, g in zip(leak[ok], gap[ok], strict=True) if g <= 0]
    k = int(np.argmin(np.where(ok, gap, np.inf)))
    detail = (f"perm > rigid at {ok.sum() - len(below)} of {ok.sum()} leaks; smallest gap "
              f"{gap[k]:+.3g} at α = {leak[k]:g}" + (f"; not at {', '.join(below)}"
                                                    if below else ""))
    return _row("perm above rigid at every leak (Table 1)", "perm − rigid per leak",
                not below, detail)


def _b_claim(rows, leak) -> tuple[bool | None, str]:
    med = _col(rows, "B_median")
    holds, detail = _rank_claim(leak, med, 1, "with α")
    ok = np.isfinite(med)
    if ok.any():
        lo, hi = int(np.argmax(ok)), len(ok) - 1 - int(np.argmax(ok[::-1]))
        detail += (f"; median B {med[lo]:.3f} at α = {leak[lo]:g}, {med[hi]:.3f} at "
                   f"α = {leak[hi]:g}")
    return holds, detail


def _ica_claims(rows, leak, prefix) -> list[dict]:
    perm, ica = _col(rows, f"{prefix}perm"), _col(rows, f"{prefix}ica")
    ok = np.isfinite(perm) & np.isfinite(ica)
    n_ok = int((ica[ok] < perm[ok]).sum())
    ica_row = _row("ICA improves on the raw axes (Table 1)", "ICA error < perm error per leak",
                   None if not ok.any() else n_ok == ok.sum(),
                   f"at {n_ok} of {int(ok.sum())} leaks")
    gain = _col(rows, "mcc_after") - _col(rows, "mcc_before")
    g_ok = np.isfinite(gain)
    mcc_row = _row("ICA raises MCC (Table 2 spirit)", "MCC after − before ICA per leak",
                   None if not g_ok.any() else bool((gain[g_ok] > 0).all()),
                   f"higher at {int((gain[g_ok] > 0).sum())} of {int(g_ok.sum())} leaks; "
                   f"mean gain {gain[g_ok].mean() if g_ok.any() else float('nan'):+.3f}")
    return [ica_row, mcc_row]


def l_drivers(rows: list[dict], *, K: int | None,
              sigma_min_share: dict[float, float] | None = None) -> list[dict]:
    """Per leak, what sets L: the bound against the measured B, as an exponent of the slope.

    Parameters
    ----------
    rows : per-leak rows with "leak", "B_median", "B_max".
    K : hidden activations of an orthogonal decoder (its bound is ``(1 − α)^−K``); None for
        a free decoder, which has no bound.
    sigma_min_share : leak -> share of held-out points where B = 1/σ_min (not σ_max).

    Returns
    -------
    One dict per leak: "leak", "bound", "B_median", "B_max", "k_median", "k_max" (``k = log B
    / log(1/(1 − α))``: B = (1 − α)^−k, 0 ≤ k ≤ K), and "B_from_sigma_min" when given.

    Notes
    -----
    k is defined for 0 < α < 1 only; it describes the measured points, it does not certify.
    """
    out = []
    for r in sorted(rows, key=lambda r: r["leak"]):
        a = float(r["leak"])
        scale = -math.log(1 - a) if 0 < a < 1 else NA
        row = {"leak": a, "bound": (1 - a) ** -K if K and a < 1 else NA}
        for q in ("median", "max"):
            b = float(r.get(f"B_{q}", NA) or NA)
            row[f"B_{q}"] = b
            row[f"k_{q}"] = math.log(b) / scale if K and b > 0 and scale > 0 else NA
        if sigma_min_share is not None:
            row["B_from_sigma_min"] = sigma_min_share.get(a, NA)
        out.append(row)
    return out


def l_dips(rows: list[dict], drivers: list[dict], *, K: int | None,
           L_kinds=("L_max_max", "L_max_mean", "L_mean_max", "L_mean_mean")) -> list[str]:
    """One sentence per pair of neighbouring leaks where L falls as α rises, saying from the
    measurements why (``l_drivers``); empty when L never falls."""
    rows = sorted(rows, key=lambda r: r["leak"])
    by_leak = {d["leak"]: d for d in drivers}
    out = []
    for lo, hi in zip(rows, rows[1:], strict=False):
        falls = [f"{k} {lo[k]:.3f} → {hi[k]:.3f}" for k in L_kinds
                 if _falls(lo.get(k), hi.get(k))]
        if falls:
            out.append(_dip_text(lo["leak"], hi["leak"], falls, by_leak.get(float(lo["leak"])),
                                 by_leak.get(float(hi["leak"])), K))
    return out


def _falls(a, b) -> bool:
    return a is not None and b is not None and math.isfinite(a) and math.isfinite(b) \
        and a - b > max(1e-6, 0.01 * abs(a))


def _dip_text(a1, a2, falls, d1, d2, K) -> str:
    text = f"From α = {a1:g} to α = {a2:g} L falls ({'; '.join(falls)})"
    if d1 is None or d2 is None:
        return text + "."
    meas = (f"median B {d1['B_median']:.2f} → {d2['B_median']:.2f}, max B "
            f"{d1['B_max']:.2f} → {d2['B_max']:.2f}")
    if K and all(math.isfinite(d[k]) for d in (d1, d2) for k in ("k_median", "k_max")):
        text += (f" although the bound (1 − α)^−{K} rises from {d1['bound']:.3g} to "
                 f"{d2['bound']:.3g}. Measured: writing B = (1 − α)^−k (0 ≤ k ≤ {K}; k = {K} "
                 "would put every activation on its leaky side), k falls from "
                 f"{d1['k_median']:.2f} to {d2['k_median']:.2f} at the median point and from "
                 f"{d1['k_max']:.2f} to {d2['k_max']:.2f} at the worst one: the slope is "
                 f"smaller, but the trained decoders reach less of it ({meas}).")
    else:
        text += f"; the decoder has no bound to compare with. Measured: {meas}."
    shares = [d.get("B_from_sigma_min") for d in (d1, d2)]
    if all(s is not None and math.isfinite(s) for s in shares):
        text += (f" B is set by 1/σ_min (the most-shrunk direction, not the most-stretched) "
                 f"at {shares[0]:.0%} and {shares[1]:.0%} of held-out points.")
    return text
