"""Derived numbers of an analysed sweep: L under honest names, guarded ICA efficiency, the
seed pairs (or models) behind every mean, and the Theorem-1 fits.

Everything is computed from the stored analysis document and each model's metrics, so a
sweep stored before these names existed reads the same way as a new one, and the command
line, the report and the pages show one set of numbers.

L names. Per model, ``L_max = max B(z) − 1`` and ``L_mean = mean B(z) − 1`` over its held-out
points. Per leak, over its seeds: ``L_max_mean`` (mean of the models' L_max), ``L_max_max``
(their max, = B_max − 1), ``L_mean_mean`` and ``L_mean_max``. A seed pair's L is the larger
of its two models' L (``fits.pair_L``).
"""

from __future__ import annotations

import numpy as np

from nearid_core.science import efficiency, fits
from nearid_core.science.fits import NA

GROUPS = ("perm", "rigid", "linear", "ica")
L_BASES = ("L_max", "L_mean")
L_OVER = ("max", "mean")  # the first is the default: L_max_max = B_max − 1
L_SUMMARIES = tuple(f"{b}_{o}" for b in L_BASES for o in L_OVER)
BOOT_SEED = 0  # the bootstrap's own seed: the same sweep always gets the same interval
_OLD = ("L_max", "L_mean", "ica_efficiency", "struct_ica_efficiency")  # replaced below


def split_L(L_kind: str) -> tuple[str, str]:
    """("L_max" | "L_mean", "mean" | "max") of an L summary; a bare "L_max" is the seed mean
    (what the name meant before the summaries were named)."""
    if L_kind in L_BASES:
        return L_kind, "mean"
    base, _, over = L_kind.rpartition("_")
    if base not in L_BASES or over not in L_OVER:
        raise ValueError(f"L_kind must be one of {L_SUMMARIES}, got {L_kind!r}")
    return base, over


def _num(v) -> float:
    return float(v) if v is not None else NA


def models(doc: dict, runs: list[dict]) -> dict[int, dict]:
    """Analysed models: index -> {"leak", "seed", "L_max", "L_mean"} (nan when not recorded).

    Parameters
    ----------
    doc : the analysis document ("per_model" keys are the analysed model indices).
    runs : per model, at least "index", "leak", "status" and "metrics".
    """
    by_index = {r["index"]: r for r in runs}
    keys = [int(k) for k in (doc.get("per_model") or {})]
    if not keys:
        keys = [r["index"] for r in runs if r.get("status") == "done"]
    out = {}
    for i in sorted(k for k in keys if k in by_index):
        met = by_index[i].get("metrics") or {}
        out[i] = {"leak": float(by_index[i]["leak"]), "seed": by_index[i].get("seed"),
                  "L_max": _num(met.get("L_max")), "L_mean": _num(met.get("L_mean"))}
    return out


def _pairs_at(doc: dict, leak: float) -> list[dict]:
    for key, ps in (doc.get("pairs") or {}).items():
        if float(key) == leak:
            return ps
    return []


def pair_models(doc: dict, runs: list[dict], leak: float) -> list[tuple[int, int, dict]]:
    """(model a, model b, pair dict) of every seed pair at ``leak``.

    Older documents name a pair by its positions (i, j) among the leak's analysed models.
    """
    idx = [i for i, m in models(doc, runs).items() if m["leak"] == leak]
    out = []
    for p in _pairs_at(doc, leak):
        a = p.get("model_a", idx[p["i"]] if p["i"] < len(idx) else -1)
        b = p.get("model_b", idx[p["j"]] if p["j"] < len(idx) else -1)
        out.append((a, b, p))
    return out


def units(doc: dict, runs: list[dict], kind: str = "statistical") -> dict[float, dict]:
    """Per leak, the units behind its mean errors, as arrays.

    Returns
    -------
    leak -> {group: (n,) errors, "L_max": (n,), "L_mean": (n,)} where a unit is a seed pair
    (statistical; its L is the larger of its two models') or a model against the ground
    truth (structural; its own L).
    """
    ms = models(doc, runs)
    nan = {"L_max": NA, "L_mean": NA}
    out = {}
    for r in doc.get("per_leak") or []:
        a = float(r["leak"])
        if kind == "statistical":
            items = [(p, [ms.get(i, nan) for i in (ia, ib)])
                     for ia, ib, p in pair_models(doc, runs, a)]
        else:
            per_model = doc.get("per_model") or {}
            items = [(per_model[str(i)].get("structural") or {}, [m]) for i, m in ms.items()
                     if m["leak"] == a and str(i) in per_model]
        u = {g: np.array([_num(p.get(g)) for p, _ in items]) for g in GROUPS}
        for b in L_BASES:
            u[b] = np.array([max(_num(x[b]) for x in two) for _, two in items])
        out[a] = u
    return out


def _L_columns(base: dict, ms: list[dict]) -> dict:
    row = {}
    for b in L_BASES:
        vals = np.array([m[b] for m in ms], float)
        vals = vals[np.isfinite(vals)]
        for o in L_OVER:
            if vals.size:
                row[f"{b}_{o}"] = float(vals.max() if o == "max" else vals.mean())
            else:  # no per-model record: what the per-leak row holds (bare L = seed mean)
                row[f"{b}_{o}"] = _num(base.get(f"{b}_{o}", base.get(b) if o == "mean"
                                                else None))
    if not np.isfinite(row["L_max_max"]) and base.get("B_max") is not None:
        row["L_max_max"] = float(base["B_max"]) - 1  # the max over seeds of each max B
    return row


def leak_rows(doc: dict, runs: list[dict]) -> list[dict]:
    """The per-leak table under honest names, with guarded ICA efficiency in both views.

    Returns
    -------
    One dict per leak: the stored columns, the four L summaries (after ``B_max``), and for
    the statistical view ``ica_efficiency``, ``ica_efficiency_note``, ``ica_vs_linear``,
    ``gap_se`` (the same with ``struct_`` for the structural view).

    Notes
    -----
    An efficiency that is not shown is nan with its reason in the note, never a number.
    """
    ms = models(doc, runs)
    stat, struct = units(doc, runs, "statistical"), units(doc, runs, "structural")
    rows = []
    for r in doc.get("per_leak") or []:
        a = float(r["leak"])
        Ls = _L_columns(r, [m for m in ms.values() if m["leak"] == a])
        row = {}
        for k, v in r.items():
            if k not in _OLD and k not in Ls:
                row[k] = v
            if k == "B_max":
                row.update(Ls)
        row.update({k: v for k, v in Ls.items() if k not in row})
        row.update(efficiency.from_units(stat.get(a, {})))
        row.update(efficiency.from_units(struct.get(a, {}), prefix="struct_"))
        rows.append(row)
    return rows


def pair_rows(doc: dict, runs: list[dict]) -> list[dict]:
    """Every seed pair: its models and seeds, its L, its errors and its own efficiency.

    Notes
    -----
    A single pair has no noise estimate, so only the share rule of ``efficiency`` applies.
    """
    ms = models(doc, runs)
    rows = []
    for r in doc.get("per_leak") or []:
        a = float(r["leak"])
        for ia, ib, p in pair_models(doc, runs, a):
            ma, mb = ms.get(ia, {}), ms.get(ib, {})
            row = {"leak": a, "model_a": ia, "model_b": ib, "seed_a": ma.get("seed"),
                   "seed_b": mb.get("seed")}
            for b in L_BASES:
                row[b] = float(fits.pair_L(_num(ma.get(b)), _num(mb.get(b))))
            row.update({g: _num(p.get(g)) for g in GROUPS})
            row.update(efficiency.guarded(row["perm"], row["rigid"], row["linear"], row["ica"]))
            row["ica_converged"] = p.get("ica_converged")
            if "ica_restarts_disagree" in p:
                row["ica_restarts_disagree"] = p["ica_restarts_disagree"]
            rows.append(row)
    return rows


def theorem1_fits(doc: dict, runs: list[dict], *, kind: str = "statistical",
                  L_kind: str = "L_max_mean", groups=GROUPS) -> dict[str, dict]:
    """Per group, the fit over leaks (L = ``L_kind``) and over units (L = each pair's or
    model's own, of the same base).

    Returns
    -------
    group -> {"leak": fits.Theorem1Fit, "unit": fits.Theorem1Fit}.

    Notes
    -----
    Theorem 1 bounds the rigid error only; fits of the other groups test the same shape
    without the theorem behind them.
    """
    base, _ = split_L(L_kind)
    key = L_kind if L_kind in L_SUMMARIES else f"{base}_mean"
    rows = leak_rows(doc, runs)
    us = units(doc, runs, kind)
    empty = np.array([])
    per = [us.get(float(r["leak"]), {}) for r in rows]
    L_leak = [r.get(key, NA) for r in rows]
    out = {}
    for g in groups:
        errs = [u.get(g, empty) for u in per]
        out[g] = {"leak": fits.fit_per_leak(L_leak, errs, seed=BOOT_SEED),
                  "unit": fits.fit_per_unit([u.get(base, empty) for u in per], errs,
                                            seed=BOOT_SEED)}
    return out


def stored_fits(doc: dict, runs: list[dict]) -> dict[str, dict]:
    """The statistical fits for the analysis document: ``{group}_vs_{L summary}`` over
    leaks, ``{group}_vs_{L base}_per_pair`` over seed pairs (``Theorem1Fit.to_dict``)."""
    out = {}
    for L_kind in L_SUMMARIES:
        for g, f in theorem1_fits(doc, runs, L_kind=L_kind).items():
            out[f"{g}_vs_{L_kind}"] = f["leak"].to_dict()
            if L_kind.endswith("_mean"):
                out[f"{g}_vs_{split_L(L_kind)[0]}_per_pair"] = f["unit"].to_dict()
    return out
